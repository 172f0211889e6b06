"""Sunlit Live: a realtime companion service for selling during a livestream."""

from __future__ import annotations

__version__ = "0.1.0"
