"""`bijia match`, `review`, `explain`, `eval-matching` through the CLI, checked on output and database."""

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from cli import app
from storage import connect
from storage.offers import commit_run, stage_offers, start_run
from tests.conftest import SHARED

runner = CliRunner()

OFFERS = [
    ("techmall", "1", "Apple iPhone 15 Pro 256GB Black Titanium", "8999"),
    ("jingxuan", "JX1", "【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色钛金属 正品", "8799"),
    ("woomart", "11", "APPLE iPhone15Pro 256 GB Black Titanium - Official", "9099"),
    ("techmall", "2", "Apple iPhone 15 Pro 128GB Black Titanium", "7999"),
    ("jingxuan", "JX2", "苹果 iPhone 15 Pro 128G 黑色钛金属", "7899"),
    ("techmall", "3", "Sony WH-1000XM5 Wireless Headphones Black", "2499"),
    ("woomart", "12", "SONY WH1000XM5 Noise Cancelling Black", "2399"),
]


@pytest.fixture
def crawled_db(db_path, offer_factory):
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["techmall", "jingxuan", "woomart"])
    stage_offers(con, "r1", [offer_factory(m, lid, t, p, shipping=Decimal(0)) for m, lid, t, p in OFFERS])
    commit_run(con, "r1", ["techmall", "jingxuan", "woomart"], "finished", {})
    con.close()
    return db_path


def products(db_path) -> dict[str, str]:
    con = connect(db_path, read_only=True)
    try:
        return dict(
            con.execute("SELECT marketplace || '/' || listing_id, product_id FROM product_offers").fetchall()
        )
    finally:
        con.close()


def test_match_groups_same_sku_and_keeps_variants_apart(crawled_db):
    result = runner.invoke(app, ["match", "--db", str(crawled_db)])
    assert result.exit_code == 0, result.output
    p = products(crawled_db)
    assert p["techmall/1"] == p["jingxuan/JX1"] == p["woomart/11"]
    assert p["techmall/2"] == p["jingxuan/JX2"] != p["techmall/1"]
    assert p["techmall/3"] == p["woomart/12"]
    # ids are stable across runs
    runner.invoke(app, ["match", "--db", str(crawled_db)])
    assert products(crawled_db) == p


def test_split_and_confirm_decisions_are_obeyed(crawled_db):
    runner.invoke(app, ["match", "--db", str(crawled_db)])
    result = runner.invoke(app, ["review", "split", "techmall/3", "woomart/12", "--db", str(crawled_db)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["review", "confirm", "techmall/1", "techmall/2", "--db", str(crawled_db)])
    assert result.exit_code == 0
    runner.invoke(app, ["match", "--db", str(crawled_db)])
    p = products(crawled_db)
    assert p["techmall/3"] != p["woomart/12"]
    assert p["techmall/1"] == p["techmall/2"]
    result = runner.invoke(app, ["review", "split", "techmall/3", "nowhere/9", "--db", str(crawled_db)])
    assert result.exit_code == 1 and "no such offer: nowhere/9" in result.stderr


def test_review_lists_json_and_explain(crawled_db):
    runner.invoke(app, ["match", "--db", str(crawled_db)])
    result = runner.invoke(app, ["review", "--db", str(crawled_db), "--format", "json"])
    assert result.exit_code == 0
    for row in json.loads(result.stdout):
        assert {"key_a", "key_b", "score", "title_a", "title_b"} <= set(row)
    result = runner.invoke(
        app, ["explain", "techmall/1", "techmall/2", "--db", str(crawled_db), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    explanation = json.loads(result.stdout)
    assert explanation["product_a"] != explanation["product_b"]
    assert "storage" in json.dumps(explanation, ensure_ascii=False)  # the capacity veto is named
    result = runner.invoke(app, ["explain", "techmall/1", "jingxuan/JX1", "--db", str(crawled_db)])
    assert result.exit_code == 0 and "same product" in result.stdout


def test_eval_matching_errors_and_output():
    result = runner.invoke(app, ["eval-matching", "no-such-set"])
    assert result.exit_code == 1 and "unknown dataset" in result.stderr
    if not (SHARED / "data" / "abt-buy").is_dir():
        pytest.skip(f"benchmarks not available at {SHARED / 'data'} (set BIJIA_SHARED)")
    result = runner.invoke(app, ["eval-matching", "abt-buy", "--split", "valid", "--format", "json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["pairs"] > 1000 and 0.5 < report["f1"] <= 1


def test_product_brand_is_counted_across_languages_and_shown_in_latin(db_path, offer_factory):
    """Two shops write 苹果, one writes Apple: one brand, shown as Apple (as on every other Apple product)."""
    listed = [
        ("jingxuan", "A1", "【官方旗舰店】苹果 iPhone 15 Pro 256G 黑色钛金属", "苹果"),
        ("shandian", "A2", "苹果iPhone 15 Pro 256GB 黑色钛金属", "苹果"),
        ("techmall", "A3", "Apple iPhone 15 Pro 256GB Black Titanium", "Apple"),
        ("jingxuan", "H1", "华为 Mate 60 Pro 512G 雅川青", "华为"),
        ("shandian", "H2", "华为Mate 60 Pro 512GB 雅川青", "华为"),
    ]
    con = connect(db_path)
    start_run(con, "r1", "crawl", ["jingxuan", "shandian", "techmall"])
    stage_offers(
        con, "r1", [offer_factory(m, lid, t, "6999", brand=b, shipping=Decimal(0)) for m, lid, t, b in listed]
    )
    commit_run(con, "r1", ["jingxuan", "shandian", "techmall"], "finished", {})
    con.close()
    assert runner.invoke(app, ["match", "--db", str(db_path)]).exit_code == 0
    con = connect(db_path, read_only=True)
    try:
        brands = dict(
            con.execute(
                "SELECT po.listing_id, p.brand FROM product_offers po JOIN products p USING (product_id)"
            ).fetchall()
        )
    finally:
        con.close()
    assert brands["A1"] == brands["A2"] == brands["A3"] == "Apple"
    assert brands["H1"] == brands["H2"] == "华为"


def test_eval_matching_on_a_deepmatcher_folder_writes_nothing(tmp_path):
    from tests.test_matching_tuning import write_deepmatcher

    folder = tmp_path / "shops"
    write_deepmatcher(folder)
    before = sorted(p.name for p in folder.iterdir())
    args = ["eval-matching", str(folder), "--columns", "title=name,brand=manufacturer,mpn=modelno,price=cost"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["model"] == "default" and report["pairs"] > 20 and report["f1"] > 0.8
    assert sorted(p.name for p in folder.iterdir()) == before
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "add --fit" in result.stderr and not (tmp_path / "m.json").exists()
    result = runner.invoke(app, ["eval-matching", str(folder), "--columns", "title=nom"])
    assert result.exit_code == 1 and "no column 'nom' (title)" in result.stderr


def _run_config(db_path) -> dict:
    con = connect(db_path, read_only=True)
    try:
        [row] = con.execute(
            "SELECT config FROM runs WHERE kind = 'match' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    return json.loads(row[0])


@pytest.mark.slow
def test_review_decisions_refit_the_model_that_match_then_uses(crawled_db):
    """`bijia model fit` learns from confirm/split decisions (a quick fit: demo pairs, one tree setting), is
    stored in the database as the active model, and the next `bijia match` records its version."""
    pytest.importorskip("sklearn", reason="fitting needs scikit-learn")
    from matching.tuning.fit import TREE_GRID
    from service.model import model_fit, model_list

    runner.invoke(app, ["match", "--db", str(crawled_db)])
    shipped = _run_config(crawled_db)["model_version"]
    runner.invoke(app, ["review", "split", "techmall/3", "woomart/12", "--db", str(crawled_db)])
    runner.invoke(app, ["review", "confirm", "techmall/1", "jingxuan/JX1", "--db", str(crawled_db)])
    report = model_fit(crawled_db, sources=["demo"], grid=TREE_GRID[:1])
    assert (report.confirmed, report.split) == (1, 1) and report.version != shipped
    assert runner.invoke(app, ["match", "--db", str(crawled_db)]).exit_code == 0
    assert _run_config(crawled_db)["model_version"] == report.version
    rows = {r["version"]: r for r in model_list(crawled_db)}
    assert rows[report.version]["active"] and rows[report.version]["products"] > 0
    assert not rows[shipped]["active"] and rows[shipped]["products"] == 0  # the products of the last match
    result = runner.invoke(app, ["model", "use", "default", "--db", str(crawled_db)])
    assert result.exit_code == 0
    runner.invoke(app, ["match", "--db", str(crawled_db)])
    assert _run_config(crawled_db)["model_version"] == shipped
    result = runner.invoke(app, ["model", "use", "nope", "--db", str(crawled_db)])
    assert result.exit_code == 1 and "no stored model 'nope'" in result.stderr
