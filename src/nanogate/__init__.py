"""nanogate: an LLM API gateway speaking NanoGPT's API, and a client for that API.

The gateway is :func:`nanogate.server.create_app` (``pip install 'nanogate[server]'``);
the error catalogue is :mod:`nanogate.errors`.
"""

from nanogate._version import __version__

__all__ = ["__version__"]
