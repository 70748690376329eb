"""The basket: exact (integer programme) against brute force, the heuristic never worse than the naive plan,
and ``bijia basket`` / ``POST /api/v1/basket`` on a small database."""

from __future__ import annotations

import itertools
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli import app
from core.promo_pricing import basket_total
from service.basket import heuristic, naive
from service.basket_ilp import solve
from storage import connect
from storage.offers import commit_run, stage_offers, start_run
from storage.products import SavedGroup, save_products
from storage.snapshots import publish
from tests.basket_cases import random_basket
from tests.shopper_data import SHANGHAI, build_shopper_db, offer

runner = CliRunner()


def brute_force(cands):
    best = None
    for plan in itertools.product(*cands.values()):
        total = basket_total(list(plan)).total
        best = total if best is None or total < best else best
    return best


@pytest.mark.parametrize("seed", range(25))
def test_exact_equals_brute_force_on_small_random_baskets(seed):
    cands = random_basket(products=5, shops=4, seed=seed)
    exact = basket_total(solve(cands)).total
    assert exact == brute_force(cands)
    assert exact <= basket_total(heuristic(cands)).total <= basket_total(naive(cands)).total


def test_heuristic_gap_on_bigger_random_baskets_is_small():
    gaps = []
    for seed in range(5):
        cands = random_basket(products=20, shops=10, seed=100 + seed)
        exact = basket_total(solve(cands)).total
        heur = basket_total(heuristic(cands)).total
        assert exact <= heur
        gaps.append((heur - exact) / exact)
    assert max(gaps) < 0.05


CONSOLIDATE = [
    offer("shopx", "A-X", "Widget A", "50", shipping="10", seller="X", promotions=["满99包邮"]),
    offer("shopy", "A-Y", "Widget A", "48", shipping="10", seller="Y"),
    offer("shopx", "B-X", "Widget B", "55", shipping="10", seller="X", promotions=["满99包邮"]),
    offer("shopy", "B-Y", "Widget B", "60", shipping="10", seller="Y"),
]


@pytest.fixture(scope="module")
def widgets(tmp_path_factory):
    path = tmp_path_factory.mktemp("basket") / "w.duckdb"
    con = connect(path)
    start_run(con, "r1", "crawl", ["shopx", "shopy"])
    stage_offers(con, "r1", CONSOLIDATE)
    commit_run(con, "r1", ["shopx", "shopy"], "finished", {})
    save_products(
        con,
        "m1",
        [
            SavedGroup("pa", ["shopx/A-X", "shopy/A-Y"], 1, {}),
            SavedGroup("pb", ["shopx/B-X", "shopy/B-Y"], 1, {}),
        ],
        {"pa": ("Widget A", None, None), "pb": ("Widget B", None, None)},
    )
    con.close()
    snaps = path.parent / "snaps"
    publish(path, snaps)
    return path, snaps


def test_cli_basket_consolidates_to_reach_free_shipping(widgets):
    db, _ = widgets
    result = runner.invoke(app, ["basket", "pa", "pb", "--db", str(db), "-f", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    # naive: A at Y (48 + 10), B at X (55 + 10) = 123; together at X: 105 ≥ 99, free shipping
    assert (plan["total"], plan["naive_total"], plan["saving"]) == ("105.00", "123.00", "18.00")
    (shop,) = plan["shops"]
    assert shop["shop"] == "shopx/X" and shop["free_shipping"] == "满99包邮" and shop["shipping"] == "0.00"
    table = runner.invoke(app, ["basket", "pa", "pb", "--db", str(db)]).stdout
    assert "shipping free (满99包邮)" in table and "saving ¥18.00" in table


def test_api_basket_gives_the_same_plan(widgets):
    db, snaps = widgets
    with TestClient(create_app(snaps, check_interval=0)) as client:
        response = client.post("/api/v1/basket", json={"items": [{"product_id": "pa"}, {"product_id": "pb"}]})
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        body = response.json()
        assert (body["total"], body["saving"], body["method"]) == ("105.00", "18.00", "exact")
        bad = client.post("/api/v1/basket", json={"items": [{"product_id": "pa", "quantity": 0}]})
        assert bad.status_code == 422 and "quantity" in bad.json()["error"]["message"]
        assert client.post("/api/v1/basket", json={"items": [{"product_id": "zz"}]}).status_code == 404


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["pa:0"], "quantity must be 1 to 999", 2),
        (["zz"], "no product 'zz'", 1),
        (["pa", "--method", "magic"], "use exact, heuristic or auto", 2),
    ],
)
def test_cli_basket_errors_are_one_line(widgets, args, message, code):
    result = runner.invoke(app, ["basket", "--db", str(widgets[0]), *args])
    assert result.exit_code == code and message in result.output and "Traceback" not in result.output


def test_store_offers_need_a_location(tmp_path):
    db = build_shopper_db(tmp_path / "s.duckdb")
    far = runner.invoke(app, ["basket", "p_milk", "--db", str(db), "-f", "json"])
    assert "shandian" not in far.stdout  # no place: no instant-retail store
    near = json.loads(
        runner.invoke(app, ["basket", "p_milk:2", "--db", str(db), "--near", SHANGHAI, "-f", "json"]).stdout
    )
    # two: the 陆家嘴 store 2 × ¥55 + ¥4 against jingxuan 2 × ¥58 包邮: the store
    assert [s["shop"] for s in near["shops"]] == ["shandian/闪电到家·陆家嘴店"] and near["total"] == "114.00"
