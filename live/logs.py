"""Log output: one line per event, plain text or JSON (`LIVE_LOG_FORMAT=json`).

Secrets and buyers' details are cut out before any formatter sees a record
(`live.server.RedactSecrets` sits on every handler), so both formats print the same clean text.
"""

from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class Throttled:
    """A warning that can come in storms (slow consumers under a flood): at most one line per
    `interval` seconds, saying how many it stands for."""

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self.logger = logger
        self.interval = interval
        self.last = -interval
        self.skipped = 0

    def note(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            self.skipped += 1
            return
        more = f" (and {self.skipped} more in the last {self.interval:.0f} s)"
        if not self.skipped:
            more = ""
        self.logger.warning("%s%s", message, more)
        self.last, self.skipped = now, 0
