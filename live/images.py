"""Product photos from phones: decoded, turned upright, stripped of metadata and resized.

A host uploads what the phone took: up to ~20 MB, often lying on its side with an EXIF tag that
says so, and carrying where it was taken (GPS) in its metadata. Nothing of the original is
kept: the pixels are decoded (Pillow), turned upright, converted to sRGB, and written again as
WebP in two sizes with no metadata at all. Pure: bytes in, bytes out; the web layer stores them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from live.errors import LiveError, TooLarge, UnsupportedMediaType

MAX_BYTES = 20 * 1024 * 1024
# A JPEG is decoded at a reduced scale (the decoder's draft mode), so even a 108-megapixel photo
# costs only a few megabytes of memory; PNG and WebP decode whole, hence their lower cap.
MAX_PIXELS = 120_000_000
MAX_PIXELS_DECODED_WHOLE = 40_000_000
DISPLAY = 1280  # longest side of the picture shown on the buy page and the overlay
THUMB = 320  # longest side of the catalog's small picture
QUALITY = 82
# The content types a phone sends, and Pillow's name of each format.
TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}

# Pillow's own guard, in the same terms: past twice the cap it refuses at open (an error); past
# the cap it warns, and the check below refuses.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True, slots=True)
class Photo:
    """The photo as served: WebP without metadata, upright, at two sizes."""

    display: bytes
    thumb: bytes
    width: int  # of `display`
    height: int


def process(data: bytes) -> Photo:
    """Decode a JPEG, PNG or WebP photo and make its display and thumbnail versions.

    Raises `TooLarge` (over `MAX_BYTES` or too many pixels) or `UnsupportedMediaType` (not a
    whole image of those three formats: another format, garbage, a truncated upload)."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"the photo is over {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data), formats=list(TYPES.values())) as img:
            _check_pixels(img)
            # JPEG only (others ignore it): let the decoder scale down by 1/2, 1/4 or 1/8 while
            # staying at least DISPLAY pixels on each side.
            img.draft("RGB", (DISPLAY, DISPLAY))
            img.load()
            upright = _to_srgb(ImageOps.exif_transpose(img))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"the photo has too many pixels ({exc})") from None
    except LiveError:
        raise
    except Exception as exc:  # a decoder meeting untrusted bytes fails in many ways
        raise UnsupportedMediaType(
            f"the photo could not be read ({_reason(exc)}): send a whole JPEG, PNG or WebP image"
        ) from None
    display = upright.copy()
    display.thumbnail((DISPLAY, DISPLAY), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    return Photo(_webp(display), _webp(thumb), display.width, display.height)


def _check_pixels(img: Image.Image) -> None:
    width, height = img.size
    cap = MAX_PIXELS if img.format == "JPEG" else MAX_PIXELS_DECODED_WHOLE
    if width * height > cap:
        raise TooLarge(
            f"the photo is {width}×{height} pixels; a {img.format} may have at most "
            f"{cap // 1_000_000} megapixels"
        )


def _to_srgb(img: Image.Image) -> Image.Image:
    """RGB (RGBA if it has transparency) in sRGB: phones often shoot in a wider colour space
    (Display P3), which would look dull once its profile is gone."""
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    mode = "RGBA" if alpha else "RGB"
    icc = img.info.get("icc_profile")
    if icc and img.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode=img.mode)
            if converted is not None:
                return converted.convert(mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    return img.convert(mode)


def _webp(img: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif, xmp or icc_profile arguments: Pillow then writes none.
    img.save(out, "WEBP", quality=QUALITY, method=4)
    return out.getvalue()


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "cannot identify image file" in text:
        return "not a JPEG, PNG or WebP image"
    return (text or type(exc).__name__)[:120]
