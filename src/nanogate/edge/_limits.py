"""The edge's bounds, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nanogate.config import ServerSettings


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """The bounds of :class:`~nanogate.edge.EdgeProtocol` (the ``[server]`` settings of
    the same names)."""

    max_header_bytes: int = 65_536
    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 5.0
    max_connections: int = 2048
    """0: no cap."""

    @classmethod
    def from_settings(cls, server: ServerSettings) -> EdgeLimits:
        return cls(
            max_header_bytes=server.max_header_bytes,
            header_timeout_s=server.header_timeout_s,
            keepalive_timeout_s=server.keepalive_timeout_s,
            max_connections=server.max_connections,
        )
