"""Small builders shared by the tests."""

from __future__ import annotations

import secrets
import time

from live.backends import Store
from live.domain import Deal, OrderRequest, Product, Show


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


def buyer_token() -> str:
    return "b" + secrets.token_hex(10)


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


def order(
    show: Show,
    product: Product,
    *,
    buyer: str | None = None,
    qty: int = 1,
    key: str | None = None,
    now: float | None = None,
) -> OrderRequest:
    return OrderRequest(
        show_id=show.id,
        buyer=buyer or buyer_token(),
        product_id=product.id,
        qty=qty,
        key=key or secrets.token_hex(8),
        order_id=new_id("o"),
        now=time.time() if now is None else now,
    )


def deal(price: int, seconds: float = 60) -> Deal:
    return Deal(price=price, ends_at=time.time() + seconds)
