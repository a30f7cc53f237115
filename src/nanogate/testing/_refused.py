"""A loopback address where every connection is refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def refused_url() -> Iterator[str]:
    """``with refused_url() as url:`` an ``http://127.0.0.1:PORT`` URL nothing listens on.

    The port stays bound (but not listening) for the block, so no other server can take
    it meanwhile and every connection to it is refused at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
