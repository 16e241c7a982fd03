"""Photos attached to a report: checked, re-encoded, stripped, and their GPS read.

Anything a phone uploads is treated as hostile: only JPEG and PNG are accepted (sniffed from the
content, never the file name); the declared dimensions are checked *before* the pixels are
decoded, so a decompression bomb (a tiny file declaring a gigantic image) is refused without
allocating it; the image is auto-oriented, shrunk, and re-encoded as a fresh JPEG, which drops
EXIF (camera serial numbers, the visitor's home location in old photos) and any payload hidden
in the original file. The EXIF GPS position is read first and offered as the report's location.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import CodedError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_GPS_IFD = 0x8825


class PhotoError(CodedError, ValueError):
    """``code`` is a stable key: photo_too_large, photo_type, photo_corrupt, photo_dimensions."""

    code_in_text = True


@dataclass(frozen=True)
class Photo:
    token: str
    mime: str
    width: int
    height: int
    data: bytes
    #: (lat, lon) from the original's EXIF GPS tags, when present and plausible.
    gps: tuple[float, float] | None


def process_photo(raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> Photo:
    """A safe, re-encoded JPEG of ``raw``, or PhotoError."""
    if len(raw) > max_bytes:
        raise PhotoError("photo_too_large", f"{len(raw)} bytes")
    if not raw:
        raise PhotoError("photo_corrupt", "empty file")
    with warnings.catch_warnings():
        # Pillow's own bomb check is a warning below 2x its global limit; make it an error and
        # apply our (smaller) limit ourselves, without touching Pillow's process-wide setting.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw), formats=list(ACCEPTED_FORMATS)) as image:
                width, height = image.size
                if width <= 0 or height <= 0 or width * height > max_pixels:
                    raise PhotoError("photo_dimensions", f"{width}x{height}")
                gps = _exif_gps(image)
                image.load()
                cleaned = _clean(image, max_side)
        except PhotoError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoError("photo_dimensions", str(exc)) from None
        except UnidentifiedImageError:
            raise PhotoError("photo_type", "not a JPEG or PNG image") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise PhotoError("photo_corrupt", str(exc)) from None
    out = io.BytesIO()
    cleaned.save(out, format="JPEG", quality=85, optimize=True)
    return Photo(secrets.token_urlsafe(16), "image/jpeg", cleaned.width, cleaned.height,
                 out.getvalue(), gps)


def _clean(image: Image.Image, max_side: int) -> Image.Image:
    """Upright, RGB on white, no larger than ``max_side``: a new image without metadata."""
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode in ("RGBA", "LA", "P"):
        rgba = upright.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        upright = background
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    fresh = Image.new("RGB", upright.size)
    fresh.paste(upright)
    return fresh


def _exif_gps(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
    except (AttributeError, KeyError, TypeError, ValueError, OSError):
        return None
    try:
        lat = _degrees(gps[2], gps.get(1, "N"), "S")
        lon = _degrees(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 7), round(lon, 7)


def _degrees(dms, ref, negative_ref: str) -> float:
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if str(ref).strip().upper() == negative_ref else value


__all__ = ["ACCEPTED_FORMATS", "Photo", "PhotoError", "process_photo"]
