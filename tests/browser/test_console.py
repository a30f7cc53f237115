"""The console in a real headless browser (Debian's chromium, driven by Playwright):
sign-in, a wrong token refused, a key's secret shown once, a top-up reflected in the
balance, a request in the log with its cost, and every page rendered.

Each page is photographed; with ``NANOGATE_SCREENSHOTS=DIR`` the pictures go to
``DIR`` (``docs/images`` holds the documentation's), else to the test's own folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings, wait_until

from nanogate.config import X402Settings

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "console-" + "k" * 40
CHAT = {"model": "local/chat", "messages": [{"role": "user", "content": "hello console"}]}

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="needs Debian's chromium (scripts/test installs it; under CI its absence fails)",
)


@pytest.fixture
def live(serve_gateway: LiveFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Live:
    monkeypatch.setenv("NANOGATE_ADMIN_TOKEN", TOKEN)
    settings = make_settings(tmp_path).model_copy(
        update={"x402": X402Settings(enabled=True, rails=("dev",))}
    )
    return serve_gateway(settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda exc: problems.append(str(exc)))
    opened.on("console", lambda msg: _script_error(problems, msg))
    opened.on("response", lambda response: _asset_missing(problems, response))
    yield opened
    context.close()
    assert not problems, f"the page reported errors: {problems}"


def _script_error(problems: list[str], message: Any) -> None:
    """A script's error; a refused page (401, 403, 404) is a test's own business."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(message.text)


def _asset_missing(problems: list[str], response: Any) -> None:
    if "/console/static/" in response.url and response.status != 200:
        problems.append(f"{response.status} {response.url}")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NANOGATE_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def follow(page: Any, selector: str) -> None:
    """Click a link or a form's button, and wait until the page it leads to has loaded."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def sign_in(page: Any, live: Live, token: str = TOKEN) -> None:
    page.goto(live.url + "/console")
    assert page.url.endswith("/console/login")
    page.fill("#token", token)
    follow(page, "button[type=submit]")


def test_a_wrong_token_is_refused_and_sets_no_session(page: Any, live: Live, shots: Path) -> None:
    """Pages redirect to sign-in; a wrong token shows the refusal and no cookie is set,
    so the console stays closed."""
    page.goto(live.url + "/console/accounts")
    assert page.url.endswith("/console/login")
    page.screenshot(path=str(shots / "console-sign-in.png"))
    sign_in(page, live, token=TOKEN[:-1] + "x")
    assert page.locator("[role=alert]").inner_text() == "That is not the admin token."
    assert page.context.cookies() == []
    page.goto(live.url + "/console/keys")
    assert page.url.endswith("/console/login")


def test_sign_in_sets_a_strict_http_only_cookie_and_shows_the_overview(
    page: Any, live: Live, shots: Path
) -> None:
    """The right token opens the overview, whose four charts are drawn from the figures
    of the requests made; the cookie is HttpOnly and SameSite=Strict; signing out ends it."""
    for _ in range(3):
        httpx.post(live.url + "/api/v1/chat/completions", json=CHAT, headers=live.auth())
    httpx.post(
        live.url + "/api/v1/chat/completions",
        json={**CHAT, "model": "no/such"},
        headers=live.auth(),
    )
    sign_in(page, live)
    assert page.url.endswith("/console")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert TOKEN not in cookie["value"]

    def totals() -> bool:
        page.goto(live.url + "/console")
        return page.inner_text("#total-requests") == "4"

    wait_until(totals, "the requests in the overview")
    page.wait_for_function("document.querySelectorAll('[data-drawn=true]').length === 4")
    assert "model_not_found" in page.inner_text("main")
    page.screenshot(path=str(shots / "console-overview.png"), full_page=True)

    follow(page, "text=Sign out")
    assert page.url.endswith("/console/login")
    page.goto(live.url + "/console")
    assert page.url.endswith("/console/login")


def test_creating_a_key_shows_its_secret_once(page: Any, live: Live, shots: Path) -> None:
    """The new key's secret is on the page that answers the form, and on no page after;
    the key works, and revoking it from its page stops it."""
    sign_in(page, live)
    page.goto(live.url + "/console/keys")
    page.fill("#account_id", live.seeded.account_id)
    page.fill("#key-name", "browser <b>test</b>")
    page.fill("#rps", "7")
    follow(page, "text=Create key")
    secret = page.inner_text("#secret")
    assert re.fullmatch(r"sk-nano-[0-9a-f-]{36}", secret), secret
    page.screenshot(path=str(shots / "console-key-created.png"), full_page=True)

    chat = httpx.post(
        live.url + "/api/v1/chat/completions",
        json=CHAT,
        headers={"authorization": f"Bearer {secret}"},
    )
    assert chat.status_code == 200, chat.text

    page.goto(live.url + "/console/keys")
    assert secret not in page.content()
    assert "browser <b>test</b>" in page.inner_text("main"), "user text is escaped"
    page.screenshot(path=str(shots / "console-keys.png"), full_page=True)
    page.goto(live.url + "/console/keys?account_id=" + live.seeded.account_id)
    key_link = page.locator("table a[href^='/console/keys/key']").first
    with page.expect_navigation(wait_until="load"):
        key_link.click()
    assert secret not in page.content()
    assert "7" in page.inner_text("dl.facts")
    follow(page, "text=Revoke this key")
    assert page.inner_text("#revoked") != "—"
    page.screenshot(path=str(shots / "console-key.png"), full_page=True)

    def refused() -> bool:
        again = httpx.post(
            live.url + "/api/v1/chat/completions",
            json=CHAT,
            headers={"authorization": f"Bearer {secret}"},
        )
        return again.status_code == 401

    wait_until(refused, "the revoked key to be refused")


def test_a_top_up_is_reflected_in_the_balance(page: Any, live: Live, shots: Path) -> None:
    """A top-up of 2.5 moves the balance from 5.00 to 7.50 and is in the ledger; a bad
    amount is refused on the page and changes nothing."""
    sign_in(page, live)
    page.goto(live.url + "/console/accounts")
    page.screenshot(path=str(shots / "console-accounts.png"), full_page=True)
    follow(page, f"text={live.seeded.account_id}")
    assert page.inner_text("#balance") == "5.00"
    page.fill("#amount_usd", "-1")
    follow(page, "text=Add funds")
    assert "Amount:" in page.inner_text("[role=alert]")
    assert page.inner_text("#balance") == "5.00"
    page.fill("#amount_usd", "2.5")
    follow(page, "text=Add funds")
    assert page.inner_text("[role=status]") == "Top-up added."
    assert page.inner_text("#balance") == "7.50"
    assert "2.50" in page.inner_text("table:last-of-type")
    page.screenshot(path=str(shots / "console-account.png"), full_page=True)


def test_a_request_appears_in_the_log_with_its_cost(page: Any, live: Live, shots: Path) -> None:
    """A chat request shows in the request log; its page has its attempt, its cost (the
    same as the API's) and its timings."""
    answered = httpx.post(live.url + "/api/v1/chat/completions", json=CHAT, headers=live.auth())
    request_id = answered.headers["x-request-id"]
    sign_in(page, live)

    def listed() -> bool:
        page.goto(live.url + "/console/requests?key_id=" + live.seeded.key_id)
        return request_id in page.inner_text("main")

    wait_until(listed, "the request in the console's log")
    page.screenshot(path=str(shots / "console-requests.png"), full_page=True)
    follow(page, f"text={request_id}")
    admin = httpx.get(
        live.url + f"/api/admin/v1/requests/{request_id}",
        headers={"authorization": f"Bearer {TOKEN}"},
    ).json()
    assert page.inner_text("#cost") == admin["cost_usd"] != "0.00"
    assert "answered" in page.inner_text("table") and "ms" in page.inner_text("dl.facts")
    page.screenshot(path=str(shots / "console-request.png"), full_page=True)


def test_payments_deployments_and_audit_pages(page: Any, live: Live, shots: Path) -> None:
    """A quoted x402 payment is listed and shown with its offer; deployments show their
    breakers; the audit trail lists the console's own change."""
    quoted = httpx.post(live.url + "/api/v1/chat/completions", json=CHAT)
    payment_id = quoted.json()["payment"]["paymentId"]
    sign_in(page, live)
    page.goto(live.url + "/console/payments")
    assert "pending" in page.inner_text("main")
    page.screenshot(path=str(shots / "console-payments.png"), full_page=True)
    follow(page, f"text={payment_id}")
    assert "dev" in page.inner_text("main")
    page.screenshot(path=str(shots / "console-payment.png"), full_page=True)

    page.goto(live.url + "/console/deployments")
    assert "local/local/chat" in page.inner_text("main") and "closed" in page.inner_text("main")
    page.screenshot(path=str(shots / "console-deployments.png"), full_page=True)

    page.goto(live.url + "/console/accounts")
    page.fill("#name", "Audited Ltd")
    page.fill("#balance_usd", "1")
    follow(page, "text=Create account")
    assert page.inner_text("[role=status]") == "Account created."
    page.goto(live.url + "/console/audit")
    text = page.inner_text("main")
    assert "account.create" in text and "console" in text
    page.screenshot(path=str(shots / "console-audit.png"), full_page=True)
