"""Where a deployment's Redis is: one server, a Sentinel-watched primary, or a Cluster's shard.

`LIVE_REDIS_URL` forms (docs/operations.md):

- `redis://`, `rediss://`, `unix://`: one server (redis-py's own URL form).
- `redis+sentinel://[[user]:password@]host:port,host:port,.../service[?db=0]`: the primary that
  the Sentinels at these addresses name for `service`. Every new connection asks a Sentinel
  where the primary is, so after a failover the pool reaches the promoted replica; a
  connection still open to a demoted primary turns READONLY into a lost connection.
- `redis+cluster://[[user]:password@]host:port,host:port,...`: a Redis Cluster. Every key of a
  deployment carries one hash tag (its prefix, see `Keys`), so the deployment lives in one
  slot: its connections go to the primary owning that slot (asked of the seed nodes at every
  new connection), where scripts, MULTI and sharded pub/sub all work as on one server. A MOVED
  reply (the slot moved, or a replica took over) drops the connection so the next one asks
  again.

The password in the URL is the data nodes' (Sentinels without a password are the usual set-up;
`?sentinel_password=` gives theirs).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.connection import Connection
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.crc import key_slot

PLAIN_SCHEMES = ("redis://", "rediss://", "unix://")
SENTINEL_SCHEME = "redis+sentinel://"
CLUSTER_SCHEME = "redis+cluster://"
SCHEMES = (*PLAIN_SCHEMES, SENTINEL_SCHEME, CLUSTER_SCHEME)


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed `LIVE_REDIS_URL`."""

    url: str
    mode: str  # "plain", "sentinel" or "cluster"
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    @property
    def cluster(self) -> bool:
        return self.mode == "cluster"


def parse(url: str) -> Target:
    """The target `url` names; `ValueError` with what is wrong otherwise."""
    if url.startswith(PLAIN_SCHEMES):
        return Target(url, "plain")
    if not url.startswith((SENTINEL_SCHEME, CLUSTER_SCHEME)):
        raise ValueError(
            f"LIVE_REDIS_URL must start with redis://, rediss:// or unix:// "
            f"(or redis+sentinel://, redis+cluster://): {url!r}"
        )
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, _, secret = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(secret) or None
    nodes = tuple(_node(n, url) for n in hostlist.split(",") if n)
    if not nodes:
        raise ValueError(f"LIVE_REDIS_URL names no host: {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "redis+cluster":
        if parts.path.strip("/"):
            raise ValueError("a Redis Cluster has one database: no path after the hosts")
        return Target(url, "cluster", nodes, username=username, password=password)
    service = parts.path.strip("/")
    if not service:
        raise ValueError(f"a Sentinel URL names the primary's service after the hosts: {url!r}")
    try:
        db = int(query.get("db", "0"))
    except ValueError:
        raise ValueError(f"db must be a number: {url!r}") from None
    return Target(
        url,
        "sentinel",
        nodes,
        service=service,
        db=db,
        username=username,
        password=password,
        sentinel_password=query.get("sentinel_password") or None,
    )


def _node(text: str, url: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"every host needs a port (host:port): {text!r} in {url!r}")
    return host.strip("[]"), int(port)


def tagged_prefix(prefix: str) -> str:
    """The key prefix a cluster deployment uses: a prefix without a hash tag is tagged whole
    (`coop1` -> `{coop1}`), so every key of the deployment hashes to one slot."""
    if "{" in prefix and "}" in prefix.split("{", 1)[1]:
        return prefix
    return "{" + prefix + "}"


def make_pool(target: Target, *, prefix: str, max_connections: int, **options: Any) -> Any:
    """A connection pool for `target` (redis-py's pool classes); `options` are connection
    options (timeouts, decode_responses, retry, ...)."""
    if target.mode == "plain":
        return ClosingPool.from_url(target.url, max_connections=max_connections, **options)
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    if target.mode == "sentinel":
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(target.nodes),
            sentinel_kwargs={
                "password": target.sentinel_password,
                "socket_timeout": options.get("socket_connect_timeout", 1.0),
                "socket_connect_timeout": options.get("socket_connect_timeout", 1.0),
            },
        )
        # Not a blocking pool (redis-py has no blocking Sentinel pool): callers are already
        # queued by the store's own semaphore, sized to the pool.
        return _SentinelPool(  # type: ignore[no-untyped-call]
            target.service,
            sentinel,
            max_connections=max_connections,
            db=target.db,
            **auth,
            **options,
        )
    return ClosingPool(
        connection_class=SlotOwnerConnection,
        max_connections=max_connections,
        seeds=target.nodes,
        slot=key_slot(prefix.encode()),
        **auth,
        **options,
    )


def client(target: Target, *, prefix: str, **options: Any) -> aioredis.Redis:
    """A client with a small pool of its own (the event feed's pub/sub and probe); its
    `aclose()` closes the pool for good."""
    pool = make_pool(target, prefix=prefix, max_connections=4, **options)
    return aioredis.Redis.from_pool(pool)


class Closing:
    """A pool that lends no connection once closed. redis-py's pools only disconnect the
    connections they hold when closed, and connect them again (or new ones) for the next
    command: a step still running after its store closed (a task nobody cancelled, a resync
    started by the feed) would open a socket nobody closes. After `aclose()` it gets a
    ConnectionError (the store says `unavailable`). A connection whose connect was in flight at
    the first sweep is caught by a second one a few loop turns later."""

    closed = False

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if self.closed:
            raise rexc.ConnectionError("the store is closed")
        return await super().get_connection(*args, **kwargs)  # type: ignore[misc]

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()  # type: ignore[misc]
        for _ in range(3):  # connections dropped without waiting close in the next turns
            await asyncio.sleep(0)
        await self.disconnect()  # type: ignore[attr-defined]


class ClosingPool(Closing, aioredis.BlockingConnectionPool):
    """redis-py's blocking pool, closable for good."""


class _SentinelPool(Closing, SentinelConnectionPool):
    """redis-py's Sentinel pool, which also closes its connections to the Sentinels when it
    is closed for good (not when it drops its connections to a primary that was replaced)."""

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.aclose()


class SlotOwnerConnection(Connection):
    """A connection to the primary that owns one slot of a Redis Cluster, found at connect."""

    def __init__(self, *, seeds: tuple[tuple[str, int], ...], slot: int, **kwargs: Any) -> None:
        self._seeds = seeds
        self._slot = slot
        super().__init__(**kwargs)

    async def connect(self) -> None:
        if not self.is_connected:
            self.host, self.port = await self._owner()
        await super().connect()  # type: ignore[no-untyped-call]

    async def _owner(self) -> tuple[str, int]:
        errors: list[str] = []
        for host, port in self._seeds:
            seed = Connection(
                host=host,
                port=port,
                username=self.username,
                password=self.password,
                socket_connect_timeout=self.socket_connect_timeout,
                socket_timeout=self.socket_connect_timeout,
            )
            try:
                await seed.connect()  # type: ignore[no-untyped-call]
                await seed.send_command("CLUSTER", "SLOTS")
                ranges = await seed.read_response()
            except (TimeoutError, rexc.RedisError, OSError) as exc:
                errors.append(f"{host}:{port}: {type(exc).__name__}")
                continue
            finally:
                with contextlib.suppress(Exception):
                    await seed.disconnect()
            for first, last, primary, *_ in ranges:
                if int(first) <= self._slot <= int(last):
                    address = primary[0].decode() if isinstance(primary[0], bytes) else primary[0]
                    return address or host, int(primary[1])
            errors.append(f"{host}:{port}: slot {self._slot} is not served")
        raise rexc.ConnectionError("no cluster node named the slot's primary: " + "; ".join(errors))

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except rexc.ResponseError as exc:
            if str(exc).startswith("MOVED"):
                # The slot has a new owner: the next connection asks the cluster again.
                await self.disconnect()
                raise rexc.ConnectionError(f"the deployment's slot moved: {exc}") from exc
            raise
