"""Secrets never leave the configuration file and the environment: a failing run with a webhook URL carrying a
user, a password, a token-like path segment and a token parameter, and alert channels whose signing secret,
SMTP password and robot URL token come from environment variables, then every output (text and JSON logs, ``-v``, ``runs``,
``alerts``, ``--help``) and every file written (the database, the snapshots, the alerts file, the state
folder) is searched for each secret — in DuckDB files through every table's rows, not only their bytes."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import duckdb
import pytest

from demo.catalogue import generate_catalogue
from demo.faults import Faults
from demo.server import DemoServer
from storage import connect
from tests.test_run import API_SHOPS, BIJIA, ROOT, bijia, write_config

pytestmark = pytest.mark.slow
PASSWORD = "Pa55w0rd-S3cret-q7"
PATH_TOKEN = "T0kenPath9f8e7d6c5b4a3210"
TOKEN = "tok4f3e2d1c0b9a8"
SIGNING = "sign-9Q8w7E6r5T4y"
SMTP_PASSWORD = "smtp-Hunter2-Pw"
ROBOT_TOKEN = "robot7c6b5a4d3e2f1"
SECRETS = (PASSWORD, PATH_TOKEN, TOKEN, SIGNING, SMTP_PASSWORD, ROBOT_TOKEN)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens here once the socket is closed


def duckdb_text(path: Path) -> str:
    """Every row of every table of a DuckDB file, as text."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    finally:
        con.close()


def written(root: Path, config: Path) -> dict[str, str]:
    """Every file under ``root`` but the configuration, as text."""
    found = {}
    for path in root.rglob("*"):
        if not path.is_file() or path == config or path.name == "reserve":
            continue
        data = path.read_bytes()
        found[str(path)] = data.decode("utf-8", "replace")
        if path.suffix == ".duckdb" and data[8:12] == b"DUCK":
            found[f"{path} (rows)"] = duckdb_text(path)
    return found


def seed_price_drop(db: Path) -> None:
    """The previous price of one shopline listing was 50 % higher: the next run has an alert to deliver."""
    con = connect(db)
    try:
        (listing,) = con.execute(
            "SELECT min(listing_id) FROM prices WHERE marketplace = 'shopline'"
        ).fetchone()
        con.execute(
            "UPDATE prices SET price = price * 1.5, final_price = final_price * 1.5 "
            "WHERE marketplace = 'shopline' AND listing_id = ?",
            [listing],
        )
    finally:
        con.close()


def test_a_failing_run_leaks_no_secret_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    port = closed_port()
    hook = f"http://hookuser:{PASSWORD}@127.0.0.1:{port}/hook/{PATH_TOKEN}?access_token={TOKEN}&lang=zh"
    monkeypatch.setenv("BIJIA_TEST_SIGNING", SIGNING)
    monkeypatch.setenv("BIJIA_TEST_SMTP", SMTP_PASSWORD)
    monkeypatch.setenv("BIJIA_TEST_ROBOT", f"http://127.0.0.1:{port}/robot/send?access_token={ROBOT_TOKEN}")
    channels = (
        '[[alerts.channel]]\ntype = "dingtalk"\nurl_env = "BIJIA_TEST_ROBOT"\nsecret_env = "BIJIA_TEST_SIGNING"\n'
        "firehose = true\ntimeout = 2\n"
        f'[[alerts.channel]]\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'username = "bijia"\npassword_env = "BIJIA_TEST_SMTP"\nsender = "bijia@example.com"\n'
        'to = ["buyer@example.com"]\nfirehose = true\ntimeout = 2\n'
    )
    alerts = f'[alerts]\nfirehose = true\nwebhook_url = "{hook}"\nwebhook_timeout = 2\n'
    config = write_config(tmp_path / "m.toml", alerts + channels)
    db = tmp_path / "data" / "b.duckdb"
    args = ["--db", str(db), "-c", str(config), "--snapshots", str(tmp_path / "data" / "snaps"), *API_SHOPS]
    outputs: dict[str, str] = {}
    with DemoServer(generate_catalogue(20, 7)) as server:
        first = bijia(server, "run", "--log-format", "json", *args)
        assert first.returncode == 0, first.stderr
        seed_price_drop(db)
        server.state.plan = {"woomart": Faults(status_5xx_rate=1.0)}
        for name, extra in (("json", ["--log-format", "json"]), ("text -v", ["-v"])):
            done = bijia(server, "run", *extra, *args)
            assert done.returncode == 3, done.stderr  # woomart failed; the webhook failed too
            outputs[f"run {name}"] = done.stdout + done.stderr
        assert "channel_failed" in outputs["run json"]  # the failures are told…
        assert "127.0.0.1" in outputs["run text -v"]  # …naming the endpoint, not its secrets
    for command in (
        ["runs", "--format", "json"],
        ["runs"],
        ["alerts", "--format", "json"],
        ["run", "--help"],
    ):
        done = subprocess.run(
            [BIJIA, *command, "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        outputs[" ".join(command)] = done.stdout + done.stderr
    assert "price_drop" in outputs["alerts --format json"]
    files = written(tmp_path, config)
    assert any(name.endswith(".alerts.jsonl") for name in files) and any("/snaps/" in n for n in files)
    leaks = [(where, s) for where, text in {**outputs, **files}.items() for s in SECRETS if s in text]
    assert leaks == []
