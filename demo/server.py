"""One HTTP server on 127.0.0.1 serving the demo shops under path prefixes (see docs/ARCHITECTURE.md).

with DemoServer(generate_catalogue(150), port=0) as server:
    httpx.get(server.base_url + "/shopline/products.json")

python -m demo.server --port 8765 --size 150 --seed 7 --fault techmall:status_429_every=5
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from demo import feeds, fieldshops, pages
from demo.catalogue import SHOPS, Catalogue, TruthRow, generate_catalogue
from demo.faults import Faults, FaultState, normalise_plan, parse_fault
from demo.feeds import Reply, json_reply

SHOP_PREFIXES = SHOPS
IMAGE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="80" height="80">'
    b'<rect width="80" height="80" fill="#ddd"/></svg>'
)
NOT_FOUND = Reply(404, "text/plain; charset=utf-8", b"not found\n")


def route(cat: Catalogue, state: FaultState, path: str, query: dict[str, str], base: str) -> Reply | None:
    """The reply for one GET (``None``: 404). Pure apart from reading the catalogue."""
    parts = [p for p in path.split("/") if p]
    if path == "/robots.txt":
        return pages.robots(base)
    if len(parts) == 3 and parts[:2] == ["static", "img"]:
        return Reply(200, "image/svg+xml", IMAGE)
    if not parts or parts[0] not in SHOP_PREFIXES:
        return None
    shop, rest = parts[0], parts[1:]
    faults = state.faults(shop)
    handler = _HANDLERS[shop]
    return handler(cat, faults, rest, query, base)


def _techmall(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if not rest:
        return pages.techmall_home()
    if rest == ["sitemap.xml"]:
        return pages.sitemap_index(cat, base)
    name = rest[0]
    if len(rest) == 1 and name.startswith("sitemap-products-") and name.endswith(".xml"):
        number = name.removeprefix("sitemap-products-").removesuffix(".xml")
        return pages.sitemap_products(cat, base, int(number)) if number.isdigit() else None
    if rest == ["category", "all"]:
        page = query.get("page", "1")
        return pages.techmall_category(cat, int(page), faults) if page.isdigit() else None
    if len(rest) == 2 and name == "product":
        return pages.techmall_product(cat, rest[1], base, faults)
    if rest == ["cart"]:
        return pages.html_page("Cart", "<h1>Your cart is empty</h1>")
    return None


def _shopline(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if rest == ["products.json"]:
        return feeds.shopify_products(cat, query, base, faults)
    return None


def _woomart(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if rest == ["wp-json", "wc", "store", "v1", "products"]:
        return feeds.woo_products(cat, query, base, faults)
    if len(rest) == 2 and rest[0] == "product":
        return pages.woomart_product(cat, rest[1])
    return None


def _jingxuan(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if not rest:
        return pages.jingxuan_shell(faults)
    if rest == ["api", "items"]:
        return feeds.jingxuan_items(cat, query, faults)
    if len(rest) == 2 and rest[0] == "item":
        return pages.jingxuan_item(cat, rest[1], faults)
    return None


def _shandian(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if rest == ["api", "stores"]:
        return feeds.shandian_stores(cat)
    if len(rest) == 4 and rest[:2] == ["api", "stores"] and rest[3] == "products" and rest[2].isdigit():
        return feeds.shandian_products(cat, int(rest[2]), query, faults)
    return None


def _nextmall(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if rest == ["products"]:
        return fieldshops.nextmall_products(cat, query, faults)
    return None


def _tanhuo(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if not rest:
        return fieldshops.tanhuo_shell()
    if rest == ["api", "feed"]:
        return fieldshops.tanhuo_feed(cat, query, faults)
    if len(rest) == 2 and rest[0] == "item":
        return fieldshops.tanhuo_item(cat, rest[1])
    return None


def _kuaigou(
    cat: Catalogue, faults: Faults, rest: list[str], query: dict[str, str], base: str
) -> Reply | None:
    if rest == ["api", "v2", "items"]:
        return fieldshops.kuaigou_items(cat, query, faults)
    return None


_HANDLERS: dict[str, Callable[..., Reply | None]] = {
    "techmall": _techmall,
    "shopline": _shopline,
    "woomart": _woomart,
    "jingxuan": _jingxuan,
    "shandian": _shandian,
    "nextmall": _nextmall,
    "tanhuo": _tanhuo,
    "kuaigou": _kuaigou,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bijia-demo/1"
    timeout = 30
    wbufsize = 1 << 16  # headers and body leave in one write (http.server flushes after each request)
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        url = urlsplit(self.path)
        shop = url.path.strip("/").split("/", 1)[0]
        shop = shop if shop in SHOP_PREFIXES else "root"
        state = self.server.state
        action = state.next(shop)
        faults = state.faults(shop)
        if faults.slow_ms:
            time.sleep(faults.slow_ms / 1000)
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action == "429":
            reply = Reply(
                429,
                "text/plain; charset=utf-8",
                b"Too Many Requests\n",
                {"Retry-After": str(faults.retry_after)},
            )
        elif action == "5xx":
            status = (500, 502, 503)[state.requests[shop] % 3]
            reply = Reply(status, "text/plain; charset=utf-8", f"{status} server error\n".encode())
        else:
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
            try:
                query = dict(parse_qsl(url.query))
                reply = route(self.server.catalogue, state, url.path, query, f"http://{host}") or NOT_FOUND
            except Exception as exc:  # noqa: BLE001 - a bug in the demo must not kill the connection silently
                reply = json_reply({"error": f"{type(exc).__name__}: {exc}"}, 500)
        self._send(reply, head, truncate=action == "truncate")

    def _send(self, reply: Reply, head: bool, truncate: bool) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head:
            self.wfile.write(reply.body[: len(reply.body) // 2] if truncate else reply.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], catalogue: Catalogue, state: FaultState, verbose: bool
    ) -> None:
        self.catalogue, self.state, self.verbose = catalogue, state, verbose
        super().__init__(address, _Handler)


class DemoServer:
    """The demo marketplaces on ``127.0.0.1:port`` (0 = a free port), served from a background thread.

    ``faults``: one :class:`Faults` for every shop or ``{shop: Faults}``. ``requests`` counts the requests
    each shop received (``root`` for robots.txt and images); ``injected`` counts faults by ``shop:kind``.
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        port: int = 0,
        faults: Faults | dict[str, Faults] | None = None,
        verbose: bool = False,
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else generate_catalogue()
        self.state = FaultState(normalise_plan(faults))
        self._httpd = _Server(("127.0.0.1", port), self.catalogue, self.state, verbose)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> dict[str, int]:
        return dict(self.state.requests)

    @property
    def injected(self) -> dict[str, int]:
        return dict(self.state.injected)

    @property
    def absurd_shops(self) -> list[str]:
        return [shop for shop, f in self.state.plan.items() if f.absurd_prices]

    def truth_rows(self) -> list[TruthRow]:
        """The catalogue's truth for what this server serves (minus listings broken by ``absurd_prices``)."""
        return list(self.catalogue.truth_rows(self.absurd_shops))

    def expected_lowest(self) -> dict[str, tuple[Decimal, str]]:
        return self.catalogue.expected_lowest(self.absurd_shops)

    def start(self) -> DemoServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="bijia-demo-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
    parser.add_argument("--size", type=int, default=150, help="number of SKUs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SHOP:NAME[=VALUE]",
        help="switch a fault on, e.g. techmall:status_429_every=5, all:slow_ms=20 (repeatable)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    plan: dict[str, Faults] = {}
    try:
        for spec in args.fault:
            plan = parse_fault(spec, plan)
    except ValueError as exc:
        parser.error(str(exc))
    server = DemoServer(
        generate_catalogue(args.size, args.seed), port=args.port, faults=plan, verbose=args.verbose
    )
    print(
        f"bijia demo marketplaces on {server.base_url} ({args.size} SKUs, seed {args.seed}); "
        f"export BIJIA_DEMO_URL={server.base_url}",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
