"""Static files under a path that names their content: `/assets/<version>/buy.js`.

A module's relative imports (`./live-client.js`) resolve under the same path, so the whole module
graph is versioned without a build step, and a browser may keep every file for a year without
asking again: a new release has a new version, so a new path. A path with an old version still
answers (a page loaded before a release), with the current file and `no-cache`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = scope.get("path_params", {}).get("version") == self.version

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                MutableHeaders(scope=message)["cache-control"] = (
                    IMMUTABLE if current else "no-cache"
                )
            await send(message)

        await self.files(scope, receive, send_with_cache)
