"""The gateway server: :func:`create_app` builds the ASGI application."""

from nanogate.server._app import Gateway, create_app

__all__ = ["Gateway", "create_app"]
