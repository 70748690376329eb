"""``bijia compare --near`` and the API's ``near=``: offers ranked for a shopper in Beijing or Shanghai,
from the working database and from a published snapshot (the same ranking)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli import app
from storage.snapshots import publish
from tests.shopper_data import BEIJING, OFFERS, SHANGHAI, build_shopper_db

runner = CliRunner()


@pytest.fixture(scope="module")
def shopper_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_shopper_db(tmp_path_factory.mktemp("nearby") / "s.duckdb")


@pytest.fixture(scope="module")
def client(shopper_db: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    snaps = tmp_path_factory.mktemp("snaps")
    publish(shopper_db, snaps)
    with TestClient(create_app(snaps, check_interval=0)) as c:
        yield c


def near_json(db: Path, *args: str) -> list[dict]:
    result = runner.invoke(app, ["compare", "--db", str(db), "-f", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_beijing_shopper_sees_the_nearby_store_as_best(shopper_db):
    milk = next(
        p for p in near_json(shopper_db, "--near", BEIJING, "--sort", "price") if p["product_id"] == "p_milk"
    )
    # the Shanghai store is out of range; by price: jingxuan ¥58, the 国贸 store ¥65, techmall ¥69
    assert [o["listing_id"] for o in milk["offers"]] == ["JX-MILK", "M@101", "T-MILK"]
    assert milk["out_of_range"] == 1
    store = milk["offers"][1]
    assert store["distance_km"] == pytest.approx(0.75, abs=0.01) and store["arrival"] == "30 分钟"
    choices = milk["choices"]
    assert choices["cheapest"]["listing_id"] == "JX-MILK" and choices["best"]["listing_id"] == "M@101"
    assert choices["best"]["reason"].startswith(
        "¥7.00 more than the cheapest, arrives in 30 分钟 instead of 2 days"
    )


def test_sort_and_value_of_time_change_the_order_and_the_pick(shopper_db):
    by_arrival = near_json(shopper_db, "milk", "--near", BEIJING, "--sort", "arrival")[0]
    assert [o["listing_id"] for o in by_arrival["offers"]] == ["M@101", "T-MILK", "JX-MILK"]
    stingy = near_json(shopper_db, "milk", "--near", BEIJING, "--value-of-time", "0.1")[0]
    assert stingy["choices"]["best"]["listing_id"] == "JX-MILK"
    assert stingy["offers"][0]["listing_id"] == "JX-MILK"


def test_shanghai_and_radius(shopper_db):
    milk = near_json(shopper_db, "milk", "--near", SHANGHAI)[0]
    assert (
        milk["choices"]["best"]["listing_id"] == "M@201"
        and milk["choices"]["cheapest"]["listing_id"] == "JX-MILK"
    )
    assert "M@101" not in {o["listing_id"] for o in milk["offers"]}
    # 80 m away, but the shopper will only accept stores within 50 m
    tight = near_json(shopper_db, "milk", "--near", SHANGHAI, "--radius", "50m")[0]
    assert "M@201" not in {o["listing_id"] for o in tight["offers"]} and tight["out_of_range"] == 2


def test_table_and_csv_output(shopper_db):
    table = runner.invoke(app, ["compare", "milk", "--db", str(shopper_db), "--near", BEIJING])
    assert table.exit_code == 0
    assert "闪电到家·国贸店 (0.8 km)" in table.stdout and "best: ¥7.00 more than the cheapest" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()[:8]) <= 100
    out = runner.invoke(app, ["compare", "--db", str(shopper_db), "--near", BEIJING, "-f", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["product_id"] for r in rows} == {"p_milk", "p_phone", "p_cable"}
    assert next(r for r in rows if r["listing_id"] == "M@101")["pick"] == "best,fastest"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--near", "39.9"], "--near: '39.9': give latitude,longitude"),
        (["--near", BEIJING, "--radius", "far"], "--radius: 'far'"),
        (["--near", BEIJING, "--sort", "cheap"], "--sort: 'cheap': use price, arrival or best"),
        (["--near", BEIJING, "--value-of-time", "lots"], "--value-of-time: 'lots'"),
    ],
)
def test_bad_location_options_are_one_line_errors(shopper_db, args, message):
    result = runner.invoke(app, ["compare", "--db", str(shopper_db), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_api_near_adds_the_same_ranking(client, shopper_db):
    page = client.get("/api/v1/products/p_milk", params={"near": BEIJING, "sort": "price"}).json()
    cli = near_json(shopper_db, "milk", "--near", BEIJING, "--sort", "price")[0]
    nearby = page["nearby"]
    assert nearby["near"] == {"lat": 39.9042, "lng": 116.4074} and nearby["sort"] == "price"
    assert nearby["offers"] == cli["offers"] and nearby["choices"] == cli["choices"]
    assert len(page["offers"]) == 4  # the page's own offers are untouched
    store = next(o for o in page["offers"] if o["listing_id"] == "M@101")
    assert (store["latitude"], store["longitude"], store["promotions"]) == (39.9087, 116.414, ["满59减10"])
    assert "nearby" not in client.get("/api/v1/products/p_milk").json()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"near": "1"}, "near"),
        ({"near": BEIJING, "sort": "x"}, "sort"),
        ({"near": BEIJING, "value_of_time": "-3"}, "value_of_time"),
    ],
)
def test_api_bad_location_is_a_422_naming_the_parameter(client, params, name):
    response = client.get("/api/v1/products/p_milk", params=params)
    assert response.status_code == 422 and response.json()["error"]["message"].startswith(f"{name}:")


def test_shop_texts_are_never_read_as_markup(tmp_path):
    offers = [dataclasses.replace(o) for o in OFFERS]
    offers[0].seller = "Tech[bold]Mall[/bold]"
    db = build_shopper_db(tmp_path / "m.duckdb", offers)
    table = runner.invoke(app, ["compare", "milk", "--db", str(db), "--near", BEIJING])
    assert table.exit_code == 0 and "techmall Tech[bold]Mall[/bold]" in table.stdout
    plan = runner.invoke(app, ["basket", "p_milk", "--db", str(db)])
    assert plan.exit_code == 0 and "total ¥58.00" in plan.stdout
