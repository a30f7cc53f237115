"""Logging: one configuration for uvicorn's loggers and the gateway's, with redaction.

Every handler carries :class:`RedactingFilter`, so a credential that slips into a
message, an argument or a traceback is masked before it is written: by its shape
always, and by its value once a gateway has told the filters what it knows
(:func:`mask_logs_with`, called by :func:`~nanogate.server.create_app`). Each process
configures its logging from :func:`log_config` (uvicorn does so in every worker) before
it builds its gateway, so every worker's filters learn that worker's secrets.
"""

from __future__ import annotations

import copy
import logging
import threading
import weakref
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from nanogate.core import KnownSecrets, redact


class RedactingFilter(logging.Filter):
    """Masks credentials in a record's message and exception text: anything shaped
    like one, and the values of every gateway's :class:`~nanogate.core.KnownSecrets`
    handed to :meth:`know` (held weakly: a gateway that is gone is forgotten)."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._known: weakref.WeakSet[KnownSecrets] = weakref.WeakSet()
        self._lock = threading.Lock()

    def know(self, known: KnownSecrets) -> None:
        """Also mask the values ``known`` holds, as they are when a record is written."""
        with self._lock:
            self._known.add(known)

    def clean(self, text: str) -> str:
        """``text`` as this filter lets it through."""
        with self._lock:
            known = list(self._known)
        for secrets in known:
            text = secrets.current.mask(text)
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


def mask_logs_with(known: KnownSecrets) -> None:
    """Have every :class:`RedactingFilter` of this process's loggers and their handlers
    (those :func:`log_config` installs) mask the values ``known`` holds."""
    loggers = [logging.getLogger(), *list(logging.Logger.manager.loggerDict.values())]
    for logger in loggers:
        if not isinstance(logger, logging.Logger):
            continue  # a placeholder for loggers not yet made
        for holder in (logger, *logger.handlers):
            for found in holder.filters:
                if isinstance(found, RedactingFilter):
                    found.know(known)


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, extended to the ``nanogate`` loggers, redacted."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": f"{__name__}.RedactingFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["formatters"]["gateway"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(asctime)s %(levelprefix)s %(name)s: %(message)s",
        "use_colors": None,
    }
    config["handlers"]["gateway"] = {
        "formatter": "gateway",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["loggers"]["nanogate"] = {
        "handlers": ["gateway"],
        "level": level.upper(),
        "propagate": False,
    }
    # the access log's lines are what they say: written at any log level once enabled
    config["formatters"]["access_line"] = {"format": "%(asctime)s %(message)s"}
    config["handlers"]["access_line"] = {
        "formatter": "access_line",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["loggers"]["nanogate.access"] = {
        "handlers": ["access_line"],
        "level": "INFO",
        "propagate": False,
    }
    return config
