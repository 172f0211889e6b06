"""Prometheus metrics of one process: `GET /metrics` (docs/operations.md, "Metrics").

Each app has its own registry (tests build many apps in one process). With `live serve
--workers N` every worker keeps its own figures and a scrape is answered by whichever worker
took the connection: scrape processes one by one (one worker per process or container, as the
compose file runs them) when the figures matter. prometheus-client's multiprocess mode was not
chosen: it cannot serve the gauges read from the hub at scrape time.

The hot path pays almost nothing: the hub and the sockets bump plain integers (the fan-out per
tick, not per socket write) and a collector reads them when Prometheus scrapes. Only an order
(a counter and a histogram sample) and a frame's lag (one sample per tick) touch
prometheus-client objects as they happen.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from live.errors import LiveError, OrderRefused

if TYPE_CHECKING:
    from live.admission import AdmissionGate
    from live.claims import Claims
    from live.hub import Hub
    from live.service import PlaceOrder, Service
    from live.web.drain import Drain

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Orders are answered in a few ms on Redis; `busy` answers wait up to LIVE_ORDER_DEADLINE (1 s),
# `unavailable` up to LIVE_STORE_TIMEOUT (2 s).
ORDER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Stock messages wait up to LIVE_STOCK_INTERVAL (0.25 s) by design, toasts up to 1 s.
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

SOCKET_KINDS = ("viewer", "overlay", "host")


class Metrics:
    """The figures of one app. `sockets` is bumped by the socket handler; `hub` and `store`
    are read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.orders = Counter(
            "live_orders",
            "Orders answered, by result (accepted, a refusal reason, busy, unavailable)",
            ["result"],
            registry=self.registry,
        )
        for result in ("accepted", "sold_out", "busy", "unavailable"):
            self.orders.labels(result)  # the usual series exist from the start, at 0
        self.order_seconds = Histogram(
            "live_order_seconds",
            "Time to answer an order in this process (HTTP and socket)",
            buckets=ORDER_BUCKETS,
            registry=self.registry,
        )
        self.event_lag = Histogram(
            "live_event_lag_seconds",
            "From the hub receiving a show event to the frame carrying it being written "
            "(events carry no publish time; coalescing of stock and toasts is included)",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.logins_refused = Counter(
            "live_logins_refused",
            "Console logins refused (wrong password or rate limited)",
            registry=self.registry,
        )
        self.sockets: Tally[str] = Tally()
        self.hub: Hub | None = None
        self.store: object | None = None
        self.feed: object | None = None
        self.drain: Drain | None = None
        self.admission: AdmissionGate | None = None
        self.claims: Claims | None = None
        self.registry.register(_Collector(self))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def watch_orders(self, service: Service) -> None:
        """Time and count every order the service answers, whichever transport carried it.
        The service's own method is wrapped on this instance, so `live.service` stays free of
        metrics."""
        place = service.place_order
        orders, seconds = self.orders, self.order_seconds
        by_result: dict[str, Any] = {}  # labelled children, looked up once (a sale asks per order)
        self.admission = service.admission
        self.claims = service.claims

        async def timed(order: PlaceOrder) -> Any:
            started = time.perf_counter()
            result = "error"
            try:
                answer = await place(order)
                result = "accepted"
                return answer
            except OrderRefused as exc:
                result = exc.reason.value
                raise
            except LiveError as exc:
                result = exc.code
                raise
            finally:
                seconds.observe(time.perf_counter() - started)
                counter = by_result.get(result)
                if counter is None:
                    counter = by_result[result] = orders.labels(result)
                counter.inc()

        setattr(service, "place_order", timed)  # noqa: B010 - a wrapper on this instance only


class _Collector(Collector):
    """Figures kept as plain integers by the hub, the feed and the store, read at scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        sockets = GaugeMetricFamily(
            "live_sockets", "Open show sockets in this process, by kind", labels=["kind"]
        )
        for kind in SOCKET_KINDS:
            sockets.add_metric([kind], m.sockets[kind])
        yield sockets
        draining = m.drain is not None and m.drain.draining
        yield GaugeMetricFamily(
            "live_draining", "1 while this process drains before exiting", value=int(draining)
        )
        hub = m.hub
        frames = CounterMetricFamily(
            "live_fanout_frames",
            "Frames written to sockets: straight (one framing per tick) or through a backlog",
            labels=["path"],
        )
        sent = CounterMetricFamily(
            "live_fanout_bytes", "Bytes of frames written to sockets", labels=["path"]
        )
        frames.add_metric(["direct"], hub.frames_direct if hub else 0)
        frames.add_metric(["mailbox"], hub.frames_queued if hub else 0)
        sent.add_metric(["direct"], hub.bytes_direct if hub else 0)
        sent.add_metric(["mailbox"], hub.bytes_queued if hub else 0)
        yield frames
        yield sent
        yield CounterMetricFamily(
            "live_slow_consumers",
            "Sockets dropped for not keeping up (close 4008)",
            value=hub.slow_consumers if hub else 0,
        )
        yield CounterMetricFamily(
            "live_resyncs",
            "Fresh snapshots sent because events may have been lost (per show, or a client's gap)",
            value=hub.resyncs if hub else 0,
        )
        yield CounterMetricFamily(
            "live_feed_reconnects",
            "Times the event feed (Redis pub/sub) came back after being lost",
            value=getattr(m.feed, "reconnects", 0),
        )
        gate = m.admission
        if gate is not None:  # live/admission.py: where `busy` answers come from
            yield _outcomes(
                "live_admission",
                "Orders at the admission gate: admitted, refused busy at once (no room within "
                "LIVE_ORDER_DEADLINE), withdrawn busy unsent at the deadline",
                admitted=gate.admitted,
                refused=gate.refused,
                withdrawn=gate.withdrawn,
            )
            yield GaugeMetricFamily(
                "live_admission_capacity",
                "Orders this process lets wait for the store at once (its measured pace × the "
                "deadline)",
                value=gate.capacity,
            )
        claims = m.claims
        if claims is not None:  # live/claims.py: orders waiting while the stock is spoken for
            yield _outcomes(
                "live_claims",
                "First orders parked while the units left were spoken for by orders in flight, "
                "by how their wait ended: parked (all), sold_out (answered here, no round "
                "trip), gave_up (waited their patience, then went on to the store)",
                parked=claims.parked,
                sold_out=claims.sold_out,
                gave_up=claims.gave_up,
            )
            yield GaugeMetricFamily(
                "live_claims_waiting", "Orders parked now", value=claims.waiting()
            )
        yield CounterMetricFamily(
            "live_store_errors",
            "Store steps that failed: Redis did not answer, or refused (OOM, READONLY...)",
            value=getattr(m.store, "errors", 0),
        )


def _outcomes(name: str, documentation: str, **counts: int) -> CounterMetricFamily:
    """A counter family with one `outcome` label value per keyword."""
    family = CounterMetricFamily(name, documentation, labels=["outcome"])
    for outcome, count in counts.items():
        family.add_metric([outcome], count)
    return family
