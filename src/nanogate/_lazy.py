"""Package exports loaded when first used (a module ``__getattr__``, PEP 562), so that
importing a package costs only what its caller uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, names: Mapping[str, tuple[str, str]], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each of ``names`` maps to ``(submodule,
    attribute)``, imported on first use and then kept in ``namespace`` (the package's
    globals), so it is looked up once."""

    def __getattr__(name: str) -> Any:
        found = names.get(name)
        if found is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = found
        value = getattr(import_module(f"{package}.{module}"), attribute)
        namespace[name] = value
        return value

    return __getattr__
