"""Response headers: HSTS behind https, a narrow Content-Security-Policy, and trailing-slash
redirects that name LIVE_PUBLIC_URL, never the Host header (issue 10, finding 11)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from live.app import create_app
from live.config import Settings, settings_from_env
from tests.support.live_process import TOKEN, serve

SETTINGS = Settings(admin_token="headers-test-token-0123456789", secret_key="s")


def directives(csp: str) -> dict[str, list[str]]:
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


def test_the_policy_names_this_origin_for_sockets_and_the_photo_hosts_for_images() -> None:
    settings = SETTINGS.with_overrides(
        public_url="https://live.example.org", photo_hosts=("https://cdn.example.org",)
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/", "/healthz", "/host", "/api/products", "/no/such/page"):
            csp = directives(client.get(path).headers["content-security-policy"])
            assert csp["connect-src"] == ["'self'", "wss://live.example.org"], path
            assert csp["img-src"] == ["'self'", "data:", "https://cdn.example.org"], path
            assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
            for values in csp.values():  # no scheme-wide sources (ws:, https:, http:)
                assert not {"ws:", "wss:", "http:", "https:"} & set(values), csp
    with TestClient(create_app(SETTINGS)) as client:  # plain http on 127.0.0.1:8000
        csp = directives(client.get("/").headers["content-security-policy"])
        assert csp["connect-src"] == ["'self'", "ws://127.0.0.1:8000"]
        assert csp["img-src"] == ["'self'", "data:"]


def test_hsts_only_when_the_public_url_is_https() -> None:
    with TestClient(
        create_app(SETTINGS.with_overrides(public_url="https://live.example.org"))
    ) as c:
        assert c.get("/").headers["strict-transport-security"] == "max-age=31536000"
        assert c.get("/api/products").headers["strict-transport-security"]
    with TestClient(create_app(SETTINGS.with_overrides(public_url="http://10.0.0.5:8000"))) as c:
        assert "strict-transport-security" not in c.get("/").headers


def test_photo_hosts_must_be_origins() -> None:
    got = settings_from_env({"LIVE_PHOTO_HOSTS": "https://cdn.example.org/, http://10.0.0.9:8080"})
    assert got.photo_hosts == ("https://cdn.example.org", "http://10.0.0.9:8080")
    for bad in ("cdn.example.org", "https://cdn.example.org/photos", "javascript:x", "*"):
        with pytest.raises(SystemExit, match="LIVE_PHOTO_HOSTS"):
            settings_from_env({"LIVE_PHOTO_HOSTS": bad})


def test_a_trailing_slash_redirect_names_the_public_url_not_the_host_header() -> None:
    settings = SETTINGS.with_overrides(public_url="https://live.example.org")
    with TestClient(create_app(settings)) as client:
        evil = {"Host": "evil.example.com"}
        r = client.get("/host/", headers=evil, follow_redirects=False)
        assert r.status_code == 307
        assert r.headers["location"] == "https://live.example.org/host"
        r = client.get("/s/abc/?lang=en", headers=evil, follow_redirects=False)
        assert r.headers["location"] == "https://live.example.org/s/abc?lang=en"
        r = client.get("/api/products/", headers=evil, follow_redirects=False)
        assert r.headers["location"] == "https://live.example.org/api/products"
        # Nothing there either way: a plain 404, no Location.
        r = client.get("/nothing/here/", headers=evil, follow_redirects=False)
        assert r.status_code == 404 and "location" not in r.headers
        assert client.get("/", headers=evil).status_code == 200


async def test_chromium_runs_the_pages_under_the_policy(browser: Any) -> None:
    """The buy page's socket still connects, a photo from a named host is allowed, one from
    anywhere else is refused by the browser."""
    allowed, other = "http://127.0.0.9:9", "http://127.0.0.10:9"
    with serve(LIVE_PHOTO_HOSTS=allowed) as server:
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            ids = []
            for name, host in (("Allowed honey", allowed), ("Elsewhere tea", other)):
                r = await http.post(
                    "/api/products",
                    json={"name": name, "price": 100, "stock": 5, "image_url": f"{host}/p.jpg"},
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            show = (await http.post("/api/shows", json={"title": "T", "product_ids": ids})).json()
            await http.post(f"/api/shows/{show['id']}/ordering", json={"open": True})
            await http.post(f"/api/shows/{show['id']}/featured", json={"product_id": ids[0]})

            page = await browser.new_page()
            refused: list[str] = []
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            await page.goto(f"{server.base}/s/{show['id']}")
            await page.get_by_text("Allowed honey").first.wait_for(timeout=10_000)
            await asyncio.sleep(0.5)
            assert not refused, refused
            # A change over the socket (connect-src) brings the other product and its photo.
            await http.post(f"/api/shows/{show['id']}/featured", json={"product_id": ids[1]})
            await page.get_by_text("Elsewhere tea").first.wait_for(timeout=10_000)
            for _ in range(50):
                if refused:
                    break
                await asyncio.sleep(0.1)
            assert refused and all("127.0.0.10" in text for text in refused), refused
            await page.close()
