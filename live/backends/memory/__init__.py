"""The memory backend: one process, nothing kept across restarts (`MemoryStore`, `LocalFeed`)."""

from __future__ import annotations

from live.backends.memory.feed import LocalBus, LocalFeed
from live.backends.memory.store import MemoryStore

__all__ = ["LocalBus", "LocalFeed", "MemoryStore"]
