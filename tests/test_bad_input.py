"""Bad input where it enters: the marketplaces file, CLI flags, a corrupted or foreign database file.

Every case ends as one line on stderr (`bijia: error: …` or Click's usage error), a distinct exit code
(78 bad marketplaces file, 2 bad command line, 1 unusable database) and no traceback. The API's
parameters are in ``test_bad_input_api.py``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cli import app
from storage import connect

runner = CliRunner()

GOOD = """\
[[marketplace]]
name = "shop"
shape = "shopify"
base_url = "http://127.0.0.1:9/shop/"
"""


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


# ------------------------------------------------------------------ the marketplaces file → 78


MARKETPLACE_FILES = [
    # (name, file text, line, words the message must name)
    ("wrong type", GOOD + 'concurrency = "eight"\n', 5, ["marketplace 'shop'", "concurrency"]),
    ("wrong type: list for a string", GOOD + "currency = ['CNY']\n", 5, ["currency"]),
    ("a number as a string", GOOD + 'concurrency = "8"\n', 5, ["concurrency", "valid integer"]),
    ("a boolean as a string", GOOD + 'enabled = "yes"\n', 5, ["enabled", "valid boolean"]),
    ("a boolean as a number", GOOD + "obey_robots = 1\n", 5, ["obey_robots", "valid boolean"]),
    ("a float for a whole number", GOOD + "max_pages = 2.5\n", 5, ["max_pages", "valid integer"]),
    ("a string in [run]", GOOD + '[run]\ngone_after_runs = "3"\n', 6, ["gone_after_runs", "valid integer"]),
    ("a string limit", GOOD + 'limits = { max_requests = "5" }\n', 5, ["limits", "valid integer"]),
    ("out of range", GOOD + "concurrency = 99999999999999999999999\n", 5, ["concurrency"]),
    ("negative delay", GOOD + "delay = -1\n", 5, ["delay"]),
    ("unknown shape", GOOD.replace('"shopify"', '"magento"'), 3, ["shape", "jsonld"]),
    ("unknown key", GOOD + 'colour = "red"\n', 5, ["colour", "xtra"]),
    (
        "bad URL: no scheme",
        GOOD.replace("http://127.0.0.1:9/shop/", "127.0.0.1/shop"),
        4,
        ["base_url", "URL"],
    ),
    ("bad URL: ftp", GOOD.replace("http://", "ftp://"), 4, ["base_url"]),
    ("bad URL in a list", GOOD + 'start_urls = ["javascript:alert(1)"]\n', 5, ["start_urls"]),
    ("bad name", GOOD.replace('name = "shop"', 'name = "../../etc"'), 2, ["name"]),
    ("bad currency", GOOD + 'currency = "yuan"\n', 5, ["currency"]),
    ("missing shape", GOOD.replace('shape = "shopify"\n', ""), 1, ["shape", "required"]),
    ("duplicate names", GOOD + GOOD, 1, ["duplicate marketplace name 'shop'"]),
    ("bad browser option", GOOD + "browser = { wait_timeout_ms = 1 }\n", 5, ["wait_timeout_ms"]),
    ("marketplace is not a table", 'marketplace = "shop"\n', 1, ["marketplace"]),
    ("no marketplaces", "[alerts]\n", 1, ["marketplace"]),
    (
        "unset variable",
        GOOD.replace("http://127.0.0.1:9", "${BIJIA_SURELY_UNSET_VAR}"),
        4,
        ["BIJIA_SURELY_UNSET_VAR", "not set"],
    ),
    ("unknown table", GOOD + "[cron]\nat = 3\n", 1, ["cron"]),
]


@pytest.mark.parametrize(
    ("text", "line", "words"), [c[1:] for c in MARKETPLACE_FILES], ids=[c[0] for c in MARKETPLACE_FILES]
)
def test_a_bad_marketplaces_file_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, words: list[str]
):
    config = tmp_path / "shops.toml"
    config.write_text(text, encoding="utf-8")
    for command in (
        ["crawl", "--db", str(tmp_path / "b.duckdb")],
        ["run", "--db", str(tmp_path / "b.duckdb")],
        ["marketplaces", "list"],
    ):
        result = invoke(*command, "--config", str(config))
        assert result.exit_code == 78, (command, result.output)
        first = result.stderr.splitlines()[0]
        assert first.startswith("bijia: error: ") and str(config) in first, result.stderr
        assert f"line {line}" in first, result.stderr
        for word in words:
            assert word in result.stderr, (word, result.stderr)
    assert not (tmp_path / "b.duckdb").exists() or _runs(tmp_path / "b.duckdb") == 0  # nothing started


def _runs(db: Path) -> int:
    con = connect(db, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(
    "content",
    [b"[[marketplace]\nname = ", b"\xff\xfe\x00garbage", b""],
    ids=["not TOML", "not UTF-8", "empty"],
)
def test_an_unreadable_marketplaces_file_is_78(tmp_path: Path, content: bytes):
    config = tmp_path / "shops.toml"
    config.write_bytes(content)
    result = invoke("crawl", "--config", str(config), "--db", str(tmp_path / "b.duckdb"))
    assert result.exit_code == 78 and result.stderr.startswith(f"bijia: error: {config}"), result.stderr


def test_a_missing_marketplaces_file_or_unknown_marketplace_is_78(tmp_path: Path):
    result = invoke("crawl", "--config", str(tmp_path / "nope.toml"), "--db", str(tmp_path / "b.duckdb"))
    assert result.exit_code == 78 and "cannot read" in result.stderr
    config = tmp_path / "shops.toml"
    config.write_text(GOOD)
    result = invoke("crawl", "--config", str(config), "-m", "nosuchshop", "--db", str(tmp_path / "b.duckdb"))
    assert result.exit_code == 78 and "unknown marketplace(s) nosuchshop" in result.stderr


# ------------------------------------------------------------------ CLI flags → 2


@pytest.fixture
def good_db(tmp_path: Path) -> Path:
    db = tmp_path / "good.duckdb"
    connect(db).close()
    return db


BAD_FLAGS = [
    ["compare", "--limit", "0"],
    ["compare", "--limit", "-5"],
    ["compare", "--limit", "abc"],
    ["compare", "--limit", "1e3"],
    ["compare", "--format", "xml"],
    ["compare", "--min-marketplaces", "0"],
    ["runs", "--limit", "0"],
    ["runs", "--format", "'; DROP TABLE runs; --"],
    ["alerts", "--limit", "-1"],
    ["history", "p1", "--days", "0"],
    ["history", "p1", "--days", "99999999999999999999"],
    ["demo", "--size", "5"],
    ["demo", "--size", "10000000"],
    ["demo-server", "--port", "70000"],
    ["demo-server", "--port", "-1"],
    ["serve", "--port", "0"],
    ["serve", "--workers", "1000"],
    ["runs", "--no-such-flag"],
    ["no-such-command"],
    ["compare", "a", "b", "c"],
    ["run", "--run-id", "../../escape"],
    ["run", "--run-id", "a/b"],
    ["run", "--run-id", ""],
    ["run", "--log-format", "xml"],
]


@pytest.mark.parametrize("args", BAD_FLAGS, ids=[" ".join(a) for a in BAD_FLAGS])
def test_a_bad_flag_value_is_exit_2_without_traceback(good_db: Path, tmp_path: Path, args: list[str]):
    config = tmp_path / "shops.toml"
    config.write_text(GOOD)
    needs_db = args[0] in ("compare", "runs", "alerts", "history", "run") and "--no-such-flag" not in args
    extra = ["--db", str(good_db)] if needs_db else []
    if args[0] == "run":
        extra += ["--config", str(config), "--snapshots", str(tmp_path / "snaps")]
    result = invoke(*args, *extra)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip(), "says what is wrong"


def test_a_bad_run_id_never_touches_a_folder_outside_the_state_folder(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    (tmp_path / "a" / "b.duckdb.state" / "jobs").mkdir(parents=True)
    config = tmp_path / "shops.toml"
    config.write_text(GOOD)
    result = invoke(
        "run",
        "--db",
        str(tmp_path / "a" / "b.duckdb"),
        "--config",
        str(config),
        "--run-id",
        "../../../victim",
    )
    assert result.exit_code == 2
    assert (victim / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize(
    "query", ["' OR 1=1 --", "x'; DROP TABLE offers; --", "%", "_", "\\", "😀" * 200, "a" * 5000]
)
def test_sql_looking_or_huge_compare_queries_are_just_text(good_db: Path, query: str):
    result = invoke("compare", query, "--db", str(good_db), "--format", "json")
    assert result.exit_code == 0 and result.stdout.strip() in ("", "[]"), result.output
    con = connect(good_db, read_only=True)
    try:
        assert con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'offers'"
        ).fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--limit", "99999999999999999999999"],
        ["runs", "--limit", "99999999999999999999999"],
        ["alerts", "--limit", "99999999999999999999999"],
        ["compare", "--min-marketplaces", "99999999999999999999999"],
    ],
)
def test_huge_limits_are_accepted_or_refused_cleanly(good_db: Path, args: list[str]):
    result = invoke(*args, "--db", str(good_db))
    assert result.exit_code in (0, 2), result.output


# ------------------------------------------------------------------ database files → 1


def _random(path: Path) -> None:
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(100_000)))


def _sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE offers (x)")
    con.commit()
    con.close()


def _foreign(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.close()


def _truncated(path: Path) -> None:
    connect(path).close()
    with path.open("r+b") as fh:
        fh.truncate(5000)


def _newer(path: Path) -> None:
    con = connect(path)
    con.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")
    con.close()


def _directory(path: Path) -> None:
    path.mkdir()


def _zeroed_header(path: Path) -> None:
    connect(path).close()
    with path.open("r+b") as fh:
        fh.write(b"\0" * 4096)


DB_FILES = {
    "random bytes": (_random, "not a DuckDB database file"),
    "SQLite": (_sqlite, "SQLite"),
    "foreign DuckDB": (_foreign, "not a bijia database"),
    "truncated": (_truncated, "cannot open database"),
    "zeroed header": (_zeroed_header, "not a DuckDB database file"),
    "newer schema": (_newer, "upgrade bijia"),
    "a directory": (_directory, ""),
}


@pytest.mark.parametrize("kind", list(DB_FILES))
@pytest.mark.parametrize(
    "command",
    [["runs"], ["compare"], ["match"], ["history", "p1"], ["alerts"], ["publish", "--snapshots", "SNAPS"]],
)
def test_a_corrupted_or_foreign_database_is_one_line_and_exit_1(
    tmp_path: Path, kind: str, command: list[str]
):
    make, words = DB_FILES[kind]
    if command[0] == "publish":
        words = ""  # publish opens the file its own way (storage.snapshots); its wording differs
    db = tmp_path / "x.duckdb"
    make(db)
    before = db.read_bytes() if db.is_file() else None
    args = [str(tmp_path / "snaps") if a == "SNAPS" else a for a in command]
    result = invoke(*args, "--db", str(db))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bijia: error: ") and str(db) in lines[0], result.stderr
    assert words in lines[0], lines[0]
    if before is not None:
        assert db.read_bytes() == before, "the file was changed"
