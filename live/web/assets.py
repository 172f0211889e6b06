"""Static files under a path that names their content: `/assets/<version>/buy.js`.

A module's relative imports (`./live-client.js`) resolve under the same path, so the whole module
graph is versioned without a build step, and a browser may keep every file for a year without
asking again: a new release has a new version, so a new path. A path with an old version still
answers (a page loaded before a release), with the current file and `no-cache`.

Scripts and stylesheets are what a phone on a weak network waits for before the buy button
works, so they are prepared once at start, in memory: a script loses its comment-only lines
(the source keeps its comments for people; the wire does not need them) and both are gzipped
once at the highest level, so each request costs neither bytes nor CPU. Nothing else changes:
no line of code is rewritten, so what runs is what the source says.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers, MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
PREPARED = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# A line holding only a comment. The static scripts hold no multi-line template literal, so
# such a line is never inside a string (tests/e2e/test_buy_page.py checks both, and that every
# prepared script still parses).
_COMMENT_LINE = re.compile(rb"^[ \t]*//[^\n]*\n", re.M)


def prepare(path: Path) -> bytes:
    """The bytes served for a file: a script without its comment-only lines, else as it is."""
    data = path.read_bytes()
    return _COMMENT_LINE.sub(b"", data) if path.suffix == ".js" else data


@dataclass(frozen=True, slots=True)
class Prepared:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def content_version(directory: Path) -> str:
    """A short hash of every file's name and bytes: it changes whenever any file does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class VersionedStatic:
    """Mounted at `/assets/{version}`: `directory`, kept for good at the current version."""

    def __init__(self, directory: Path, version: str) -> None:
        self.files = StaticFiles(directory=directory)
        self.version = version
        self.prepared: dict[str, Prepared] = {}
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix in PREPARED:
                body = prepare(path)
                self.prepared[path.relative_to(directory).as_posix()] = Prepared(
                    body=body,
                    gzipped=gzip.compress(body, 9, mtime=0),
                    media_type=PREPARED[path.suffix],
                    etag='"' + hashlib.sha256(body).hexdigest()[:16] + '"',
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = scope.get("path_params", {}).get("version") == self.version
        found = self.prepared.get(Path(self.files.get_path(scope)).as_posix())
        if found is not None and scope["method"] in ("GET", "HEAD"):
            await _send_prepared(found, scope, send, IMMUTABLE if current else "no-cache")
            return

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                MutableHeaders(scope=message)["cache-control"] = (
                    IMMUTABLE if current else "no-cache"
                )
            await send(message)

        await self.files(scope, receive, send_with_cache)


async def _send_prepared(file: Prepared, scope: Scope, send: Send, cache: str) -> None:
    headers = Headers(scope=scope)
    out = [
        (b"content-type", file.media_type.encode()),
        (b"cache-control", cache.encode()),
        (b"etag", file.etag.encode()),
        (b"vary", b"Accept-Encoding"),
    ]
    if file.etag in headers.get("if-none-match", ""):
        await send({"type": "http.response.start", "status": 304, "headers": out})
        await send({"type": "http.response.body", "body": b""})
        return
    body = file.body
    if "gzip" in headers.get("accept-encoding", ""):
        body = file.gzipped
        out.append((b"content-encoding", b"gzip"))
    out.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": out})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
