"""The console's protections, over HTTP without a browser: the session cookie's
attributes (Secure behind TLS), CSRF and origin checks on every form, the security
headers, the asset allowlist, and no console without an admin token.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings, run_sync

from nanogate.server import create_app
from nanogate.server.console import Sessions

TOKEN = "console-" + "h" * 40


@pytest.fixture
def live(serve_gateway: LiveFactory, monkeypatch: pytest.MonkeyPatch) -> Live:
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", TOKEN)
    return serve_gateway()


def signed_in(live: Live) -> tuple[httpx.Client, str]:
    """A client holding a session, and the CSRF token of its forms."""
    client = httpx.Client(base_url=live.url, timeout=10)
    response = client.post("/console/login", data={"token": TOKEN})
    assert response.status_code == 303 and response.headers["location"] == "/console"
    page = client.get("/console/accounts")
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, page.text
    return client, match.group(1)


def test_the_session_cookie_is_http_only_strict_and_not_the_token(live: Live) -> None:
    """Over plain HTTP the cookie is HttpOnly, SameSite=Strict, scoped to /console,
    without Secure; it is not the admin token."""
    response = httpx.post(live.url + "/console/login", data={"token": TOKEN})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie and TOKEN not in cookie


def test_behind_tls_the_cookie_is_secure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that arrived over HTTPS (the ASGI scheme) gets a Secure cookie."""
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", TOKEN)
    app = create_app(make_settings(tmp_path))

    async def login() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://gw.example") as c:
            return await c.post(
                "/console/login", data={"token": TOKEN}, headers={"origin": "https://gw.example"}
            )

    response = run_sync(login())
    assert response.status_code == 303
    assert "; Secure" in response.headers["set-cookie"]


def test_forms_need_the_csrf_token_and_the_consoles_origin(live: Live) -> None:
    """A top-up without the CSRF token, with another session's, or from another origin is
    403 and changes nothing; with its own token it is applied."""
    client, csrf = signed_in(live)
    account = live.seeded.account_id
    path = f"/console/accounts/{account}/topup"
    refused = [
        client.post(path, data={"amount_usd": "1"}),
        client.post(path, data={"amount_usd": "1", "csrf": "0" * 64}),
        client.post(
            path,
            data={"amount_usd": "1", "csrf": csrf},
            headers={"origin": "https://evil.example"},
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert ">5.00<" in client.get(f"/console/accounts/{account}").text
    applied = client.post(path, data={"amount_usd": "1", "csrf": csrf})
    assert applied.status_code == 303
    assert ">6.00<" in client.get(f"/console/accounts/{account}").text
    client.close()


def test_a_forged_or_expired_cookie_is_no_session() -> None:
    """Only a cookie signed under this admin token, and not yet expired, is a session;
    changing the token signs everyone out."""
    sessions = Sessions(TOKEN, 60)
    session, cookie = sessions.issue(now=1_000)
    assert sessions.check(cookie, now=1_059) == session
    assert sessions.check(cookie, now=1_060) is None
    expires, nonce, signature = cookie.split(".")
    assert sessions.check(f"{int(expires) + 999}.{nonce}.{signature}", now=1_000) is None
    assert sessions.check(cookie + "0", now=1_000) is None
    assert Sessions("another-" + "x" * 40, 60).check(cookie, now=1_000) is None
    assert sessions.check("", now=1_000) is None and sessions.check("garbage", 1_000) is None


def test_pages_carry_security_headers_and_never_the_token(live: Live) -> None:
    """Every page: no-store, a strict CSP, no framing; the admin token appears nowhere."""
    client, _ = signed_in(live)
    for path in (
        "/console",
        "/console/accounts",
        "/console/keys",
        "/console/requests",
        "/console/payments",
        "/console/deployments",
        "/console/audit",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert TOKEN not in page.text
    client.close()


def test_signed_out_pages_redirect_to_sign_in(live: Live) -> None:
    """Without a session every page redirects to the sign-in form, and the figures'
    JSON is 401."""
    for path in ("/console", "/console/keys", f"/console/accounts/{live.seeded.account_id}"):
        response = httpx.get(live.url + path)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert httpx.get(live.url + "/console/stats.json").status_code == 401
    assert httpx.get(live.url + "/console/login").status_code == 200


def test_only_the_consoles_own_assets_are_served(live: Live) -> None:
    """The chart library and the console's script and style are served with their types;
    any other name, a path outside the folder included, is 404."""
    js = httpx.get(live.url + "/console/static/vendor/uPlot.iife.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    css = httpx.get(live.url + "/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for name in ("../_pages.py", "vendor/../../_session.py", "nope.js", "vendor/uPlot.LICENSE"):
        assert httpx.get(live.url + "/console/static/" + name).status_code == 404


def test_without_an_admin_token_there_is_no_console(
    serve_gateway: LiveFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token: /console and its assets are 404."""
    monkeypatch.delenv("NANOGATE_ADMIN_TOKEN", raising=False)
    live = serve_gateway()
    assert_envelope(httpx.get(live.url + "/console"), "openai", "not_found")
    assert httpx.get(live.url + "/console/static/console.css").status_code == 404


def test_an_unknown_row_is_the_consoles_404_page(live: Live) -> None:
    """An account, key, request or payment that does not exist is a 404 page naming it,
    inside the console."""
    client, _ = signed_in(live)
    for kind, path in [
        ("account", "/console/accounts/acct_nope"),
        ("key", "/console/keys/key_nope"),
        ("request", "/console/requests/req_nope"),
        ("payment", "/console/payments/pay_nope"),
    ]:
        page = client.get(path)
        assert page.status_code == 404 and f"No {kind} &#39;" in page.text, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
    client.close()


def test_a_bad_request_log_filter_is_named_on_the_page(live: Live) -> None:
    """The request log's filters read like the admin API's: a status that is not one, or
    a time that is not ISO 8601, is a 400 page saying which and what it takes."""
    client, _ = signed_in(live)
    status = client.get("/console/requests", params={"status": "abc"})
    assert status.status_code == 400
    assert "Status: expected an HTTP status from 100 to 599" in status.text
    since = client.get("/console/requests", params={"since": "yesterday"})
    assert since.status_code == 400 and "Since: expected an ISO 8601 time" in since.text
    client.close()
