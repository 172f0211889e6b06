"""The admission gate's bookkeeping, on a clock the test moves."""

from __future__ import annotations

import pytest

from live.admission import AdmissionGate, Ticket
from live.config import settings_from_env


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gate(deadline: float = 1.0, **options: float) -> tuple[AdmissionGate, Clock]:
    clock = Clock()
    return AdmissionGate(deadline, clock=clock, **options), clock  # type: ignore[arg-type]


def test_it_admits_what_the_store_can_take_within_the_deadline_and_no_more() -> None:
    g, clock = gate(0.5, cold_rate=100.0, floor=4)
    tickets = [g.admit() for _ in range(60)]
    let_in = [t for t in tickets if t is not None]
    assert len(let_in) == 50 == g.capacity and g.refused == 10  # 100/s for 0.5 s
    assert all(t.send_by == clock.now + 0.5 for t in let_in)
    assert [t.ahead for t in let_in] == list(range(1, 51))
    g.leave(let_in[0], answered=True)
    assert g.admit() is not None and g.admit() is None  # one left, one let in


def test_the_rate_is_the_orders_answered_per_second_behind_a_backlog() -> None:
    g, clock = gate(1.0, cold_rate=100.0, floor=4, window=0.02)
    tickets = [g.admit() for _ in range(100)]
    assert all(t is not None for t in tickets)
    for ticket in tickets[:90]:  # one answered every millisecond while more than 4 wait
        clock.now += 0.001
        assert ticket is not None
        g.leave(ticket, answered=True)
    assert g.rate is not None and g.rate > 100  # 1,000/s seen, smoothed from the cold 100/s
    for _ in range(400):  # keep the backlog up: admit one, answer one, a millisecond apart
        ticket = g.admit()
        assert ticket is not None
        clock.now += 0.001
        g.leave(ticket, answered=True)
    assert g.rate == pytest.approx(1000, rel=0.05)
    # However long each order took: the loop's own delay is not the store's pace.
    slow = Ticket(admitted_at=clock.now - 2.0, send_by=clock.now - 1.0, ahead=50)
    g.waiting += 1
    before = g.rate
    g.leave(slow, answered=True)
    assert g.rate == before


def test_orders_answered_without_a_backlog_say_nothing_of_the_store() -> None:
    g, clock = gate(1.0, cold_rate=100.0, floor=4)
    for _ in range(1000):  # one at a time: the buyers' pace
        ticket = g.admit()
        assert ticket is not None and ticket.ahead == 1
        clock.now += 0.01
        g.leave(ticket, answered=True)
    assert g.rate is None and g.capacity == 100


def test_withdrawals_only_ever_lower_the_rate_and_never_below_the_floor() -> None:
    g, clock = gate(0.1, cold_rate=10_000.0, floor=8)
    for _ in range(1000):
        ticket = g.admit()
        assert ticket is not None
        clock.now += 0.1
        g.withdraw(ticket)  # nothing got through: each saw 1 ahead in 0.1 s
        clock.now -= 0.1
    assert g.withdrawn == 1000 and g.waiting == 0
    assert g.rate is not None and g.rate < 100
    assert g.capacity == 8  # a store that is slow still gets orders
    high = Ticket(admitted_at=clock.now, send_by=clock.now + 0.1, ahead=1000)
    g.waiting += 1
    clock.now += 0.1
    rate = g.rate
    g.withdraw(high)  # 1000 in 0.1 s is above the rate: a bound, not a measurement
    assert g.rate == rate


def test_the_retry_hint_grows_with_the_backlog_within_bounds() -> None:
    g, _ = gate(1.0, cold_rate=1000.0, floor=4)
    assert g.retry_after_ms() == 100  # nothing waiting: the least hint
    for _ in range(500):
        g.admit()
    assert g.retry_after_ms() == 500  # 500 waiting at 1000/s
    g.rate = 0.001
    assert g.retry_after_ms() == 30_000  # a store that barely answers: the longest hint


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AdmissionGate(0)


def test_the_deadline_comes_from_live_order_deadline() -> None:
    assert settings_from_env({}).order_deadline == 1.0
    assert settings_from_env({"LIVE_ORDER_DEADLINE": "0.25"}).order_deadline == 0.25
    with pytest.raises(SystemExit):
        settings_from_env({"LIVE_ORDER_DEADLINE": "0"})
