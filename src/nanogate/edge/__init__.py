"""The HTTP edge: bounds on what a connection may cost before the app sees a request.

:class:`EdgeProtocol` is the uvicorn protocol that ``nanogate serve`` (and the test
servers) run the gateway behind; :func:`uvicorn_options` puts it in a
``uvicorn.Config``. Importing this package does not load the gateway, so that
uvicorn's worker processes, which import it to unpickle their configuration,
answer their supervisor's health checks at once.
"""

from nanogate.edge._answer import edge_response
from nanogate.edge._limits import EdgeLimits
from nanogate.edge._protocol import EdgeProtocol, uvicorn_options

__all__ = ["EdgeLimits", "EdgeProtocol", "edge_response", "uvicorn_options"]
