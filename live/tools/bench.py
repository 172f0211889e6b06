"""`live bench store`: orders per second through the store alone, one process, concurrent callers.

It measures the atomic order step (rules, decrement, record, idempotency) without HTTP or
sockets, so it shows what the storage layer can carry. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import asyncio
import platform
import secrets
import statistics
import time
import uuid
from dataclasses import dataclass

from live.backends import Store, open_store
from live.domain import OrderRequest, Product, Show
from live.errors import OrderRefused
from live.tools.devredis import start_redis


@dataclass(frozen=True)
class StoreBenchResult:
    backend: str
    orders: int
    concurrency: int
    seconds: float
    accepted: int
    refused: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    oversold: int

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds

    def line(self) -> str:
        return (
            f"{self.backend:<7} {self.orders:>7} orders  concurrency {self.concurrency:>4}  "
            f"{self.per_second:>9,.0f} orders/s  latency p50 {self.p50_ms:6.2f} ms  "
            f"p95 {self.p95_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"accepted {self.accepted}  refused {self.refused}  oversold {self.oversold}"
        )


def quantile(values: list[float], q: float) -> float:
    """The value below which a fraction q of the values fall (nearest rank); 0 when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run_store_bench(
    store: Store, backend: str, *, orders: int, concurrency: int, stock: int
) -> StoreBenchResult:
    now = time.time()
    product = await store.create_product(
        Product(
            id="bench-p-" + uuid.uuid4().hex[:8],
            name="Bench honey",
            price=100,
            stock=stock,
            created_at=now,
        )
    )
    show = await store.create_show(
        Show(
            id="bench-s-" + uuid.uuid4().hex[:8],
            title="Bench",
            lineup=(product.id,),
            overlay_key=secrets.token_urlsafe(8),
            created_at=now,
        )
    )
    await store.set_ordering(show.id, True)
    await store.set_on_sale(show.id, product.id, True)
    requests = [
        OrderRequest(
            show_id=show.id,
            buyer=f"benchbuyer{i:010d}",
            product_id=product.id,
            qty=1,
            key=f"benchkey{i:08d}",
            order_id=f"bo{uuid.uuid4().hex[:12]}",
            now=now,
        )
        for i in range(orders)
    ]
    latencies: list[float] = []
    accepted = refused = 0
    position = 0

    async def caller() -> None:
        nonlocal accepted, refused, position
        while position < len(requests):
            request = requests[position]
            position += 1
            started = time.perf_counter()
            try:
                await store.place_order(request)
                accepted += 1
            except OrderRefused:
                refused += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    after = await store.get_product(product.id)
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    return StoreBenchResult(
        backend=backend,
        orders=orders,
        concurrency=concurrency,
        seconds=seconds,
        accepted=accepted,
        refused=refused,
        p50_ms=statistics.median(ms) if ms else 0.0,
        p95_ms=quantile(ms, 0.95),
        p99_ms=quantile(ms, 0.99),
        oversold=max(0, after.sold - stock) + max(0, -after.stock),
    )


async def bench_store_main(
    backends: list[str],
    *,
    orders: int,
    concurrency: int,
    stock: int | None,
    redis_url: str | None,
    wait_replicas: int = 0,
    wait_ms: int = 500,
) -> list[StoreBenchResult]:
    """`wait_replicas`: Redis answers each order once that many replicas hold it (WAIT); with
    a throwaway redis-server, as many throwaway replicas are started beside it."""
    print(
        f"# live bench store — {platform.node()} · Python {platform.python_version()} · "
        f"{orders} orders, {concurrency} concurrent callers, one process",
        flush=True,
    )
    results = []
    for backend in backends:
        server = None
        replicas = []
        url = None
        if backend == "redis":
            url = redis_url
            if not url:
                server = start_redis()
                url = server.unix_url
                print(f"  (started a throwaway redis-server at {url})", flush=True)
                for _ in range(wait_replicas):
                    replicas.append(start_redis(None, "--replicaof", "127.0.0.1", str(server.port)))
                if replicas:
                    print(f"  (and {len(replicas)} throwaway replica(s))", flush=True)
                    await _replicas_linked(server.tcp_url, len(replicas))
        store = open_store(
            url,
            prefix="bench" + uuid.uuid4().hex[:6],
            pool_size=max(16, min(concurrency, 128)),
            wait_replicas=wait_replicas if backend == "redis" else 0,
            wait_ms=wait_ms,
        )
        try:
            result = await run_store_bench(
                store,
                backend,
                orders=orders,
                concurrency=concurrency,
                stock=orders if stock is None else stock,
            )
        finally:
            await store.close()
            if server is not None:
                server.discard()
            for replica in replicas:
                replica.discard()
        print(result.line(), flush=True)
        results.append(result)
    return results


async def _replicas_linked(url: str, count: int, within: float = 10.0) -> None:
    """Wait until `count` replicas have synced with the primary at `url`."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            info = await client.info("replication")
            online = [v for k, v in info.items() if k.startswith("slave") and "online" in str(v)]
            if len(online) >= count:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{count} replica(s) did not sync within {within} s")
    finally:
        await client.aclose()
