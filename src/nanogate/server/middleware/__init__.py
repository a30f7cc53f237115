"""Pure ASGI middleware, one concept per module."""

from nanogate.server.middleware.errors import ErrorMiddleware
from nanogate.server.middleware.request_context import RequestContextMiddleware

__all__ = ["ErrorMiddleware", "RequestContextMiddleware"]
