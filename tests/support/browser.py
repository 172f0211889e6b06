"""Real Chromium for the browser suites (Playwright, Debian's chromium), a phone's viewport,
where screenshots go, and the show those suites set up over the host API of a `Live` server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.live_process import TOKEN, Live

CHROMIUM = "/usr/lib/chromium/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def need_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium fonts-noto-cjk)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright; never `playwright install`)")
    if missing:
        if os.environ.get("LIVE_NO_SKIPS") == "1":
            pytest.fail("missing: " + ", ".join(missing), pytrace=False)
        pytest.skip("missing: " + ", ".join(missing))


async def setup_show(live: Live, *, stock: int = 3) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        honey = (
            await c.post(
                "/api/products",
                json={
                    "name": "野生蜂蜜 Wild honey",
                    "price": 8800,
                    "stock": stock,
                    "unit": "jar",
                    "producer": "赵阿姨 Auntie Zhao",
                    "limit_per_buyer": 5,
                    "description": "From hives on the mountain edge; raw and unfiltered.",
                },
            )
        ).json()
        shoes = (
            await c.post(
                "/api/products",
                json={
                    "name": "手工绣花鞋 Embroidered shoes",
                    "price": 16800,
                    "stock": 20,
                    "unit": "pair",
                    "producer": "Auntie Zhao's workshop",
                },
            )
        ).json()
        show = (
            await c.post(
                "/api/shows",
                json={"title": "丰收夜 Harvest night", "product_ids": [honey["id"], shoes["id"]]},
            )
        ).json()
        await c.post(f"/api/shows/{show['id']}/ordering", json={"open": True})
        await c.post(f"/api/shows/{show['id']}/featured", json={"product_id": honey["id"]})
    return {"show": show, "honey": honey, "shoes": shoes}


async def host(live: Live, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(
        base_url=live.base, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        r = await c.request(method, path, json=body)
        assert r.status_code < 300, r.text
        return r.json()
