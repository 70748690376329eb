"""The CLI: help for every command, comparison output in each format, user errors as one line + code."""

import csv
import io
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from cli import app
from storage import connect
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products

runner = CliRunner()


@pytest.fixture
def filled_db(db_path, offer_factory):
    con = connect(db_path)
    offers = [
        offer_factory("techmall", "1", "Apple iPhone 15 128GB Black", "5999", shipping=Decimal(10)),
        offer_factory("jingxuan", "JX1", "苹果 iPhone 15 128G 黑色", "5899", shipping=Decimal(0)),
        offer_factory("techmall", "2", "Sony WH-1000XM5", "2499"),
        offer_factory("shopline", "7", "SONY WH1000XM5 Headphones", "2299"),
    ]
    start_run(con, "r1", "crawl", ["techmall", "jingxuan", "shopline"])
    stage_offers(con, "r1", offers)
    commit_run(con, "r1", ["techmall", "jingxuan", "shopline"], "finished", {})
    save_products(
        con,
        "m1",
        [
            SavedGroup("p_phone", ["techmall/1", "jingxuan/JX1"], 0.9, {}),
            SavedGroup("p_sony", ["techmall/2", "shopline/7"], 0.9, {}),
        ],
        {
            "p_phone": ("Apple iPhone 15 128GB Black", "Apple", None),
            "p_sony": ("Sony WH-1000XM5", "Sony", None),
        },
    )
    con.close()
    return db_path


def test_every_command_has_help():
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert (command.callback.__doc__ or "").strip(), f"{name} has no help text"


def test_compare_json_csv_table(filled_db):
    result = runner.invoke(app, ["compare", "--db", str(filled_db), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["product_id"]: r for r in json.loads(result.stdout)}
    assert (
        rows["p_phone"]["lowest_marketplace"] == "jingxuan" and rows["p_phone"]["lowest_price"] == "5899.00"
    )
    assert rows["p_phone"]["saving"] == "110.00"
    result = runner.invoke(app, ["compare", "sony", "--db", str(filled_db), "-f", "csv"])
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["product_id"], r["where"], r["lowest_price"]) for r in table] == [
        ("p_sony", "shopline", "2299.00")
    ]
    result = runner.invoke(app, ["compare", "苹果", "--db", str(filled_db)])
    assert result.exit_code == 0 and "5899.00" in result.stdout and "jingxuan" in result.stdout


def test_user_errors_are_one_line_with_codes(tmp_path, filled_db):
    result = runner.invoke(app, ["compare", "--db", str(tmp_path / "missing.duckdb")])
    assert result.exit_code == 1 and "no such database" in result.stderr and "Traceback" not in result.output
    bad = tmp_path / "m.toml"
    bad.write_text('[[marketplace]]\nname = "x"\nshape = "magento"\nbase_url = "http://127.0.0.1/"\n')
    result = runner.invoke(app, ["crawl", "--config", str(bad), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 78
    assert "line 3: marketplace 'x': shape" in result.stderr
    result = runner.invoke(app, ["compare", "--db", str(filled_db), "--limit", "0"])
    assert result.exit_code == 2
    cfg = tmp_path / "match.json"
    cfg.write_text("{not json")
    result = runner.invoke(app, ["match", "--db", str(filled_db), "--config", str(cfg)])
    assert result.exit_code == 1 and "not a usable matcher configuration" in result.stderr


def test_runs_lists_the_crawl(filled_db):
    result = runner.invoke(app, ["runs", "--db", str(filled_db), "--format", "json"])
    assert result.exit_code == 0
    assert [r["run_id"] for r in json.loads(result.stdout)] == ["r1"]
