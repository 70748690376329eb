"""Bad API parameters (SQL-looking text, huge and odd numbers, long strings, wildcards, odd bytes) and bad
snapshot files: always a 4xx/5xx in the one error shape ``{"error": {"code", "message"}}``, never a 500
for a parameter, never a changed snapshot."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.snapshots import current_snapshot
from tests.test_api_data import published_snapshots

SQL = [
    "' OR '1'='1",
    "'; DROP TABLE api_products; --",
    'x" OR ""="',
    "1; SELECT * FROM offers",
    "') UNION SELECT password FROM users --",
    "%",
    "_",
    "\\",
    "*",
]
HUGE = ["99999999999999999999999999999", "-99999999999999999999", "1e400", "NaN", "inf", "0x10", "1.5", ""]


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_snapshots(tmp_path_factory.mktemp("api-bad"))


@pytest.fixture(scope="module")
def client(snaps: Path):
    with TestClient(create_app(snaps, check_interval=0), raise_server_exceptions=False) as c:
        yield c


def error_of(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert body["error"]["code"] != "internal_error", body
    return body["error"]


def _products(client: TestClient) -> int:
    return len(client.get("/api/v1/products", params={"limit": 100}).json()["items"])


@pytest.mark.parametrize("text", SQL)
@pytest.mark.parametrize("param", ["q", "brand", "category"])
def test_sql_looking_search_text_finds_nothing_and_changes_nothing(client: TestClient, param: str, text: str):
    before = _products(client)
    response = client.get("/api/v1/products", params={param: text})
    if param == "q" and not any(c.isalnum() for c in text):
        # no word in it: a clear 422, not a wildcard that the database expanded nor "everything"
        assert error_of(response, 422)["message"].startswith("q: ")
    else:
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [], (param, text)  # no wildcard, no injection
    assert _products(client) == before


@pytest.mark.parametrize("text", SQL)
def test_sql_looking_ids_are_404_in_the_error_shape(client: TestClient, text: str):
    error_of(client.get(f"/api/v1/products/{text}"), 404)
    error_of(client.get(f"/api/v1/products/{text}/history"), 404)
    error_of(client.get("/api/v1/offers/history", params={"marketplace": text, "listing_id": text}), 404)
    error_of(client.get("/api/v1/compare", params={"ids": text}), 404, 422)


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products?limit={}",
        "/api/v1/products/p_xm5/history?days={}",
        "/api/v1/offers/history?marketplace=techmall&listing_id=1&days={}",
    ],
)
def test_huge_or_odd_numbers_are_422(client: TestClient, url: str, value: str):
    error = error_of(client.get(url.format(value)), 422)
    assert error["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/products", {"q": "x" * 10_000}),
        ("/api/v1/products", {"brand": "b" * 10_000}),
        ("/api/v1/products", {"cursor": "c" * 10_000}),
        ("/api/v1/offers/history", {"marketplace": "m" * 10_000, "listing_id": "1"}),
        ("/api/v1/compare", {"ids": ",".join(["p"] * 10_000)}),
        ("/api/v1/compare", {"ids": ",,,  ,"}),
    ],
)
def test_long_strings_are_4xx(client: TestClient, url: str, params: dict):
    error_of(client.get(url, params=params), 400, 404, 414, 422)


def test_a_very_long_product_id_is_4xx(client: TestClient):
    error_of(client.get("/api/v1/products/" + "p" * 20_000), 404, 414, 422)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "W10",
        "eyJhIjoxfQ",
        "WyJpZCJd",
        "WyJpZCIsMSwyLDMsNCw1XQ",
        "WyJwcmljZSIsIngiLCJ5Il0",
        "%00",
        "\u2603",
    ],
)
def test_forged_cursors_are_400(client: TestClient, cursor: str):
    for sort in ("id", "price"):
        error_of(client.get("/api/v1/products", params={"cursor": cursor, "sort": sort}), 400, 422)


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "a\x00b",
        "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
        "😀" * 50,
        "\u202e\u0645",
        "ｉｐｈｏｎｅ%20",
        "<script>alert(1)</script>",
    ],
)
def test_odd_characters_in_search_are_handled(client: TestClient, text: str):
    response = client.get("/api/v1/products", params={"q": text})
    if response.status_code != 200:
        error_of(response, 400, 422)


def corrupted_copy(snaps: Path, tmp_path: Path) -> Path:
    """A copy of ``snaps`` whose current snapshot file is garbage."""
    bad = tmp_path / "snaps"
    shutil.copytree(snaps, bad)
    current = current_snapshot(bad)
    assert current is not None
    current.path.write_bytes(b"\0" * 4096 + b"not a database")
    return bad


def test_a_corrupted_snapshot_is_503_not_a_crash(tmp_path: Path, snaps: Path):
    bad = corrupted_copy(snaps, tmp_path)
    with TestClient(create_app(bad, check_interval=0), raise_server_exceptions=False) as c:
        response = c.get("/api/v1/products")
        assert response.status_code in (500, 503)
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])


def test_nothing_above_changed_the_snapshot(client: TestClient, snaps: Path):
    snap = current_snapshot(snaps)
    assert snap is not None
    assert client.get("/api/v1/health").json()["snapshot"]["id"] == snap.id
    assert _products(client) > 0


@pytest.mark.parametrize("price", ["NaN", "Infinity", "-Infinity", "sNaN", "-nan"])
def test_a_price_cursor_that_is_not_a_finite_number_is_422_naming_the_cursor(client: TestClient, price: str):
    raw = json.dumps(["price", "s", 1, "p_x", price]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    error = error_of(client.get("/api/v1/products", params={"sort": "price", "cursor": cursor}), 422)
    assert error["code"] == "invalid_parameter" and error["message"].startswith("cursor: ")


def test_503_bodies_never_show_a_server_path(tmp_path: Path, snaps: Path):
    import shutil

    with TestClient(
        create_app(tmp_path / "nothing-yet", check_interval=0), raise_server_exceptions=False
    ) as c:
        empty = c.get("/api/v1/products")
    bad = tmp_path / "snaps"
    shutil.copytree(snaps, bad)
    current = current_snapshot(bad)
    assert current is not None
    current.path.write_bytes(b"\0" * 4096 + b"not a database")
    with TestClient(create_app(bad, check_interval=0), raise_server_exceptions=False) as c:
        broken = c.get("/api/v1/products")
    for response in (empty, broken):
        error = error_of(response, 503)
        assert str(tmp_path) not in response.text and "/" not in error["message"], error


def test_every_response_carries_the_security_headers(client: TestClient):
    for url in ("/", "/api/v1/products", "/api/v1/products/nope", "/api/v1/health", "/nowhere", "/docs"):
        response = client.get(url)
        csp = response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert response.headers["referrer-policy"] == "no-referrer", url
        assert response.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in csp, url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (url, csp)
        if response.headers["content-type"].startswith("application/json"):
            assert csp.startswith("default-src 'none'"), csp
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    # the page's scripts are files of its own origin; an inline block would have to be named by its hash
    inline = "<script>" in page.text or "<style>" in page.text
    assert ("'sha256-" in csp) == inline, csp


@pytest.mark.parametrize(
    ("headers", "url", "status"),
    [
        ({}, "/api/v1/products?q=" + "x" * 9000, 414),
        ({"X-Padding": "y" * 40_000}, "/api/v1/products", 431),
        ({"Content-Length": "10000000"}, "/api/v1/products", 413),
    ],
)
def test_oversized_requests_are_refused_in_the_error_shape(client: TestClient, headers, url, status):
    error_of(client.get(url, headers=headers), status)
