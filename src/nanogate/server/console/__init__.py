"""The operator console at ``/console``: server-rendered pages over the admin operations,
signed in with the admin token."""

from nanogate.server.console._session import Sessions

__all__ = ["Sessions"]
