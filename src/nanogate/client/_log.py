"""Log lines of failed requests: method, path, the error (with its request id), never
a header, so never the API key."""

from __future__ import annotations

import logging

from nanogate.client._errors import APIError

logger = logging.getLogger("nanogate.client")
logger.addHandler(logging.NullHandler())  # a library: the application decides what is shown


def log_failure(method: str, path: str, error: APIError, attempt: int, delay: float | None) -> None:
    """One WARNING line per failed attempt, saying whether it will be retried."""
    outcome = f"retrying in {delay:.2f}s" if delay is not None else "giving up"
    logger.warning("%s %s failed (attempt %d): %s; %s", method, path, attempt, error, outcome)


def log_stream_failure(method: str, path: str, error: APIError) -> None:
    """One WARNING line for a stream that failed after its first event."""
    logger.warning("%s %s stream failed: %s", method, path, error)
