"""The CLI: help for every command, comparison output in each format, user errors as one line + code."""

import csv
import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli import app
from storage import connect
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from tests.test_api_data import published_snapshots

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


def test_compare_finds_by_barcode_model_and_alias(filled_db):
    con = connect(filled_db)
    con.execute("UPDATE offers SET gtin = '0194253432098', mpn = 'MTP43CH/A' WHERE listing_id = '1'")
    con.close()
    for query in ("194253432098", "mtp43ch-a", "苹果", "apple 黑色", "索尼"):
        result = runner.invoke(app, ["compare", query, "--db", str(filled_db), "-f", "json"])
        assert result.exit_code == 0, result.output
        expected = "p_sony" if query == "索尼" else "p_phone"
        assert [r["product_id"] for r in json.loads(result.stdout)] == [expected], query


def test_compare_fits_80_columns_by_dropping_columns(filled_db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["compare", "--db", str(filled_db)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "p_phone" in result.stdout
    assert "not shown for the 80-column terminal" in result.stderr
    header = next(line for line in lines if "product_id" in line)
    assert "lowest_price" in header and "where" in header
    wide = runner.invoke(app, ["compare", "--db", str(filled_db)], env={"COLUMNS": "200"})
    assert "jingxuan" in wide.stdout and "not shown" not in wide.stderr
    picked = runner.invoke(app, ["compare", "--db", str(filled_db), "--columns", "where,product_id"])
    header = next(line for line in picked.stdout.splitlines() if "product_id" in line)
    assert header.index("where") < header.index("product_id") and "saving" not in header
    bad = runner.invoke(app, ["compare", "--db", str(filled_db), "--columns", "nope"])
    assert bad.exit_code == 1 and "no column nope" in bad.stderr


def test_show_lists_every_offer_with_what_merchandisers_compare(filled_db):
    con = connect(filled_db)
    con.execute(
        "UPDATE offers SET final_price = 5799, delivery_hours = 0.5, store = '望京店', distance_km = 1.25, "
        "stock_qty = 7 WHERE listing_id = 'JX1'"
    )
    con.close()
    result = runner.invoke(app, ["show", "p_phone", "--db", str(filled_db)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "5799.00",
        "30 分钟",
        "望京店",
        "1.2",
        "有货 7",
        "techmall",
        "real discount: no",
        "2 observations on 1 day",
    ):
        assert text in out, text
    data = json.loads(runner.invoke(app, ["show", "p_phone", "--db", str(filled_db), "-f", "json"]).stdout)[0]
    assert [o["marketplace"] for o in data["offers"]] == ["jingxuan", "techmall"]
    assert data["offers"][0]["final_price"] == "5799.00" and data["facts"]["reference_price"] is None
    missing = runner.invoke(app, ["show", "p_nope", "--db", str(filled_db)])
    assert missing.exit_code == 1 and "no product 'p_nope'" in missing.stderr


def test_history_groups_by_day_in_local_time_with_the_summary_on_stdout(filled_db):
    result = runner.invoke(app, ["history", "p_phone", "--db", str(filled_db)], env={"TZ": "Asia/Shanghai"})
    assert result.exit_code == 0, result.output
    assert "real discount: no" in result.stdout and "2 observations on 1 day" in result.stdout
    assert result.stderr == "" and "+00:00" not in result.stdout and not re.search(r"\.\d{6}", result.stdout)
    rows = list(
        csv.DictReader(
            io.StringIO(
                runner.invoke(app, ["history", "p_phone", "--db", str(filled_db), "-f", "csv"]).stdout
            )
        )
    )
    assert [(r["marketplace"], r["low"]) for r in rows] == [("jingxuan", "5899.00"), ("techmall", "5999.00")]


def test_csv_for_excel_has_a_bom_and_guards_formulas(filled_db, tmp_path):
    con = connect(filled_db)
    con.execute("UPDATE products SET title = '=HYPERLINK(\"http://x\")' WHERE product_id = 'p_sony'")
    con.close()
    plain = runner.invoke(app, ["compare", "--db", str(filled_db), "-f", "csv"]).stdout
    assert not plain.startswith("\ufeff") and "'=HYPERLINK" in plain
    excel = runner.invoke(app, ["compare", "--db", str(filled_db), "-f", "csv", "--excel"]).stdout
    assert excel.startswith("\ufeffproduct_id,") and "苹果" not in excel  # product titles, not offer titles
    out = tmp_path / "compare.xlsx"
    result = runner.invoke(app, ["compare", "--db", str(filled_db), "-f", "xlsx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("product_id", "product") and {r[0] for r in rows[1:]} == {"p_phone", "p_sony"}
    titles = {r[1] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in titles and any(
        type(c) in (int, float) for c in rows[1]
    )  # numbers, not text


def test_rates_convert_and_an_offer_without_a_rate_is_shown_apart(filled_db):
    con = connect(filled_db)
    con.execute("UPDATE offers SET currency = 'USD', price = 800, shipping = 0 WHERE listing_id = '1'")
    con.close()
    apart = json.loads(
        runner.invoke(
            app, ["compare", "--db", str(filled_db), "-f", "json", "--min-marketplaces", "1"]
        ).stdout
    )
    phone = next(r for r in apart if r["product_id"] == "p_phone")
    assert list(phone["marketplaces"]) == ["jingxuan"] and phone["apart"][0]["currency"] == "USD"
    result = runner.invoke(
        app, ["rates", "set", "usd", "CNY", "7.12", "--date", "2026-11-20", "--db", str(filled_db)]
    )
    assert result.exit_code == 0 and "1 USD = 7.12 CNY from 2026-11-20" in result.stdout
    converted = json.loads(runner.invoke(app, ["compare", "--db", str(filled_db), "-f", "json"]).stdout)
    phone = next(r for r in converted if r["product_id"] == "p_phone")
    assert phone["marketplaces"] == {"techmall": "5696.00", "jingxuan": "5899.00"}  # 800 × 7.12
    table = runner.invoke(app, ["compare", "--db", str(filled_db)], env={"COLUMNS": "250"}).stdout
    assert "USD 7.12 (2026-11-20)" in table  # the rate and its date beside the figures
    in_usd = json.loads(
        runner.invoke(app, ["compare", "--db", str(filled_db), "-f", "json", "--currency", "USD"]).stdout
    )
    assert next(r for r in in_usd if r["product_id"] == "p_phone")["lowest_price"] == "800.00"
    for bad in (["EURO", "CNY", "7"], ["USD", "CNY", "0"], ["USD", "USD", "1"]):
        result = runner.invoke(app, ["rates", "set", *bad, "--db", str(filled_db)])
        assert result.exit_code == 1 and "Traceback" not in result.output, bad
    listed = runner.invoke(app, ["rates", "list", "--db", str(filled_db), "-f", "json"])
    assert [(r["currency"], r["rate"]) for r in json.loads(listed.stdout)] == [("USD", "7.12000000")]


def test_unknown_shipping_is_flagged_or_excluded(filled_db):
    table = runner.invoke(app, ["compare", "sony", "--db", str(filled_db)], env={"COLUMNS": "200"}).stdout
    assert "2299.00+?" in table  # both Sony offers state no shipping fee: a lower bound, flagged
    excluded = runner.invoke(
        app, ["compare", "--db", str(filled_db), "-f", "json", "--unknown-shipping", "exclude"]
    )
    assert [r["product_id"] for r in json.loads(excluded.stdout)] == ["p_phone"]
    runner.invoke(app, ["rates", "setting", "unknown_shipping", "exclude", "--db", str(filled_db)])
    stored = json.loads(runner.invoke(app, ["compare", "sony", "--db", str(filled_db), "-f", "json"]).stdout)
    assert stored[0]["best"] == [] and len(stored[0]["apart"]) == 2
    bad = runner.invoke(app, ["rates", "setting", "unknown_shipping", "zero", "--db", str(filled_db)])
    assert bad.exit_code == 1 and "flag, exclude" in bad.stderr


def test_serve_prints_its_url(tmp_path):
    snaps = published_snapshots(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli import app; app()",
            "serve",
            "--snapshots",
            str(snaps),
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        url = f"http://127.0.0.1:{port}/"
        assert url in line
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "api/v1/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the printed URL does not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
