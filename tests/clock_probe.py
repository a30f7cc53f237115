"""Import modules and report every clock read their import makes.

``python -m tests.clock_probe ORIGINS MODULE...`` imports each MODULE in a fresh
interpreter under :mod:`cProfile` and prints one JSON object: ``reads``, each a clock
function called while a module of ORIGINS (directories joined by ``os.pathsep``) was
imported, by code of ORIGINS or by code it called (module level, class bodies,
decorators such as ``parametrize``, default arguments); and ``errors``, modules that did
not import. A time taken at import is stale by the time a test or a request uses it:
tests that compared one with the real clock failed once the suite took longer to reach
them than their tolerance.
"""

from __future__ import annotations

import ast
import contextlib
import cProfile
import importlib
import importlib.util
import os
import pstats
import sys
import traceback
from pathlib import Path

import orjson

Function = tuple[str, int, str]
"""How cProfile names a function: file, first line, name (``~``, 0, a label for C ones)."""

CLOCKS = {
    "<built-in method time.time>",
    "<built-in method time.time_ns>",
    "<built-in method time.monotonic>",
    "<built-in method time.monotonic_ns>",
    "<built-in method time.perf_counter>",
    "<built-in method time.perf_counter_ns>",
    "<built-in method now>",  # datetime.now
    "<built-in method utcnow>",
    "<built-in method today>",  # datetime.today, date.today
}


def source_of(module: str) -> Path | None:
    """The file ``module`` would be imported from, found without importing its parents."""
    relative = Path(*module.split("."))
    for entry in sys.path:
        for candidate in (relative.with_suffix(".py"), relative / "__init__.py"):
            if (Path(entry or ".") / candidate).is_file():
                return Path(entry or ".") / candidate
    return None


def warm(origins: tuple[str, ...], modules: list[str]) -> None:
    """Import first the other packages that ``modules`` import, so that what is profiled
    is the modules' own import-time code, not these packages' first import."""
    for module in modules:
        source = source_of(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(source.read_bytes())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found = importlib.util.find_spec(name.partition(".")[0])
                where = found.origin if found is not None else None
                if where is not None and not where.startswith(origins):
                    with contextlib.suppress(Exception):
                        importlib.import_module(name)


def blame(
    clock: Function, callers: dict[Function, set[Function]], origins: tuple[str, ...]
) -> list[list[Function]]:
    """The call paths from ``clock`` back to a function of ``origins``. A path through
    another package's module-level code is that package's own import, not ours."""
    found: list[list[Function]] = []
    seen = {clock}
    todo = [[clock]]
    while todo:
        path = todo.pop()
        for caller in callers.get(path[-1], ()):
            if caller in seen:
                continue
            seen.add(caller)
            if caller[0].startswith(origins):
                found.append([*path, caller])
            elif caller[2] != "<module>":
                todo.append([*path, caller])
    return found


def probe(origins: tuple[str, ...], modules: list[str]) -> dict[str, list[dict[str, str]]]:
    reads: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    warm(origins, modules)
    early = [m for m in modules if m in sys.modules]
    errors.extend({"module": m, "error": "imported before it could be probed"} for m in early)
    for module in modules:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            importlib.import_module(module)
        except BaseException:  # noqa: BLE001 - reported, the probe goes on
            errors.append({"module": module, "error": traceback.format_exc(limit=3)})
        finally:
            profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        callers = {function: set(entry[4]) for function, entry in stats.items()}
        for function in callers:
            if function[0] == "~" and function[2] in CLOCKS:
                for path in blame(function, callers, origins):
                    file, line, name = path[-1]
                    via = " <- ".join(f"{n} ({Path(f).name}:{li})" for f, li, n in path[1:-1])
                    where = f"{file}:{line}({name})"
                    reads.append({"module": module, "clock": function[2], "in": where, "via": via})
    return {"reads": reads, "errors": errors}


def main(argv: list[str]) -> None:
    origins, *modules = argv
    roots = tuple(str(Path(o).resolve()) + os.sep for o in origins.split(os.pathsep))
    sys.stdout.buffer.write(orjson.dumps(probe(roots, modules)))


if __name__ == "__main__":
    main(sys.argv[1:])
