"""A request's headers: case-insensitive lookups, the first of repeated headers, all of them
in ``getlist`` and ``items``, as Starlette's ``Headers``."""

from __future__ import annotations

from starlette.datastructures import Headers

from nanogate.server._context import RequestHeaders

RAW = [(b"content-type", b"application/json"), (b"x-provider", b"a"), (b"x-provider", b"b")]
"""As ASGI servers pass them: names in lower case."""


def test_lookups_agree_with_starlettes_headers() -> None:
    """Every lookup answers as Starlette's ``Headers`` does over the same raw list."""
    ours = RequestHeaders({"headers": list(RAW)})
    theirs = Headers(raw=list(RAW))
    for name in ("content-type", "Content-Type", "x-provider", "X-PROVIDER", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert (name in ours) == (name in theirs)
    assert ours["X-Provider"] == "a"
    assert ours.getlist("x-provider") == ["a", "b"]
    assert ours.get("absent", "fallback") == "fallback"
    assert 3 not in ours
