"""Product photos: phone photos decoded, turned upright, stripped of GPS/EXIF and resized."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from starlette.testclient import TestClient

from live import images
from live.config import Settings
from live.errors import TooLarge, UnsupportedMediaType
from tests.helpers import phone_jpeg


def test_the_test_photo_really_carries_gps_and_a_rotation() -> None:
    raw = phone_jpeg()
    with Image.open(io.BytesIO(raw)) as img:
        exif = img.getexif()
        assert exif[ExifTags.Base.Orientation] == 6
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitudeRef] == "N" and gps[ExifTags.GPS.GPSLatitude]
    assert b"GPSLatitude" in raw and b"PhoneCo" in raw


def _assert_no_metadata(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "WEBP"
        assert not {"exif", "xmp", "icc_profile"} & set(img.info), img.info.keys()
        assert len(img.getexif()) == 0
    for marker in (b"EXIF", b"Exif", b"XMP", b"xmpmeta", b"GPS", b"PhoneCo", b"ICCP"):
        assert marker not in data, marker


def test_a_phone_photo_is_turned_upright_stripped_and_resized() -> None:
    photo = images.process(phone_jpeg(1600, 1200, orientation=6))
    _assert_no_metadata(photo.display)
    _assert_no_metadata(photo.thumb)
    # orientation 6: the sensor's landscape picture is shown turned a quarter clockwise
    assert (photo.width, photo.height) == (960, 1280)
    with Image.open(io.BytesIO(photo.display)) as img:
        assert img.size == (960, 1280) and img.mode == "RGB"
        top, bottom = img.getpixel((480, 100)), img.getpixel((480, 1180))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # the left half is on top
    with Image.open(io.BytesIO(photo.thumb)) as thumb:
        assert thumb.size == (240, 320)


def test_a_small_photo_is_not_enlarged_and_transparency_stays() -> None:
    img = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    img.paste((255, 200, 0, 255), (50, 25, 150, 75))
    out = io.BytesIO()
    img.save(out, "PNG")
    photo = images.process(out.getvalue())
    assert (photo.width, photo.height) == (200, 100)
    with Image.open(io.BytesIO(photo.display)) as got:
        assert got.mode == "RGBA" and got.getpixel((5, 5))[3] == 0  # type: ignore[index]
        assert got.getpixel((100, 50))[3] == 255  # type: ignore[index]


def test_a_colour_profile_is_applied_then_dropped() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(out, "JPEG", quality=95, icc_profile=srgb)
    photo = images.process(out.getvalue())
    _assert_no_metadata(photo.display)
    with Image.open(io.BytesIO(photo.display)) as got:
        r, g, b = got.getpixel((32, 32))  # type: ignore[misc]
        assert abs(r - 200) < 12 and abs(g - 100) < 12 and abs(b - 50) < 12


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("size", "words"),
    [((8000, 6000), "megapixels"), ((20000, 20000), "pixels"), ((100000, 100000), "pixels")],
)
def test_decompression_bombs_are_refused_before_decoding(size: tuple[int, int], words: str) -> None:
    with pytest.raises(TooLarge, match=words):
        images.process(png_claiming(*size))


def test_garbage_and_truncated_photos_are_refused_clearly() -> None:
    whole = phone_jpeg(800, 600)
    cases = {
        b"": "not a JPEG, PNG or WebP",
        b"<html><script>alert(1)</script></html>": "not a JPEG, PNG or WebP",
        b"\xff\xd8\xff\xe0" + b"\x00" * 60 + b"\xff\xd9": "could not be read",
        whole[: len(whole) // 2]: "truncated",
        png_claiming(40, 30): "could not be read",  # header fine, pixel data missing
    }
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    cases[gif.getvalue()] = "not a JPEG, PNG or WebP"
    for body, words in cases.items():
        with pytest.raises(UnsupportedMediaType, match=words):
            images.process(body)


# --- the upload route ---------------------------------------------------------------------------


@pytest.fixture
def backend() -> str:
    """Photos never reach the store: the memory backend is enough."""
    return "memory"


def noise_jpeg(width: int, height: int) -> bytes:
    """A photo-sized JPEG that does not compress (noise at quality 100): ~2 bytes a pixel."""
    noise = random.Random(9).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(out, "JPEG", quality=100)
    return out.getvalue()


def test_an_upload_keeps_only_the_stripped_versions(client: TestClient, settings: Settings) -> None:
    r = client.put("/api/uploads", content=phone_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["url"].endswith(".webp") and got["thumb_url"].endswith("-thumb.webp")
    assert (got["width"], got["height"]) == (960, 1280)
    stored = sorted(p.name for p in Path(settings.upload_dir).iterdir())
    assert stored == sorted([got["url"].rsplit("/", 1)[1], got["thumb_url"].rsplit("/", 1)[1]])
    for url in (got["url"], got["thumb_url"]):
        served = client.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
        _assert_no_metadata(served.content)


def test_a_19_mb_phone_photo_is_accepted_and_more_than_20_mb_is_not(
    client: TestClient,
) -> None:
    big = noise_jpeg(3700, 2720)
    assert 18.5 * 2**20 < len(big) <= images.MAX_BYTES
    r = client.put("/api/uploads", content=big, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (1280, 941)
    too_big = big + b"\x00" * (images.MAX_BYTES - len(big) + 1)
    r = client.put("/api/uploads", content=too_big, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_other_bodies_keep_the_small_limit(client: TestClient) -> None:
    r = client.post(
        "/api/products",
        content=b'{"name": "' + b"x" * (70 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_bad_uploads_get_a_clear_error_and_store_nothing(
    client: TestClient, settings: Settings
) -> None:
    whole = phone_jpeg(800, 600)
    for body, kind, status, words in (
        (whole[: len(whole) - 4000], "image/jpeg", 415, "truncated"),
        (b"just some text, not a picture", "image/png", 415, "not a JPEG, PNG or WebP"),
        (png_claiming(30000, 30000), "image/png", 413, "pixels"),
        (whole, "image/gif", 415, "JPEG, PNG or WebP"),
    ):
        r = client.put("/api/uploads", content=body, headers={"Content-Type": kind})
        assert r.status_code == status, (r.status_code, r.text)
        assert words in r.json()["detail"], r.json()
    folder = Path(settings.upload_dir)
    assert not folder.exists() or not list(folder.iterdir())
