"""The suites' data builders and small checks, in one place.

Store level (no HTTP): `add_product`, `add_show`, `order_request`, `deal`.
HTTP level, over a `TestClient` and the host API: `make_product`, `make_show`, `post_order`,
`stock`, `log_in`; over an async httpx client: `make_show_with_products`.
Shared by both: `buyer` (a buyer token), `key` (an order key), `new_id`, `png`, `phone_jpeg`.
"""

from __future__ import annotations

import io
import re
import secrets
import struct
import time
import zlib
from typing import Any

from PIL import ExifTags, Image
from starlette.testclient import TestClient

from live.app import create_app
from live.backends import Store
from live.config import Settings
from live.domain import Deal, OrderRequest, Product, Show
from tests.conftest import ADMIN_TOKEN

# Requests from a browser or a phone: no admin token (the test clients carry one by default).
NO_AUTH = {"Authorization": ""}


# --- tokens and ids -------------------------------------------------------------------------


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


def _buyer_token() -> str:
    return "buyer" + secrets.token_hex(8)


def buyer() -> str:
    """A fresh buyer token, valid wherever one is checked (HTTP header, socket query, store)."""
    return _buyer_token()


def key() -> str:
    """A fresh order key (the idempotency key a phone sends with each tap)."""
    return "k" + secrets.token_hex(8)


# --- store level ----------------------------------------------------------------------------


async def add_product(
    store: Store, *, stock: int = 10, price: int = 1000, **fields: object
) -> Product:
    product = Product(
        id=new_id("p"),
        name=str(fields.pop("name", "Chili sauce")),
        price=price,
        stock=stock,
        created_at=time.time(),
        **fields,  # type: ignore[arg-type]
    )
    return await store.create_product(product)


async def add_show(
    store: Store, *products: Product, open_: bool = True, on_sale: bool = True
) -> Show:
    show = Show(
        id=new_id("s"),
        title="Harvest night",
        lineup=tuple(p.id for p in products),
        overlay_key=secrets.token_urlsafe(16),
        created_at=time.time(),
    )
    show = await store.create_show(show)
    if open_:
        show = await store.set_ordering(show.id, True)
    if on_sale:
        for p in products:
            show = await store.set_on_sale(show.id, p.id, True)
    return show


def order_request(
    show: Show,
    product: Product,
    *,
    buyer: str | None = None,
    qty: int = 1,
    key: str | None = None,
    now: float | None = None,
) -> OrderRequest:
    """An order for `store.place_order`, as the service builds one (fresh token, key, id)."""
    return OrderRequest(
        show_id=show.id,
        buyer=buyer or _buyer_token(),
        product_id=product.id,
        qty=qty,
        key=key or secrets.token_hex(8),
        order_id=new_id("o"),
        now=time.time() if now is None else now,
    )


def deal(price: int, seconds: float = 60) -> Deal:
    return Deal(price=price, ends_at=time.time() + seconds)


# --- HTTP level (TestClient) ----------------------------------------------------------------


def make_product(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Chili sauce", "price": 2800, "stock": 10, **fields}
    r = client.post("/api/products", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_show(client: TestClient, *product_ids: str, open_: bool = True) -> dict[str, Any]:
    """A show of these products; open with every product on sale unless `open_=False`."""
    r = client.post("/api/shows", json={"title": "Harvest night", "product_ids": list(product_ids)})
    assert r.status_code == 201, r.text
    show = dict(r.json())
    if open_:
        assert (
            client.post(f"/api/shows/{show['id']}/ordering", json={"open": True}).status_code == 200
        )
        for pid in product_ids:
            r = client.post(
                f"/api/shows/{show['id']}/on_sale", json={"product_id": pid, "on_sale": True}
            )
            assert r.status_code == 200, r.text
    return show


def post_order(
    client: TestClient,
    show_id: str,
    product_id: str,
    *,
    qty: int = 1,
    key: str | None = None,
    buyer_token: str | None = None,
) -> Any:
    """A buyer's order over HTTP (no admin token); the response, whatever it is."""
    return client.post(
        f"/api/shows/{show_id}/orders",
        json={"product_id": product_id, "qty": qty, "key": key or secrets.token_hex(8)},
        headers={"X-Buyer": buyer_token or _buyer_token(), **NO_AUTH},
    )


def stock(client: TestClient, product_id: str) -> int:
    return int(client.get(f"/api/products/{product_id}").json()["stock"])


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Every error answer: the given status and exactly the `{"error", "detail"}` shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    # optional: "stock" on an order refusal, "field" naming the body field at fault
    assert set(body) <= {"error", "detail", "stock", "field"}, body
    if "field" in body:
        assert code == "invalid" and isinstance(body["field"], str), body
    return dict(body)


def csrf_of(page: str) -> str:
    """The session's CSRF token, from a console page (login form or data attribute)."""
    match = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(
        r'data-csrf="([^"]+)"', page
    )
    assert match, page[:500]
    return match.group(1)


def log_in(client: TestClient, **form: str) -> Any:
    """Post the console's login form as a browser does (its CSRF token, no admin token)."""
    token = csrf_of(client.get("/host", headers=NO_AUTH).text)
    return client.post(
        "/host/login", data={"csrf": token, **form}, headers=NO_AUTH, follow_redirects=False
    )


def app_client(url: str, timeout: float = 2.0) -> TestClient:
    """A TestClient with the admin token on an app over the Redis at `url`."""
    settings = Settings(
        admin_token=ADMIN_TOKEN, secret_key="s", redis_url=url, store_timeout=timeout
    )
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


# --- HTTP level (async httpx, against a real server) ----------------------------------------


async def make_show_with_products(
    http: Any,
    *,
    stock: int = 10,
    products: int = 1,
    feature: bool = True,
    all_on_sale: bool = False,
    **fields: Any,
) -> tuple[str, list[str], str]:
    """Products and an open show over the host API: (show id, product ids, overlay key).
    The first product is featured (so on sale); `all_on_sale` puts every product on sale."""
    ids = []
    for i in range(products):
        r = await http.post(
            "/api/products", json={"name": f"Honey {i}", "price": 1000, "stock": stock, **fields}
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await http.post("/api/shows", json={"title": "Harvest night", "product_ids": ids})
    assert r.status_code == 201, r.text
    show = r.json()
    assert (await http.post(f"/api/shows/{show['id']}/ordering", json={"open": True})).is_success
    if feature:
        r = await http.post(f"/api/shows/{show['id']}/featured", json={"product_id": ids[0]})
        assert r.is_success, r.text
    for pid in ids if all_on_sale else []:
        r = await http.post(
            f"/api/shows/{show['id']}/on_sale", json={"product_id": pid, "on_sale": True}
        )
        assert r.is_success, r.text
    return show["id"], ids, show["overlay_key"]


# --- images ---------------------------------------------------------------------------------


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny) PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


RED, BLUE = (220, 20, 20), (20, 20, 220)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="30,15.0N"/></rdf:RDF></x:xmpmeta>'
)


def phone_jpeg(width: int = 1600, height: int = 1200, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: the sensor's pixels (left half red, right half blue), an
    orientation tag saying how to turn them, the camera, GPS coordinates and XMP."""
    img = Image.new("RGB", (width, height), BLUE)
    img.paste(RED, (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Pocket 12"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (30.0, 15.0, 7.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (120.0, 9.0, 3.25),
    }
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif, xmp=XMP)
    return out.getvalue()
