"""The uvicorn factory: every worker process builds its app from the environment.

``nanogate serve`` passes the configuration file in ``NANOGATE_CONFIG`` and its
command-line overrides as ``NANOGATE_SERVER_*`` variables, so each of several
workers builds the same gateway.
"""

from __future__ import annotations

import os
from pathlib import Path

from nanogate.config import load_settings
from nanogate.server._app import Gateway, create_app


def app_from_environment() -> Gateway:
    config = os.environ.get("NANOGATE_CONFIG")
    settings = load_settings(Path(config) if config else None, os.environ)
    return create_app(settings)
