"""`live serve` and `live demo` as a user starts them: real processes, real HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from live.tools.devredis import RedisServer, free_port
from tests.support.live_process import LIVE, TOKEN, Server, env


@pytest.fixture
def redis_serve(redis_server: RedisServer) -> Iterator[Server]:
    server = Server(
        ["serve"],
        env(
            LIVE_REDIS_URL=redis_server.unix_url,
            LIVE_ADMIN_TOKEN=TOKEN,
            LIVE_REDIS_PREFIX=f"cli{free_port()}",
        ),
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def messages(raw: str | bytes) -> list[dict[str, Any]]:
    """A server frame's messages: one, or a JSON array of them in order."""
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]


def test_memory_store_refuses_several_workers() -> None:
    r = subprocess.run(
        [LIVE, "serve", "--workers", "2", "--port", str(free_port())],
        env=env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    assert "LIVE_REDIS_URL" in r.stderr and "--workers 2" in r.stderr


def test_curl_walkthrough_against_live_serve_on_redis(redis_serve: Server) -> None:
    """The README's walk-through: products, show, feature, order, list JSON/CSV, cancel."""
    h = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=redis_serve.base, headers=h, timeout=5) as c:
        honey = c.post(
            "/api/products",
            json={
                "name": "Wild honey",
                "price": 8800,
                "stock": 40,
                "unit": "jar",
                "producer": "Auntie Zhao",
            },
        ).json()
        show = c.post(
            "/api/shows", json={"title": "Harvest night", "product_ids": [honey["id"]]}
        ).json()
        sid = show["id"]
        assert show["viewer_url"] == f"{redis_serve.base}/s/{sid}?lang=zh-CN"
        assert c.post(f"/api/shows/{sid}/ordering", json={"open": True}).status_code == 200
        assert (
            c.post(f"/api/shows/{sid}/featured", json={"product_id": honey["id"]}).status_code
            == 200
        )
        tap = {"product_id": honey["id"], "qty": 2, "key": "tap-12345678"}
        buyer = {"X-Buyer": "phone-0123456789abcdef"}
        first = httpx.post(f"{redis_serve.base}/api/shows/{sid}/orders", json=tap, headers=buyer)
        repeat = httpx.post(f"{redis_serve.base}/api/shows/{sid}/orders", json=tap, headers=buyer)
        assert (first.status_code, repeat.status_code) == (201, 200)
        assert repeat.json()["id"] == first.json()["id"]
        assert c.get(f"/api/products/{honey['id']}").json()["stock"] == 38
        orders = c.get(f"/api/shows/{sid}/orders").json()["orders"]
        assert [o["id"] for o in orders] == [first.json()["id"]]
        csv_text = c.get(f"/api/shows/{sid}/orders", params={"format": "csv"}).text
        assert csv_text.splitlines()[0].startswith("\ufeffid,") and first.json()["id"] in csv_text
        assert c.post(f"/api/orders/{first.json()['id']}/cancel").json()["status"] == "cancelled"
        assert c.get(f"/api/products/{honey['id']}").json()["stock"] == 40
        assert httpx.get(f"{redis_serve.base}/api/products").status_code == 401
    log = redis_serve.stop()
    assert "store: redis unix://" in log and "Sunlit Live" in log


DEMO_LINKS = r"^\s+(host console|buy page|short link|overlay \(OBS\)|host API)\s*: (\S+)"


def demo_output(server: Server) -> str:
    """What `live demo` prints up to its admin token line."""
    deadline = time.monotonic() + 10
    assert server.proc.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline and not any("admin token  :" in x for x in lines):
        lines.append(server.proc.stdout.readline())
    return "".join(lines)


def test_demo_prints_urls_that_answer() -> None:
    server = Server(["demo", "--bots", "3"], env(), pipe=True)
    try:
        server.wait_ready()
        text = demo_output(server)
        token = re.search(r"admin token  : (\S+)", text)
        assert token, text
        urls = dict(re.findall(DEMO_LINKS, text, re.M))
        assert set(urls) == {"host console", "buy page", "short link", "overlay (OBS)", "host API"}
        for name in ("host console", "buy page", "short link", "overlay (OBS)"):
            assert httpx.get(urls[name], timeout=5, follow_redirects=True).status_code == 200, name
        # the co-op's language (LIVE_LANG, zh-CN by default) rides on every page link: OBS
        # would otherwise show English
        for name in ("host console", "buy page", "overlay (OBS)"):
            assert urls[name].endswith("lang=zh-CN"), (name, urls[name])
        assert "--lan" not in text  # no --lan: nothing to warn about
        api = httpx.get(
            urls["host API"], headers={"Authorization": f"Bearer {token.group(1)}"}
        ).json()
        assert api["ordering_open"] is True and api["featured_product_id"]
        assert len({p["producer"] for p in api["products"]}) == 3 and len(api["products"]) >= 6
    finally:
        server.stop()


def test_demo_lan_puts_the_machines_lan_address_in_every_link() -> None:
    """`live demo --lan`: listens on every interface, and the printed links (and so the QR
    code) use this machine's LAN address, with a warning that it is plain HTTP."""
    from live.lan import lan_address

    address = lan_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    server = Server(["demo", "--lan"], env(LIVE_LANG="en"), pipe=True)
    try:
        server.wait_ready()
        text = demo_output(server)
        base = f"http://{address}:{server.port}"
        assert f"WARNING --lan: listening on 0.0.0.0:{server.port}" in text, text
        assert f"phones on this network open {base}" in text
        assert "plain HTTP on the local network" in text and "Not for a public sale" in text
        urls = dict(re.findall(DEMO_LINKS, text, re.M))
        assert len(urls) == 5 and all(u.startswith(f"{base}/") for u in urls.values()), urls
        assert urls["buy page"].endswith("?lang=en") and urls["overlay (OBS)"].endswith("&lang=en")
        # reached the way a phone would: on the LAN address, not on 127.0.0.1
        short = httpx.get(urls["short link"], timeout=5)
        assert short.status_code == 302
        assert httpx.get(urls["overlay (OBS)"], timeout=5).status_code == 200
        sid = urls["buy page"].split("/s/", 1)[1].split("?", 1)[0]
        qr = httpx.get(f"{base}/api/shows/{sid}/qr.svg", timeout=5)
        assert qr.status_code == 200 and qr.text.startswith("<svg")
    finally:
        server.stop()


def test_demo_lan_keeps_an_explicit_public_url() -> None:
    server = Server(["demo", "--lan"], env(LIVE_PUBLIC_URL="https://live.example.org"), pipe=True)
    try:
        server.wait_ready()
        text = demo_output(server)
        assert (
            "WARNING --lan" in text
            and "phones on this network open https://live.example.org" in text
        )
        urls = dict(re.findall(DEMO_LINKS, text, re.M))
        assert all(u.startswith("https://live.example.org/") for u in urls.values()), urls
    finally:
        server.stop()


def test_lan_address_choice() -> None:
    """The address the routing table picks, unless it is loopback or link-local; then the
    hostname's addresses, a private network's first; never 127.x."""
    from live.lan import choose, lan_address, usable

    assert choose(["192.168.1.23"], ["10.0.0.7"]) == "192.168.1.23"
    assert choose(["127.0.1.1", "10.0.0.7"], []) == "10.0.0.7"
    assert choose([], ["127.0.0.1", "169.254.3.4", "93.184.216.34", "192.168.1.23"]) == (
        "192.168.1.23"
    )
    assert choose([], ["127.0.0.1", "93.184.216.34"]) == "93.184.216.34"
    assert choose(["127.0.0.1", "0.0.0.0"], ["127.0.1.1", "::1", "fe80::1", "nonsense"]) is None
    assert not usable("224.0.0.1") and not usable("127.8.8.8") and usable("172.16.4.2")
    # the hostname is asked only when the route probe finds nothing usable
    asked: list[str] = []

    def named() -> list[str]:
        asked.append("hostname")
        return ["192.168.0.9"]

    assert lan_address(lambda: ["10.1.2.3"], named) == "10.1.2.3" and asked == []
    assert lan_address(lambda: [], named) == "192.168.0.9" and asked == ["hostname"]
    assert lan_address(lambda: ["127.0.0.1"], lambda: ["127.0.1.1"]) is None
    # and on this machine, for real: nothing, or an address another device could reach
    found = lan_address()
    assert found is None or (usable(found) and not found.startswith("127."))


def test_demo_lan_without_a_network_says_what_to_do(tmp_path: Path) -> None:
    """No LAN address (only loopback): a clear message and exit code 2, no server."""
    # a sitecustomize that makes the machine look unplugged, in the child process only
    (tmp_path / "sitecustomize.py").write_text(
        "import live.lan\n"
        "live.lan.routed_addresses = lambda: []\n"
        "live.lan.hostname_addresses = lambda: ['127.0.1.1']\n"
    )
    r = subprocess.run(
        [LIVE, "demo", "--lan", "--port", str(free_port())],
        env=env(PYTHONPATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no address on a local network" in r.stderr and "LIVE_PUBLIC_URL" in r.stderr


def test_two_workers_share_one_redis(redis_server: RedisServer) -> None:
    server = Server(
        ["serve", "--workers", "2"],
        env(
            LIVE_REDIS_URL=redis_server.unix_url,
            LIVE_ADMIN_TOKEN=TOKEN,
            LIVE_REDIS_PREFIX=f"w{free_port()}",
        ),
    )
    try:
        server.wait_ready(timeout=30)
        h = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.base, headers=h, timeout=5) as c:
            p = c.post("/api/products", json={"name": "Shoes", "price": 100, "stock": 30}).json()
            sid = c.post("/api/shows", json={"title": "t", "product_ids": [p["id"]]}).json()["id"]
            c.post(f"/api/shows/{sid}/ordering", json={"open": True})
            c.post(f"/api/shows/{sid}/featured", json={"product_id": p["id"]})
            codes = [
                httpx.post(
                    f"{server.base}/api/shows/{sid}/orders",
                    json={"product_id": p["id"], "qty": 1, "key": f"key-{i:06d}"},
                    headers={"X-Buyer": f"buyer-{i:012d}"},
                ).status_code
                for i in range(40)
            ]
            assert codes.count(201) == 30 and codes.count(409) == 10
            final = c.get(f"/api/products/{p['id']}").json()
            assert (final["stock"], final["sold"]) == (0, 30)
    finally:
        out = server.stop()
    assert out.count("Application startup complete") == 2, out


async def test_two_processes_share_a_show_and_every_viewer_sees_the_final_stock(
    redis_server: RedisServer,
) -> None:
    """Two real `live serve` processes on one Redis; viewers and buyers on both."""
    import asyncio

    from websockets.asyncio.client import connect

    environ = env(
        LIVE_REDIS_URL=redis_server.unix_url,
        LIVE_ADMIN_TOKEN=TOKEN,
        LIVE_REDIS_PREFIX=f"two{free_port()}",
    )
    servers = [Server(["serve"], environ), Server(["serve"], environ)]
    try:
        for server in servers:
            server.wait_ready()
        a = servers[0]
        h = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=a.base, headers=h, timeout=10) as http:
            pid = (
                await http.post("/api/products", json={"name": "Honey", "price": 100, "stock": 60})
            ).json()["id"]
            sid = (await http.post("/api/shows", json={"title": "t", "product_ids": [pid]})).json()[
                "id"
            ]
            await http.post(f"/api/shows/{sid}/ordering", json={"open": True})
            await http.post(f"/api/shows/{sid}/featured", json={"product_id": pid})

            def url(server: Server, i: int) -> str:
                return f"ws://127.0.0.1:{server.port}/ws/shows/{sid}?buyer=viewer-{i:011d}-{server.port}"

            viewers = [await connect(url(servers[i % 2], i)) for i in range(40)]
            try:
                for ws in viewers:
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "snapshot"

                latest: dict[int, int] = {}  # viewer -> newest stock seen

                def note(i: int, m: dict[str, int]) -> None:
                    if m["type"] == "stock":
                        latest[i] = min(latest.get(i, 60), m["stock"])

                async def buy(ws: object, i: int, n: int) -> bool:
                    await ws.send(
                        json.dumps(
                            {"type": "order", "product_id": pid, "qty": 1, "key": f"key-{n:08d}"}
                        )
                    )  # type: ignore[attr-defined]
                    while True:
                        raw = await asyncio.wait_for(ws.recv(), 10)  # type: ignore[attr-defined]
                        for m in messages(raw):
                            note(i, m)
                            if m["type"] == "order_result":
                                return bool(m["ok"])

                # every viewer taps twice: 80 taps on two processes against stock 60
                results = await asyncio.gather(*(buy(ws, i, i) for i, ws in enumerate(viewers)))
                results += await asyncio.gather(
                    *(buy(ws, i, 100 + i) for i, ws in enumerate(viewers))
                )
                assert sum(results) == 60

                async def final_stock(ws: object, i: int) -> int:
                    while latest.get(i) != 0:
                        raw = await asyncio.wait_for(ws.recv(), 5)  # type: ignore[attr-defined]
                        for m in messages(raw):
                            note(i, m)
                    return latest[i]

                finals = await asyncio.gather(*(final_stock(ws, i) for i, ws in enumerate(viewers)))
                assert finals == [0] * 40
            finally:
                for ws in viewers:
                    await ws.close()
            product = (await http.get(f"/api/products/{pid}")).json()
            assert (product["stock"], product["sold"]) == (0, 60)
            assert len((await http.get(f"/api/shows/{sid}/orders")).json()["orders"]) == 60
    finally:
        for server in servers:
            server.stop()


def bench(args: str) -> subprocess.CompletedProcess[str]:
    """`live bench <args>`, run as a user would; it must exit 0."""
    done = subprocess.run(
        [LIVE, "bench", *args.split()], env=env(), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bench_commands_run_and_report_no_oversell() -> None:
    """Smoke runs of the benchmarks (figures are printed, not asserted)."""
    store = bench("store --backend memory --orders 300 --concurrency 20 --stock 100")
    assert "accepted 100  refused 200  oversold 0" in store.stdout
    out = bench("sale --viewers 60 --stock 20 --procs 1 --fanout-seconds 0.5").stdout
    assert "accepted 20, sold_out 40, busy 0, unavailable 0" in out and "oversold 0" in out
    assert "unanswered 0" in out and "60/60 viewers hold it" in out
    assert "orders in the store 20, accepted answers 20" in out
    assert "per idle connection" in out and "messages received" in out


@pytest.mark.redis
def test_bench_sale_on_redis_reports_the_work_of_redis() -> None:
    """On Redis the sale also prints what Redis did over it (the capacity model's figures)."""
    out = bench("sale --backend redis --viewers 30 --stock 10 --procs 1 --fanout-seconds 0").stdout
    assert "accepted 10, sold_out 20, busy 0, unavailable 0" in out
    work = re.search(r"redis +over the sale: ([\d,]+) order scripts, ([\d,]+) events", out)
    assert work is not None, out
    # At least one script per accepted order, each publishing its event; far fewer than the
    # 30 taps (the parked ones are answered sold_out in the process).
    scripts, published = (int(g.replace(",", "")) for g in work.groups())
    assert 10 <= scripts < 30 and published >= 10
