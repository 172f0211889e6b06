"""Node, for running the pages' ES modules outside a browser."""

from __future__ import annotations

import os
import shutil

import pytest


def node() -> str:
    """The node binary; skips (or fails, under LIVE_NO_SKIPS=1) when it is not installed."""
    path = shutil.which("node")
    if path is None:
        if os.environ.get("LIVE_NO_SKIPS") == "1":
            pytest.fail("node is not installed", pytrace=False)
        pytest.skip("node is not installed (apt-get install nodejs)")
    return path
