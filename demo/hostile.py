"""Hostile shops on 127.0.0.1: what a real crawl meets when a shop (or a page in it) is broken or malicious.

Each shop lives under a path prefix of one server and has the shape its name says; every HTML shop's
category page links two good products beside the hostile one, so a crawl can prove that the good offers
are kept while the hostile page is refused, capped or reported.

=================  ===========  ==========================================================================
shop               shape        what it does
=================  ===========  ==========================================================================
``calm``           jsonld       a healthy shop (three products)
``redirects``      jsonld       a product that redirects forever (a new URL each hop) and a ping-pong pair
``huge``           jsonld       a ``body_mb`` page (Content-Length), the same streamed, a gzip bomb
``drip``           jsonld       a product page that sends one byte every ``drip_interval`` seconds
``offerbomb``      jsonld       one JSON-LD block with ``offers`` offers, one nested ``depth`` deep
``endless``        jsonld       category pages ``?page=N`` for every N, each with new products
``endless-api``    shopify      ``products.json?page=N`` with new products for every N
``cursor``         woocommerce  every page is the same page (the "next cursor" never moves on)
``woo-huge``       woocommerce  ``X-WP-TotalPages: total_pages``, every page one new product
``links``          jsonld       ``file:``, ``javascript:``, ``data:``, another local service, another host
``numbers``        jsonld       prices ``1e308``, ``"1e3"``, ``{"v": 1}``, ``0.001``, ``0.004``; a list price
                                ``99999999999999999``; two good products
``unstorable``     shopify      ``compare_at_price: "1e20"``, a lone surrogate in a title
=================  ===========  ==========================================================================

``python -m demo.hostile --port 8766`` serves them for manual probes (``--body-mb 50`` etc.).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
SHAPES = {
    "calm": "jsonld",
    "redirects": "jsonld",
    "huge": "jsonld",
    "drip": "jsonld",
    "offerbomb": "jsonld",
    "endless": "jsonld",
    "endless-api": "shopify",
    "cursor": "woocommerce",
    "woo-huge": "woocommerce",
    "links": "jsonld",
    "numbers": "jsonld",
    "unstorable": "shopify",
}


SECRET_PAGE = (
    '<title>SECRET</title><script type="application/ld+json">'
    '{"@type": "Product", "name": "SECRET local file", "sku": "secret", "offers": {"price": "1.00"}}</script>'
)
"""What the ``links`` shop's ``file:`` and ``data:`` links lead to: a page a crawler must never store."""


@dataclass(frozen=True)
class Sizes:
    """How hostile the hostile shops are (tests use small sizes; the defaults are the issue's probes)."""

    body_mb: float = 50
    bomb_mb: float = 1024
    drip_interval: float = 0.5
    drip_seconds: float = 600
    offers: int = 100_000
    depth: int = 10_000
    total_pages: int = 3_000_000


@dataclass
class Reply:
    status: int = 200
    content_type: str = HTML
    body: bytes = b""
    headers: dict[str, str] | None = None
    stream: Callable[[BaseHTTPRequestHandler], None] | None = None
    """Writes the body itself (after the headers); used for streamed, dripping and endless bodies."""


def toml_value(value: object) -> str:
    """A TOML value: a dict as an inline table, the rest as JSON (which TOML reads the same)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def product_page(name: str, sku: str, price: object, **offer: object) -> str:
    """A schema.org product page (JSON-LD) whose offer has ``price`` exactly as given (any JSON value)."""
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "sku": sku,
        "offers": {"@type": "Offer", "price": price, "priceCurrency": "CNY", **offer},
    }
    return (
        f"<!DOCTYPE html><html><head><title>{escape(name)}</title>"
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body><h1>{escape(name)}</h1></body></html>"
    )


def category_page(links: list[str], following: str | None = None) -> str:
    anchors = "".join(f'<a class="product-link" href="{escape(href)}">{escape(href)}</a>\n' for href in links)
    more = f'<a rel="next" href="{escape(following)}">next</a>' if following else ""
    return f"<!DOCTYPE html><html><head><title>Category</title></head><body>{anchors}{more}</body></html>"


def good_products(shop: str) -> list[str]:
    return [f"/{shop}/p/good-1", f"/{shop}/p/good-2"]


def good_product(shop: str, rest: list[str]) -> Reply | None:
    if rest[:2] in (["p", "good-1"], ["p", "good-2"]):
        n = rest[1][-1]
        return html(product_page(f"{shop} kettle {n}", f"{shop}-good-{n}", f"{n}9.00"))
    return None


def html(text: str, status: int = 200, **headers: str) -> Reply:
    return Reply(status, HTML, text.encode(), headers)


def json_reply(data: object, **headers: str) -> Reply:
    return Reply(200, JSON, json.dumps(data).encode(), headers)


def redirect(location: str) -> Reply:
    return Reply(302, HTML, b"", {"Location": location})


class HostileServer:
    """The hostile shops on ``127.0.0.1:port`` (0 = a free port), from a background thread.

    ``secret_file``: a local file the ``links`` shop links to as ``file://``; ``internal_url``: another
    local service (e.g. a second server) it links and redirects to. ``hits`` counts requests per shop.
    """

    def __init__(
        self,
        sizes: Sizes | None = None,
        *,
        port: int = 0,
        secret_file: str | None = None,
        internal_url: str | None = None,
    ) -> None:
        self.sizes = sizes or Sizes()
        self.secret_file = secret_file or "/etc/hostname"
        self.internal_url = internal_url or "http://127.0.0.1:9/internal"
        self.hits: Counter[str] = Counter()
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def marketplace_toml(self, shop: str, **fields: object) -> str:
        """A ``[[marketplace]]`` block for ``shop`` (``fields`` are added as TOML values)."""
        shape = SHAPES[shop]
        lines = ["[[marketplace]]", f'name = "{shop}"', f'shape = "{shape}"']
        lines.append(f'base_url = "{self.base_url}/{shop}/"')
        if shape == "jsonld":
            lines.append(f'start_urls = ["{self.base_url}/{shop}/category"]')
        lines += [f"{key} = {toml_value(value)}" for key, value in fields.items()]
        return "\n".join(lines) + "\n"

    def record(self, path: str) -> None:
        shop = path.strip("/").split("/", 1)[0]
        with self._lock:
            self.hits[shop] += 1
            self.paths.append(path)

    def route(self, path: str, query: dict[str, str]) -> Reply | None:
        if path == "/robots.txt":
            return Reply(200, "text/plain", b"User-agent: *\nAllow: /\n")
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in SHAPES:
            return None
        shop, rest = parts[0], parts[1:]
        if rest == ["category"] and SHAPES[shop] == "jsonld" and shop != "endless":
            return html(category_page([*good_products(shop), *self.hostile_links(shop)]))
        return good_product(shop, rest) or ROUTES[shop](self, rest, query)

    def hostile_links(self, shop: str) -> list[str]:
        links = {
            "redirects": [f"/{shop}/p/loop", f"/{shop}/p/ping"],
            "huge": [f"/{shop}/p/big", f"/{shop}/p/stream", f"/{shop}/p/bomb"],
            "drip": [f"/{shop}/p/drip"],
            "offerbomb": [f"/{shop}/p/many", f"/{shop}/p/deep"],
            "links": [
                f"file://{self.secret_file}",
                "data:text/html;base64," + base64.b64encode(SECRET_PAGE.encode()).decode(),
                self.internal_url,
                f"{self.base_url.replace('127.0.0.1', '127.0.0.2')}/calm/p/good-1",
                f"/{shop}/p/to-internal",
                f"/{shop}/p/script-url",
                "javascript:alert(document.cookie)",
                " JaVaScRiPt:alert(1)",
            ],
            "numbers": [f"/{shop}/p/{name}" for name in BAD_PRICES],
        }
        return links.get(shop, [])

    def start(self) -> HostileServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="hostile")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the shops --------------------------------------------------------------------------------------


def _redirects(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest == ["p", "loop"]:
        return redirect(f"/redirects/p/loop?hop={int(query.get('hop', '0')) + 1}")
    if rest == ["p", "ping"]:
        return redirect("/redirects/p/pong")
    if rest == ["p", "pong"]:
        return redirect("/redirects/p/ping")
    return None


def _huge(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    size = int(server.sizes.body_mb * 2**20)
    if rest == ["p", "big"]:
        return Reply(200, HTML, b"<html><body>" + b"x" * size + b"</body></html>")
    if rest == ["p", "stream"]:
        return Reply(200, HTML, stream=lambda handler: _stream(handler, size))
    if rest == ["p", "bomb"]:
        bomb = _gzip_zeros(int(server.sizes.bomb_mb * 2**20))
        return Reply(200, HTML, bomb, {"Content-Encoding": "gzip"})
    return None


_BOMBS: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about 1 KB per MB), built once per size."""
    if size not in _BOMBS:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
        chunk = b"\0" * 2**20
        parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
        parts += [compressor.compress(b"\0" * (size % len(chunk))), compressor.flush()]
        _BOMBS[size] = b"".join(parts)
    return _BOMBS[size]


def _stream(handler: BaseHTTPRequestHandler, size: int) -> None:
    """``size`` bytes with no Content-Length (the connection's end ends the body)."""
    chunk = b"y" * 65536
    sent = 0
    while sent < size:
        handler.wfile.write(chunk)
        sent += len(chunk)


def _drip(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest != ["p", "drip"]:
        return None
    sizes = server.sizes

    def drip(handler: BaseHTTPRequestHandler) -> None:
        deadline = time.monotonic() + sizes.drip_seconds
        handler.wfile.write(b"<html><body>")
        while time.monotonic() < deadline:
            time.sleep(sizes.drip_interval)
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return Reply(200, HTML, stream=drip)  # no Content-Length: the body goes on until the connection ends


def _offerbomb(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest == ["p", "many"]:
        offers = [
            {"@type": "Offer", "price": f"{i % 900 + 100}.00", "priceCurrency": "CNY", "sku": f"bomb-{i}"}
            for i in range(server.sizes.offers)
        ]
        data = {"@context": "https://schema.org", "@type": "Product", "name": "Offer bomb", "offers": offers}
        return html(f'<script type="application/ld+json">{json.dumps(data)}</script><h1>Offer bomb</h1>')
    if rest == ["p", "deep"]:
        depth = server.sizes.depth
        nested = '{"a":' * depth + "1" + "}" * depth
        page = product_page("Deep kettle", "deep-1", "59.00").replace(
            '"@type": "Product"', f'"x": {nested}, "@type": "Product"'
        )
        return html(page)
    return None


def _endless(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest == ["category"]:
        page = int(query.get("page", "1"))
        links = [f"/endless/p/{page}-{n}" for n in (1, 2)]
        return html(category_page(links, f"/endless/category?page={page + 1}"))
    if len(rest) == 2 and rest[0] == "p":
        return html(product_page(f"Endless kettle {rest[1]}", f"endless-{rest[1]}", "19.00"))
    return None


def shopify_product(product_id: int, title: str, **variant: object) -> dict:
    return {
        "id": product_id,
        "title": title,
        "handle": f"p-{product_id}",
        "vendor": "Hostile",
        "variants": [{"id": product_id * 10, "title": "Default Title", "price": "19.00", **variant}],
    }


def _endless_api(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest != ["products.json"]:
        return None
    page = int(query.get("page", "1"))
    return json_reply({"products": [shopify_product(page * 1000 + n, f"Endless {page}-{n}") for n in (1, 2)]})


def woo_product(product_id: int, name: str) -> dict:
    return {
        "id": product_id,
        "name": name,
        "permalink": f"http://127.0.0.1/woo/{product_id}",
        "prices": {
            "price": "1900",
            "regular_price": "1900",
            "currency_code": "CNY",
            "currency_minor_unit": 2,
        },
        "is_in_stock": True,
    }


def _cursor(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest != ["wp-json", "wc", "store", "v1", "products"]:
        return None
    return json_reply([woo_product(n, f"Same page product {n}") for n in (1, 2, 3)])


def _woo_huge(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest != ["wp-json", "wc", "store", "v1", "products"]:
        return None
    page = int(query.get("page", "1"))
    total = str(server.sizes.total_pages)
    return json_reply(
        [woo_product(page, f"Page {page} product")], **{"X-WP-TotalPages": total, "X-WP-Total": total}
    )


def _links(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest == ["p", "to-internal"]:
        return redirect(server.internal_url)
    if rest == ["p", "script-url"]:
        page = product_page(
            "Script kettle", "links-script", "29.00", url="javascript:alert(document.domain)"
        ).replace('"@type": "Product"', '"@type": "Product", "image": "javascript:alert(2)"')
        return html(page)
    return None


BAD_PRICES: dict[str, object] = {
    "sci-text": "1e308",
    "sci-small": "1e3",
    "object": {"v": 1},
    "tenth-cent": 0.001,
    "four-tenths-cent": "0.004",
    "huge-list-price": "LIST",
}


def _numbers(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if len(rest) != 2 or rest[0] != "p" or rest[1] not in BAD_PRICES:
        return None
    name, price = rest[1], BAD_PRICES[rest[1]]
    if price == "LIST":
        spec = {"@type": "UnitPriceSpecification", "priceType": "https://schema.org/ListPrice"}
        return html(
            product_page(
                "List price kettle",
                f"numbers-{name}",
                "39.00",
                priceSpecification={**spec, "price": 99999999999999999, "priceCurrency": "CNY"},
            )
        )
    return html(product_page(f"Kettle {name}", f"numbers-{name}", price))


def _unstorable(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    if rest != ["products.json"]:
        return None
    if query.get("page", "1") != "1":
        return json_reply({"products": []})
    products = [
        shopify_product(1, "Good kettle"),
        shopify_product(2, "Compare-at kettle", compare_at_price="1e20"),
        shopify_product(3, "Good mug"),
        shopify_product(4, "Surrogate \ud800 kettle"),
        shopify_product(6, "Good teapot"),
    ]
    return json_reply({"products": products})


def _calm(server: HostileServer, rest: list[str], query: dict[str, str]) -> Reply | None:
    return None


ROUTES: dict[str, Callable[[HostileServer, list[str], dict[str, str]], Reply | None]] = {
    "calm": _calm,
    "redirects": _redirects,
    "huge": _huge,
    "drip": _drip,
    "offerbomb": _offerbomb,
    "endless": _endless,
    "endless-api": _endless_api,
    "cursor": _cursor,
    "woo-huge": _woo_huge,
    "links": _links,
    "numbers": _numbers,
    "unstorable": _unstorable,
}


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the end of the connection ends a streamed body

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            server.record(url.path)
            reply = server.route(url.path, dict(parse_qsl(url.query))) or Reply(404, body=b"not found")
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            headers = reply.headers or {}
            if reply.stream is None:
                headers = {"Content-Length": str(len(reply.body)), **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                if reply.stream is not None:
                    reply.stream(self)
                else:
                    self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler gave up on this body: that is the point

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    for field, default in Sizes.__dataclass_fields__.items():
        parser.add_argument(
            f"--{field.replace('_', '-')}", type=type(default.default), default=default.default
        )
    args = parser.parse_args(argv)
    sizes = Sizes(**{f: getattr(args, f) for f in Sizes.__dataclass_fields__})
    server = HostileServer(sizes, port=args.port)
    sys.stderr.write(f"hostile shops on {server.base_url}: {', '.join(SHAPES)}\n")
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
