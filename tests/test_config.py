"""The marketplaces file: the bundled one loads; bad files name the line and key."""

from pathlib import Path

import pytest

from crawler.config import ConfigError, load_marketplaces
from crawler.shapes import SHAPES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "marketplaces.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[[marketplace]]
name = "shop-a"
shape = "shopify"
base_url = "https://shop-a.example/"

[[marketplace]]
name = "shop-b"
shape = "jsonld"
base_url = "https://shop-b.example/"
start_urls = ["https://shop-b.example/c/all"]
currency = "USD"
"""


def test_bundled_demo_file_loads(monkeypatch):
    monkeypatch.setenv("BIJIA_DEMO_URL", "http://127.0.0.1:9")
    markets = load_marketplaces()
    assert {m.shape for m in markets} == set(SHAPES)
    assert all(m.base_url.startswith("http://127.0.0.1:9/") for m in markets)


def test_good_file_and_subset(tmp_path):
    path = write(tmp_path, GOOD)
    assert [m.name for m in load_marketplaces(path)] == ["shop-a", "shop-b"]
    only = load_marketplaces(path, only=["shop-b"])
    assert [m.currency for m in only] == ["USD"]
    with pytest.raises(ConfigError, match="unknown marketplace.*nope.*known: shop-a, shop-b"):
        load_marketplaces(path, only=["nope"])


@pytest.mark.parametrize(
    "replace, expected",
    [
        ('shape = "jsonld"', r"line 9: marketplace 'shop-b': shape: Input should be"),
        ('currency = "USD"', r"line 12: marketplace 'shop-b': currency: String should match"),
        (
            'base_url = "https://shop-b.example/"',
            r"line 10: marketplace 'shop-b': base_url: not an http",
        ),
    ],
)
def test_bad_values_name_line_and_key(tmp_path, replace, expected):
    bad = {
        'shape = "jsonld"': 'shape = "magento"',
        'currency = "USD"': 'currency = "dollars"',
        'base_url = "https://shop-b.example/"': 'base_url = "ftp://shop-b.example/"',
    }[replace]
    path = write(tmp_path, GOOD.replace(replace, bad))
    with pytest.raises(ConfigError, match=expected):
        load_marketplaces(path)


def test_unknown_key_missing_key_and_syntax(tmp_path):
    with pytest.raises(ConfigError, match=r"line 5: marketplace 'shop-a': base_ulr: Extra inputs"):
        load_marketplaces(
            write(tmp_path, GOOD.replace('base_url = "https://shop-a', 'base_ulr = "https://shop-a'))
        )
    with pytest.raises(ConfigError, match=r"line 2: marketplace 'shop-a': base_url: Field required"):
        load_marketplaces(write(tmp_path, GOOD.replace('base_url = "https://shop-a.example/"', "")))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_marketplaces(write(tmp_path, "[[marketplace]\nname = 1"))
    with pytest.raises(ConfigError, match="duplicate marketplace name 'shop-a'"):
        load_marketplaces(write(tmp_path, GOOD.replace('"shop-b"', '"shop-a"')))
    with pytest.raises(ConfigError, match="cannot read"):
        load_marketplaces(tmp_path / "missing.toml")


def test_undefined_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    path = write(tmp_path, GOOD.replace("https://shop-a.example/", "${NO_SUCH_VAR}/a/"))
    with pytest.raises(ConfigError, match=r"line 5: \$\{NO_SUCH_VAR\} is used but .* not set"):
        load_marketplaces(path)
