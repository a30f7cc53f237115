"""Administration: the operations behind the admin API and the console, the JSON shape
of each stored row, the audit trail and the overview's figures.

The views load alone (the command line shows rows with them); the operations load on
first use."""

from typing import TYPE_CHECKING

from nanogate._lazy import lazy_exports as _lazy_exports
from nanogate.admin._views import (
    account_view,
    iso,
    key_view,
    ledger_view,
    payment_view,
    request_view,
    usd,
)

if TYPE_CHECKING:
    from nanogate.admin._audit import AuditEntry, Origin
    from nanogate.admin._service import Admin, NewKeyShown, NotFoundError
    from nanogate.admin._stats import WINDOWS

_LAZY = {
    "AuditEntry": ("_audit", "AuditEntry"),
    "Origin": ("_audit", "Origin"),
    "Admin": ("_service", "Admin"),
    "NewKeyShown": ("_service", "NewKeyShown"),
    "NotFoundError": ("_service", "NotFoundError"),
    "WINDOWS": ("_stats", "WINDOWS"),
}

__getattr__ = _lazy_exports(__name__, _LAZY, globals())

__all__ = [
    "WINDOWS",
    "Admin",
    "AuditEntry",
    "NewKeyShown",
    "NotFoundError",
    "Origin",
    "account_view",
    "iso",
    "key_view",
    "ledger_view",
    "payment_view",
    "request_view",
    "usd",
]
