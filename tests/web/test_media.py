"""What /media serves (uploaded images only, nothing beside or above them) and what an upload
may be (re-encoded pixels under a fixed image type, never a polyglot)."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from live.config import Settings
from tests.helpers import (
    png,
)


def test_media_serves_only_uploaded_images(client: TestClient, settings: Settings) -> None:
    uploads = Path(settings.upload_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    # files that reached the upload dir by other means are never served
    (uploads / "page.html").write_text("<script>alert(1)</script>")
    (uploads / "pic.svg").write_text("<svg onload=alert(1)/>")
    (uploads / ".secret.png").write_bytes(png())
    (uploads.parent / "outside.png").write_bytes(png())
    for path in (
        "/media/page.html",
        "/media/pic.svg",
        "/media/.secret.png",
        "/media/..%2Foutside.png",
        "/media/%2E%2E%2Foutside.png",
        "/media/..%5Coutside.png",
        "/media/%2e%2e",
        "/media/outside.png%00.png",
        "/media/..%252Foutside.png",
        "/media/",
    ):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert b"<script" not in r.content and b"<svg" not in r.content


def test_uploads_are_served_under_a_fixed_image_type_whatever_they_hide(
    client: TestClient,
) -> None:
    html = b"<html><script>alert(document.cookie)</script></html>"
    for kind in ("image/svg+xml", "text/html", "image/gif", "application/octet-stream", ""):
        r = client.put("/api/uploads", content=png(), headers={"Content-Type": kind})
        assert r.status_code == 415, kind
    # containers that pass a byte check but carry HTML inside (polyglots): never decoded, so
    # never stored
    webp_body = b"WEBP" + html
    webp = b"RIFF" + len(webp_body).to_bytes(4, "little") + webp_body
    jpeg = b"\xff\xd8\xff\xe0" + html + b"\xff\xd9"
    for kind, body in (("image/webp", webp), ("IMAGE/JPEG; x=1", jpeg)):
        r = client.put("/api/uploads", content=body, headers={"Content-Type": kind})
        assert r.status_code == 415, r.text
    # what is stored is re-encoded pixels, served as WebP with nosniff and the strict CSP
    r = client.put("/api/uploads", content=png(), headers={"Content-Type": "Image/PNG; q=1"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert re.fullmatch(r"/media/[A-Za-z0-9_-]{16}\.webp", url)
    got = client.get(url, headers={"Accept": "text/html"})
    assert got.headers["content-type"] == "image/webp"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in got.headers["content-security-policy"]
    assert "attachment" not in got.headers.get("content-disposition", "")
    assert b"<script" not in got.content
