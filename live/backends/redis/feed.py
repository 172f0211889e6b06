"""The Redis feed: pub/sub, one connection per process, one channel per show with viewers here.

Pub/sub is at most once: a message published while this process is not subscribed (a dropped
connection, a Redis restart) is gone. So every time the subscription is (re)established, the
hub is told to resync those shows (fresh snapshots to their clients). A subscription can also go
silent without an error (a half-open TCP connection); a probe published to this process's own
channel every `probe_interval` seconds must come back within `probe_timeout`, or the connection
is dropped and made again.

On a Redis Cluster (`redis+cluster://`) the channels are sharded ones (SSUBSCRIBE, SPUBLISH):
they carry the deployment's hash tag, so they live on the shard that holds its keys.

Messages are decoded into `live.events` Structs here, at the edge; a message that does not
decode (a script and this process disagreeing, say during a rolling upgrade) is logged and
treated like a lost event: its show is resynced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from live.backends.base import Deliver, Feed, Resync
from live.backends.redis import connect
from live.backends.redis.errors import REDIS_DOWN
from live.backends.redis.keys import Keys
from live.errors import Unavailable
from live.events import decode_event

log = logging.getLogger("live.feed")

# Seconds one read of the subscription waits for a message before checking the probe.
_READ_WAIT = 0.5


class RedisFeed(Feed):
    def __init__(
        self,
        url: str,
        keys: Keys,
        *,
        probe_interval: float = 2.0,
        probe_timeout: float = 3.0,
        subscribe_timeout: float = 3.0,
        target: connect.Target | None = None,
    ) -> None:
        self._url = url
        self._target = target or connect.parse(url)
        self._sharded = self._target.cluster
        self._keys = keys
        self._prefix = keys.channel("")
        self._probe_channel = keys.probe(uuid.uuid4().hex)
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._subscribe_timeout = subscribe_timeout
        self._shows: set[str] = set()
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._pubsub: Any = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        # When the oldest probe not heard back yet was sent (None: every probe came back).
        self._probe_out: float | None = None
        self.reconnects = 0
        self._background: set[asyncio.Task[None]] = set()
        self._closing = False

    def _client(self) -> aioredis.Redis:
        return connect.client(
            self._target,
            prefix=self._keys.prefix,
            decode_responses=True,
            socket_connect_timeout=2.0,
            socket_timeout=5.0,
            retry=Retry(NoBackoff(), 0),  # we resubscribe and resync ourselves
        )

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="live-feed")
        self._probe_task = asyncio.create_task(self._probe(), name="live-feed-probe")

    # --- subscription management -----------------------------------------------------------

    async def subscribe(self, show_id: str) -> None:
        channel = self._keys.channel(show_id)
        self._shows.add(show_id)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(channel, []).append(waiter)
        try:
            async with asyncio.timeout(self._subscribe_timeout):
                await self._connected.wait()
                await self._join(self._pubsub, channel)
                await waiter
        except (TimeoutError, *REDIS_DOWN) as exc:
            raise Unavailable("the event subscription is not answering") from exc
        finally:
            waiters = self._waiting.get(channel, [])
            if waiter in waiters:
                waiters.remove(waiter)

    async def unsubscribe(self, show_id: str) -> None:
        self._shows.discard(show_id)
        if self._connected.is_set():
            with contextlib.suppress(*REDIS_DOWN):
                channel = self._keys.channel(show_id)
                if self._sharded:
                    await self._pubsub.sunsubscribe(channel)
                else:
                    await self._pubsub.unsubscribe(channel)

    async def _join(self, pubsub: Any, *channels: str) -> None:
        if self._sharded:
            await pubsub.ssubscribe(*channels)
        else:
            await pubsub.subscribe(*channels)

    # --- the connection loop ---------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while not self._closing:
            client = self._client()
            pubsub = client.pubsub()
            try:
                await self._join(pubsub, self._probe_channel)
                shows = set(self._shows)
                if shows:
                    await self._join(pubsub, *(self._keys.channel(s) for s in shows))
                self._pubsub = pubsub
                self._probe_out = None
                self._connected.set()
                if not first:
                    self.reconnects += 1
                    log.warning("event subscription back; resyncing %d show(s)", len(shows))
                    # Events published while we were away are lost: every client starts over.
                    if shows:
                        self._start_resync(shows)
                first = False
                backoff = 0.1
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN as exc:
                if not first and self._connected.is_set() and self.on_down is not None:
                    self.on_down()
                log.warning(
                    "event subscription lost (%s: %s); reconnecting", type(exc).__name__, exc
                )
            finally:
                self._connected.clear()
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _read(self, pubsub: Any) -> None:
        while not self._closing:
            started = time.monotonic()
            message = await pubsub.get_message(timeout=_READ_WAIT)
            late = time.monotonic() - started - _READ_WAIT
            if late > 0 and self._probe_out is not None:
                # This read took longer than its own timeout: the loop was busy elsewhere (a
                # flash sale on a small machine), and under a busy loop the read's timeout can
                # even fire before the data that arrived is read. That time is the loop's, not
                # Redis's: the probe out is given it.
                self._probe_out += late
            if message is None:
                # Nothing waiting on the subscription: a probe sent more than the timeout ago
                # should have been here. Judged only then, from when the probe was sent: a loop
                # too busy to send probes or read them is not a lost subscription.
                sent = self._probe_out
                if sent is not None and time.monotonic() - sent > self._probe_timeout:
                    raise rexc.ConnectionError("the liveness probe did not come back")
                continue
            kind, channel = message["type"], message["channel"]
            if kind in ("subscribe", "ssubscribe"):
                for waiter in self._waiting.pop(channel, []):
                    if not waiter.done():
                        waiter.set_result(None)
            elif kind in ("message", "smessage"):
                if channel == self._probe_channel:
                    self._probe_out = None
                elif channel.startswith(self._prefix):
                    self._on_event(channel[len(self._prefix) :], message["data"])

    def _on_event(self, show_id: str, data: str) -> None:
        if self._deliver is None or show_id not in self._shows:
            return
        try:
            event = decode_event(data)
        except msgspec.DecodeError:  # ValidationError too: an unknown type, a missing field
            log.error("show %s: undecodable event %.200r; resyncing the show", show_id, data)
            self._start_resync({show_id})
            return
        self._deliver(show_id, event)

    def _start_resync(self, shows: set[str]) -> None:
        if self._resync is None:
            return
        task = asyncio.create_task(self._resync(shows))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _probe(self) -> None:
        client = self._client()
        try:
            while not self._closing:
                await asyncio.sleep(self._probe_interval)
                if self._probe_out is None and self._connected.is_set():
                    self._probe_out = time.monotonic()
                with contextlib.suppress(*REDIS_DOWN):
                    if self._sharded:
                        await client.spublish(self._probe_channel, "probe")
                    else:
                        await client.publish(self._probe_channel, "probe")
        finally:
            await client.aclose()

    async def close(self) -> None:
        # redis-py's get_message can swallow a cancellation that lands while its own read
        # timeout fires (the task then reads on, "cancelling" forever). The flag ends the loops
        # whatever happens to the cancel, and cancelling again bounds each wait.
        self._closing = True
        for task in (self._probe_task, self._task):
            if task is None:
                continue
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        self._deliver = None  # the clients' pools were closed for good by the tasks above
