"""Socket-test tools: a viewer that follows docs/protocol.md, frames, raw sockets that never
read, and small HTTP calls the socket suites share."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.helpers import buyer, key, make_show_with_products
from tests.support.live_server import receive, receive_until

DISCRETE = {"featured", "on_sale", "ordering", "deal", "product", "show_ended"}


CHANGES = DISCRETE | {"stock", "sale"}


async def on_sale_show(http: httpx.AsyncClient, **options: Any) -> tuple[str, list[str], str]:
    """Every product on sale, none featured (this file's scenarios count on that)."""
    return await make_show_with_products(http, feature=False, all_on_sale=True, **options)


def order_frame(product_id: str, qty: int = 1, k: str | None = None) -> str:
    return json.dumps({"type": "order", "product_id": product_id, "qty": qty, "key": k or key()})


async def http_order(
    http: httpx.AsyncClient, sid: str, pid: str, *, who: str | None = None, k: str | None = None
) -> httpx.Response:
    return await http.post(
        f"/api/shows/{sid}/orders",
        headers={"X-Buyer": who or buyer()},
        json={"product_id": pid, "qty": 1, "key": k or key()},
    )


async def public_state(http: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    r = await http.get(f"/api/shows/{sid}/state")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def stats(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/api/stats")).json())


async def drain(
    ws: ClientConnection, quiet: float = 0.7, limit: float = 10.0, closed_ok: bool = False
) -> list[dict[str, Any]]:
    """Everything the socket sends until it stays quiet for `quiet` seconds (or closes, when
    `closed_ok`)."""
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            out.append(await receive(ws, quiet))
        except TimeoutError:
            return out
        except ConnectionClosed:
            if closed_ok:
                return out
            raise
    raise AssertionError(f"the socket never went quiet; last messages {out[-3:]}")


async def close_code(ws: ClientConnection, timeout: float = 3.0) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as info:
        await receive_until(ws, lambda m: False, timeout)
    return info.value.rcvd.code if info.value.rcvd is not None else None


class Viewer:
    """A client following the docs: snapshot, latest-value stock, linked discrete events."""

    def __init__(self) -> None:
        self.seq = -1
        self.event_seq = -1
        self.show: dict[str, Any] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.snapshots = 0
        self.gaps: list[tuple[int, int, int]] = []  # (seq, prev, our event_seq)
        self.seq_problems: list[dict[str, Any]] = []
        self.base = -1  # seq of the latest snapshot

    def apply(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == "snapshot":
            self.snapshots += 1
            self.base = self.seq = m["seq"]
            self.event_seq = m["event_seq"]
            self.show = dict(m["show"])
            self.products = {p["id"]: dict(p) for p in m["products"]}
            return
        if kind in CHANGES and m["seq"] <= self.base:
            self.seq_problems.append(m)
        if kind == "stock":
            p = self.products[m["product_id"]]
            if m["version"] > p["version"]:
                p.update(stock=m["stock"], sold=m["sold"], version=m["version"])
        elif kind in DISCRETE:
            if m["seq"] <= self.event_seq:
                return
            if m["prev"] != self.event_seq:
                self.gaps.append((m["seq"], m["prev"], self.event_seq))
            self._discrete(m)
            self.event_seq = m["seq"]
        if kind in CHANGES:
            self.seq = max(self.seq, m["seq"])

    def _discrete(self, m: dict[str, Any]) -> None:
        kind, products = m["type"], self.products
        if kind == "featured":
            self.show["featured_product_id"] = m["product_id"]
            if m["product_id"]:
                products[m["product_id"]]["on_sale"] = True
        elif kind == "on_sale":
            products[m["product_id"]]["on_sale"] = m["on_sale"]
        elif kind == "ordering":
            self.show["ordering_open"] = m["open"]
            if not m["open"]:
                for p in products.values():
                    p["on_sale"] = False
        elif kind == "deal":
            p = products[m["product_id"]]
            if m["deal_price"] is None:
                p.pop("deal_price", None)
                p.pop("deal_ends_at", None)
            else:
                p.update(deal_price=m["deal_price"], deal_ends_at=m["deal_ends_at"])
        elif kind == "product":
            old = products[m["product"]["id"]]
            # docs/protocol.md: the event's on_sale and deal fields replace the old ones
            kept = {k: v for k, v in old.items() if k not in ("deal_price", "deal_ends_at")}
            merged = {**kept, **m["product"]}
            if m["product"]["version"] < old["version"]:
                merged.update(stock=old["stock"], sold=old["sold"], version=old["version"])
            merged.pop("created_at", None)
            products[old["id"]] = merged
        elif kind == "show_ended":
            self.show.update(ended=True, ordering_open=False, featured_product_id=None)
            for p in products.values():
                p["on_sale"] = False

    def view(self) -> dict[str, Any]:
        return {"show": self.show, "products": self.products}


def truth(state: dict[str, Any]) -> dict[str, Any]:
    return {"show": state["show"], "products": {p["id"]: p for p in state["products"]}}


def raw_socket(port: int, path: str, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket client that does the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.settimeout(3)
    head = b""
    while b"\r\n\r\n" not in head:  # the 101 answer; frames sent before it may be dropped
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    sock.setblocking(False)
    return sock


def masked_text_frame(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 126
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    )
