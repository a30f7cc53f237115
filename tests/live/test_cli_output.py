"""The operator command line prints people's text as it is: names, ids, request records
and error messages with ``[blue]``, ``[/]`` or ``:smile:`` in them are neither read as
Rich markup nor able to crash the command, and a new key's secret always reaches the
operator.

Commands run in process through typer's runner against a SQLite file or the database of
a gateway served on loopback; the demo key's panel comes from the real ``serve`` process.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, make_settings
from typer.testing import CliRunner, Result

from nanogate.cli._app import app
from nanogate.cli._console import out

runner = CliRunner()
KEY = re.compile(r"sk-nano-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCOUNT_ID = re.compile(r"acct_[0-9a-f]{24}")
MARKUP = "[blue]ci[/] :smile: [/]"


def cli(config: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(config)])


def one_line(output: str) -> str:
    """The output with table and panel frames and line breaks taken out."""
    return " ".join(re.sub(r"[│┃┌┐└┘├┤┬┴┼─━┏┓┗┛┡┩╇╈┳┻╭╮╰╯]", " ", output).split())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nanogate.toml"
    path.write_text('[database]\nurl = "sqlite:///admin.db"\n')
    return path


def config_of(live: Live, tmp_path: Path) -> Path:
    path = tmp_path / "admin.toml"
    path.write_text(f'[database]\nurl = "{live.settings.database.url}"\n')
    return path


def status_with(live: Live, key: str) -> int:
    with httpx.Client(base_url=live.url) as client:
        return client.post(
            SURFACE_PATHS["openai"],
            json={"model": "local/chat", "messages": [{"role": "user", "content": "x"}]},
            headers={"authorization": f"Bearer {key}"},
        ).status_code


def test_a_key_named_with_markup_shows_its_secret_first_and_works(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """`keys create --name 'ci [/] bot'` exits 0, prints the secret on its own line before
    anything about the key, shows the name as it is, and the key works on the gateway."""
    live = serve_gateway(make_settings(tmp_path))
    config = config_of(live, tmp_path)
    result = cli(
        config, "keys", "create", "--account", live.seeded.account_id, "--name", "ci [/] bot"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "shown only now" in lines[0] and KEY.fullmatch(lines[1]), result.stdout
    assert "ci [/] bot" in result.stdout
    deadline = time.monotonic() + 10
    while status_with(live, lines[1]) != 200:
        assert time.monotonic() < deadline, "the new key never worked"
        time.sleep(0.02)


def test_accounts_and_keys_show_names_as_they_are(config: Path) -> None:
    """`accounts create`, `accounts show` and `keys create` print a name with markup, emoji
    codes and brackets exactly as it was given."""
    created = cli(config, "accounts", "create", "--name", MARKUP)
    assert created.exit_code == 0, created.output
    assert MARKUP in created.stdout
    match = ACCOUNT_ID.search(created.stdout)
    assert match is not None
    shown = cli(config, "accounts", "show", match.group())
    assert shown.exit_code == 0 and MARKUP in shown.stdout, shown.output
    key = cli(config, "keys", "create", "--account", match.group(), "--name", MARKUP)
    assert key.exit_code == 0 and MARKUP in key.stdout, key.output


def test_control_characters_in_names_are_shown_as_escapes(config: Path) -> None:
    """A name with terminal escape sequences is printed with them written out (``\\x1b``),
    so stored text cannot drive the operator's terminal; --json keeps the name exact."""
    name = "red\x1b[31m bell\x07"
    created = cli(config, "accounts", "create", "--name", name)
    assert created.exit_code == 0, created.output
    assert "\x1b" not in created.stdout and "\x07" not in created.stdout
    assert "red\\x1b[31m bell\\x07" in created.stdout
    as_json = cli(config, "accounts", "create", "--name", name, "--json")
    assert orjson.loads(as_json.stdout)["name"] == name


def test_error_messages_and_titles_show_ids_as_they_are(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fail()` messages and table titles carrying a user's id with markup print it as it
    is (exit 1 for an unknown id, no crash)."""
    assert cli(config, "db", "upgrade").exit_code == 0
    for args, message in [
        (("accounts", "show", "acct_[blue]x[/]"), "error: no account 'acct_[blue]x[/]'"),
        (("keys", "revoke", "key_[/]"), "error: no key 'key_[/]'"),
        (("requests", "show", "req_[bold]"), "error: no request 'req_[bold]' in the request log"),
        (("payments", "show", "pay_[/]"), "error: no payment 'pay_[/]'"),
    ]:
        result = cli(config, *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in one_line(result.stderr), result.stderr
    monkeypatch.setattr(out, "_force_terminal", True)  # tables (and titles) on a terminal
    ledger = cli(config, "accounts", "ledger", "acct_[/]x")
    assert ledger.exit_code == 0 and "ledger of acct_[/]x" in ledger.stdout, ledger.output


def test_in_a_pipe_output_is_plain_unwrapped_and_without_reprs(config: Path) -> None:
    """Not on a terminal, tables are tab-separated lines that keep every id and amount
    whole (nothing cut at 80 columns), and values read as values: lists comma-separated,
    booleans yes or no, nothing for none, never a Python repr."""
    account = orjson.loads(
        cli(
            config, "accounts", "create", "--balance", "20.000000001", "--name", "a\tb", "--json"
        ).stdout
    )
    key = orjson.loads(
        cli(
            config,
            "keys",
            "create",
            "--account",
            account["id"],
            "--models",
            "local/chat,local/mini",
            "--json",
        ).stdout
    )
    shown = cli(config, "accounts", "show", account["id"]).stdout
    assert shown.splitlines() == [
        f"id\t{account['id']}",
        "name\ta\\tb",
        "balance_usd\t20.000000001",
        "reserved_usd\t0.00",
        f"created_at\t{account['created_at']}",
    ]
    ledger = cli(config, "accounts", "ledger", account["id"]).stdout.splitlines()
    assert ledger[0] == "at\tkind\tamount_usd\thold_usd\trequest_id\tnote"
    assert ledger[1].split("\t")[1:] == ["topup", "20.000000001", "0.00", "", "opening balance"]
    listed = cli(config, "keys", "list", "--account", account["id"]).stdout.splitlines()
    assert listed[1].split("\t")[0] == key["id"] and len(listed) == 2
    created = cli(
        config, "keys", "create", "--account", account["id"], "--models", "local/chat,local/mini"
    ).stdout.splitlines()
    settings = dict(line.split("\t", 1) for line in created[3:])
    assert settings["models"] == "local/chat, local/mini" and settings["rps"] == ""
    for output in (shown, "\n".join(ledger), "\n".join(listed), "\n".join(created[3:])):
        assert "['" not in output and "None" not in output and "False" not in output
        assert "│" not in output and "…" not in output


def test_requests_show_prints_the_record_s_text_as_it_is(
    serve_gateway: LiveFactory, tmp_path: Path
) -> None:
    """A request for a model named with markup is logged; `requests show` prints the
    logged error message naming that model as it is."""
    live = serve_gateway(make_settings(tmp_path))
    model = "[blue]no[/]"
    with httpx.Client(base_url=live.url) as client:
        response = client.post(
            SURFACE_PATHS["openai"],
            json={"model": model, "messages": [{"role": "user", "content": "x"}]},
            headers=live.auth(),
        )
    assert response.status_code == 404
    request_id = response.headers["x-request-id"]
    config = config_of(live, tmp_path)
    deadline = time.monotonic() + 10
    while (result := cli(config, "requests", "show", request_id, "--json")).exit_code != 0:
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.05)
    message: str = orjson.loads(result.stdout)["message"]
    assert model in message
    shown = cli(config, "requests", "show", request_id)
    assert shown.exit_code == 0, shown.output
    assert f"message {message}" in one_line(shown.stdout), shown.stdout


def test_the_demo_key_panel_prints_the_key_and_no_markup(tmp_path: Path) -> None:
    """On an empty database `serve` prints the demo key in its panel as plain text (no
    markup tags around it), even when the server then cannot start."""
    config = tmp_path / "nanogate.toml"
    config.write_text('[database]\nurl = "sqlite:///demo.db"\n')
    with socket.socket() as taken:  # the port is in use, so uvicorn stops after the panel
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "nanogate", "serve", "--config", str(config)]
            + ["--host", "127.0.0.1", "--port", str(port)],
            env={k: v for k, v in os.environ.items() if not k.startswith("NANOGATE_")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0, result.stderr
    assert "demo API key" in result.stdout and "[bold]" not in result.stdout, result.stdout
    keys = KEY.findall(result.stdout)
    assert len(keys) == 1, result.stdout


def test_help_shows_boolean_options_as_flags() -> None:
    """Help is plain text, and an on/off option is shown as the flag it is, with no
    value placeholder (``--json``, not ``--json <bool>``)."""
    for args in (["keys", "create", "--help"], ["accounts", "list", "--help"], ["--help"]):
        shown = runner.invoke(app, args).output
        assert "<bool>" not in shown and "│" not in shown, shown
    listing = runner.invoke(app, ["accounts", "list", "--help"]).output
    assert re.search(r"^\s+--json\s+Print one JSON object", listing, re.M), listing


def test_shell_completion_completes_commands() -> None:
    """``--show-completion`` prints the shell's script, and the script's protocol
    completes a command's name."""
    script = runner.invoke(app, ["--show-completion", "bash"])
    assert script.exit_code == 0 and "_NANOGATE_COMPLETE=complete_bash" in script.output
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "nanogate")],
        env={
            **os.environ,
            "_NANOGATE_COMPLETE": "complete_bash",
            "COMP_WORDS": "nanogate acc",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.stdout.split() == ["accounts"], completed.stderr


def test_the_readme_exports_the_variable_chat_reads() -> None:
    """The README's quick start exports the variable ``nanogate chat`` takes its key
    from, and its chat example needs no other option."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "export NANOGATE_API_KEY=" in readme and "NANOGATE_KEY" not in readme
    shown = runner.invoke(app, ["chat", "--help"]).output
    assert "NANOGATE_API_KEY" in shown
