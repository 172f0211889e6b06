"""A serving process tunes CPython's cyclic collector (live/server.py `tune_gc`): with the
default thresholds, full collections of a heap holding thousands of sockets took half the
server's CPU in a connect storm (docs/performance.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from live.app import app_from_env
from live.server import GC_THRESHOLDS


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_every_worker_process_tunes_its_collector(
    restored_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `live serve --workers N` starts each worker afresh through this factory.
    monkeypatch.setenv("LIVE_ADMIN_TOKEN", "x" * 24)
    gc.set_threshold(700, 10, 10)
    app_from_env()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] >= 10_000  # the young generation is the lever
    assert gc.get_freeze_count() > 0  # what exists at start-up is out of every collection
