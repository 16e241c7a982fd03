"""Photos attached to a report: checked, bounded, re-encoded, stripped, and their GPS read.

Anything a phone uploads is treated as hostile, and decoding an image costs what its header
says, not what its file weighs (a 131 KB PNG can declare 40 million pixels). So:

- Only JPEG and PNG are accepted, sniffed from the content, never the file name.
- **Pixels.** The header's dimensions are checked before anything is decoded (Pillow's
  ``Image.open`` reads only the header): more than ``max_pixels`` is refused. A JPEG is then
  decoded already shrunk (libjpeg's DCT scaling, ``draft``: 1/2, 1/4 or 1/8, as far as the
  photo still fills ``max_side``), which costs a fraction of the full decode. What is actually
  decoded (a PNG, which has no such shortcut, as declared) must fit ``max_decode_pixels``; so
  must a progressive JPEG as declared (libjpeg holds all of its coefficients whatever the
  scale).
- **Memory and CPU.** The decoded image is the largest thing held: it is shrunk before any copy
  (mode conversion, orientation) is made, so one photo holds about ``max_decode_pixels`` x 4
  bytes once (twice for a few modes). `PhotoWorkers` decodes on a few threads of its own, with
  a few photos waiting for them; the rest are refused at once (``photo_busy``, 503), so eight
  pixel bombs cannot take the process's memory, and request threads stay free for logins and
  /healthz.
- The image is auto-oriented, shrunk, and re-encoded as a fresh JPEG, which drops EXIF (camera
  serial numbers, the GPS position of where it was taken), XMP, ICC profiles, PNG text chunks
  and anything hidden in the original file. The EXIF GPS position is read first; the report
  uses it only when the visitor chose to share their location (`captive_portal.reports.intake`).

Docs: docs/reports.md (photos) and docs/benchmarks-reports.md (the memory ceiling measured).
"""

from __future__ import annotations

import io
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, UnidentifiedImageError

from core.errors import CodedError

T = TypeVar("T")
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
#: EXIF orientation -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}
#: Modes Pillow shrinks well as they are; palette and bilevel images are converted first.
_RESIZABLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "I;16", "I;16B",
                        "I;16L", "I;16N"})


class PhotoError(CodedError, ValueError):
    """``code`` is a stable key: photo_too_large, photo_type, photo_corrupt, photo_dimensions,
    photo_busy."""

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


class PhotoWorkers:
    """Photo decoding off the request threads: ``workers`` threads of their own, ``queue``
    photos waiting for one, and the rest refused at once.

    A request hands its photo over and waits at most ``wait_s`` for the result; a photo that
    finds the queue full, or is not done in time, is refused with ``photo_busy`` (503, "try
    again"), so uploads never take the server's threads, which logins and /healthz need.
    Decoding always on the same few threads also bounds memory: the C allocator keeps a pool
    per thread, and what one photo freed is reused by the next instead of piling up in every
    request thread's pool. One set of workers serves the whole app (`ReportsContext`).
    """

    def __init__(self, workers: int, queue: int, wait_s: float):
        self.workers = workers
        self.queue = queue
        self.wait_s = wait_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photo")
        self._lock = threading.Lock()
        self._inside = 0

    @property
    def inside(self) -> int:
        """Photos being decoded or waiting for a worker now."""
        return self._inside

    def run(self, work: Callable[..., T], *args, **kwargs) -> T:
        """``work(*args, **kwargs)`` on a photo worker; its result, or PhotoError."""
        with self._lock:
            if self._inside >= self.workers + self.queue:
                raise PhotoError("photo_busy", f"{self._inside} photos in progress")
            self._inside += 1
        future = self._pool.submit(work, *args, **kwargs)
        future.add_done_callback(self._left)  # also when cancelled before it started
        try:
            return future.result(timeout=self.wait_s)
        except FutureTimeout:
            future.cancel()  # not started yet: it never will; started: its result is dropped
            raise PhotoError("photo_busy", f"not done within {self.wait_s:g} s") from None

    def _left(self, _future) -> None:
        with self._lock:
            self._inside -= 1


def process_photo(raw: bytes, *, max_bytes: int, max_pixels: int, max_side: int,
                  max_decode_pixels: int | None = None) -> Photo:
    """A safe, re-encoded JPEG of ``raw`` no larger than ``max_side``, or PhotoError.

    ``max_pixels`` bounds the dimensions the file declares; ``max_decode_pixels`` (default
    ``max_pixels``) what is decoded after a JPEG's reduced decoding.
    """
    if len(raw) > max_bytes:
        raise PhotoError("photo_too_large", f"{len(raw)} bytes")
    if not raw:
        raise PhotoError("photo_corrupt", "empty file")
    budget = max_decode_pixels or max_pixels
    try:
        with Image.open(io.BytesIO(raw), formats=list(ACCEPTED_FORMATS)) as image:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise PhotoError("photo_dimensions", f"{width}x{height}")
            if image.format != "PNG":  # JPEG (or a phone's multi-picture JPEG)
                if image.info.get("progressive") and width * height > budget:
                    # libjpeg keeps every DCT coefficient of a progressive JPEG (2 bytes per
                    # sample, however much it shrinks the output): it must fit as declared.
                    raise PhotoError("photo_dimensions", f"progressive {width}x{height}")
                image.draft(None, _draft_size(width, height, max_side))
            if image.width * image.height > budget:
                raise PhotoError("photo_dimensions", f"{width}x{height} decodes to "
                                 f"{image.width}x{image.height}")
            exif = image.getexif()
            gps = _exif_gps(exif)
            orientation = exif.get(_ORIENTATION)
            image.load()
            cleaned = _clean(image, max_side, orientation)
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError("photo_dimensions", str(exc)) from None
    except UnidentifiedImageError:
        raise PhotoError("photo_type", "not a JPEG or PNG image") from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise PhotoError("photo_corrupt", str(exc)) from None
    out = io.BytesIO()
    cleaned.save(out, format="JPEG", quality=85, optimize=True)
    return Photo(secrets.token_urlsafe(16), "image/jpeg", cleaned.width, cleaned.height,
                 out.getvalue(), gps)


def _draft_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The smallest size a reduced JPEG decode may give: the longer side still ``max_side``."""
    if width >= height:
        return max_side, max(1, max_side * height // width)
    return max(1, max_side * width // height), max_side


def _clean(image: Image.Image, max_side: int, orientation) -> Image.Image:
    """Shrunk to ``max_side``, upright, RGB on white: a new image without metadata.

    Shrinking comes first, so no copy of the full decoded image is ever made.
    """
    if image.mode in ("P", "PA"):  # shrunk as a palette, it would be nearest-neighbour
        see_through = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if see_through else "RGB")
    elif image.mode not in _RESIZABLE:
        image = image.convert("L" if image.mode == "1" else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if image.mode.startswith("I"):  # 16-bit grey: 0..65535 onto 0..255
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        image = image.convert("RGB")
    fresh = Image.new("RGB", image.size)
    fresh.paste(image)
    return fresh


def _exif_gps(exif: Image.Exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(_GPS_IFD)
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


def thumbnail(data: bytes, side: int) -> bytes:
    """A JPEG at most ``side`` pixels on its longer side, of a photo as stored (already
    re-encoded and bounded by `process_photo`, so safe to decode here)."""
    with Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS)) as image:
        image.draft("RGB", (side, side))
        small = image.convert("RGB")
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


__all__ = ["ACCEPTED_FORMATS", "Photo", "PhotoError", "PhotoWorkers", "process_photo",
           "thumbnail"]
