"""The photo corpus: real JPEG and PNG files of every kind a phone or an attacker sends, and
mutations of them (truncated, wrong headers, huge declared dimensions, zip bombs in PNG chunks,
bytes flipped at random with a fixed seed). Each entry names what the portal must answer:
``ok`` (filed, re-encoded) or a photo error code; ``any`` for a random mutation, where either is
right and only a 5xx, a half-written report or a dead app is wrong."""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable

from PIL import Image, PngImagePlugin

GPS = {1: "N", 2: (25.0, 22.0, 48.0), 3: "E", 4: (49.0, 35.0, 10.0)}


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _scene(mode: str = "RGB", size=(320, 240)) -> Image.Image:
    """A small picture with detail (noise), so encoders have something to compress."""
    noise = Image.effect_noise(size, 50).convert("L")
    if mode == "L":
        return noise
    picture = Image.merge("RGB", (noise, noise.rotate(90, expand=False), noise.transpose(
        Image.Transpose.FLIP_LEFT_RIGHT)))
    return picture.convert(mode) if mode != "RGB" else picture


def jpeg(mode: str = "RGB", size=(320, 240), gps: bool = False, orientation: int | None = None,
         **options) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    if gps:
        exif[0x8825] = GPS
    if orientation:
        exif[0x0112] = orientation
    return _save(_scene(mode if mode != "CMYK" else "RGB", size).convert(mode), "JPEG",
                 exif=exif, **options)


def png(mode: str = "RGB", size=(320, 240), **options) -> bytes:
    if mode == "I;16":
        image = Image.new("I;16", size, 40_000)
    elif mode == "1":
        image = _scene("L", size).convert("1")
    elif mode == "P":
        image = _scene("RGB", size).convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode == "LA":
        image = Image.merge("LA", (_scene("L", size), Image.new("L", size, 128)))
    else:
        image = _scene(mode, size)
    return _save(image, "PNG", **options)


def chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width: int, height: int, idat: bytes = b"", extra: bytes = b"",
                  depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` over a tiny body: a pixel bomb."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = idat or zlib.compress(b"\x00" * 1024, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def pixel_bomb(side: int = 6300) -> bytes:
    """The issue's bomb: a real, valid PNG of ``side`` x ``side`` that compresses to ~131 KB
    (one colour); decoding it costs side^2 x 4 bytes."""
    rows = zlib.compressobj(9)
    row = b"\x00" + b"\xc8\x1e\x1e" * side
    data = b"".join(rows.compress(row) for _ in range(side)) + rows.flush()
    return png_declaring(side, side, idat=data)


def zip_bomb_text(megabytes: int = 50) -> bytes:
    """A small PNG carrying zTXt and iTXt chunks that inflate to ``megabytes`` of text."""
    blob = zlib.compress(b"A" * (1 << 20), 9)  # 1 MiB of text in ~1 KB
    extra = b"".join(chunk(b"zTXt", b"Comment%d\x00\x00" % i + blob) for i in range(megabytes // 2))
    extra += b"".join(chunk(b"iTXt", b"XML:com.adobe.xmp%d\x00\x01\x00\x00\x00" % i + blob)
                      for i in range(megabytes // 2))
    extra += chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * (8 << 20), 9))
    return png_declaring(64, 64, idat=zlib.compress(b"\x00" * (64 * 193)), extra=extra)


def idat_overflow() -> bytes:
    """IDAT that inflates to 100 MB for a 64 x 64 image."""
    return png_declaring(64, 64, idat=zlib.compress(b"\x00" * (100 << 20), 9))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG with its frame header (SOF0) patched to declare other dimensions."""
    data = bytearray(jpeg(size=(64, 48)))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated_png(frames: int = 20) -> bytes:
    pictures = [_scene("RGB", (200, 150)).rotate(i * 18) for i in range(frames)]
    return _save(pictures[0], "PNG", save_all=True, append_images=pictures[1:], duration=50)


def png_with_exif_and_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "home: 25.38, 49.58")
    info.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta><exif:GPSLatitude>25,22.8N'
                  '</exif:GPSLatitude></x:xmpmeta>')
    exif = Image.Exif()
    exif[0x8825] = GPS
    return _save(_scene(), "PNG", pnginfo=info, exif=exif)


def jpeg_with_xmp_gps() -> bytes:
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'exif:GPSLatitude="25,22.8N" exif:GPSLongitude="49,35.16E"/></rdf:RDF></x:xmpmeta>')
    return _save(_scene(), "JPEG", exif=_gps_exif(), xmp=xmp)


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = GPS
    return exif


def gps_zero_denominator() -> bytes:
    """EXIF GPS seconds written as 48/0 (a division by zero for a naive reader)."""
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (25.0, 22.0, 48.0), 3: "E", 4: (49.0, 35.0, 48.0)}
    data = _save(_scene(), "JPEG", exif=exif)
    rational = struct.pack("<LL", 48, 1)
    assert rational in data
    return data.replace(rational, struct.pack("<LL", 48, 0))


def bogus_gps(value, ref: str = "N") -> bytes:
    exif = Image.Exif()
    exif[0x8825] = {1: ref, 2: value, 3: ref, 4: value}
    return _save(_scene(), "JPEG", exif=exif)


def truncated(data: bytes, fraction: float) -> bytes:
    return data[:max(1, int(len(data) * fraction))]


def flipped(data: bytes, seed: int, count: int) -> bytes:
    """``count`` random bytes of ``data`` replaced (the first 8, the signature, kept)."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(8, len(out))] = rng.randrange(256)
    return bytes(out)


def named_cases() -> list[tuple[str, Callable[[], bytes], str]]:
    """(id, maker, expected): the kinds and the deliberate attacks."""
    small_jpeg, small_png = jpeg(), png()
    cases: list[tuple[str, Callable[[], bytes], str]] = [
        # -- every kind of real image: accepted and re-encoded
        ("jpeg-baseline", lambda: small_jpeg, "ok"),
        ("jpeg-progressive", lambda: jpeg(progressive=True), "ok"),
        ("jpeg-444", lambda: jpeg(subsampling=0), "ok"),
        ("jpeg-grey", lambda: jpeg("L"), "ok"),
        ("jpeg-cmyk", lambda: jpeg("CMYK"), "ok"),
        ("jpeg-1x1", lambda: jpeg(size=(1, 1)), "ok"),
        ("jpeg-wide-8000x2", lambda: jpeg(size=(8000, 2)), "ok"),
        ("jpeg-tall-2x8000", lambda: jpeg(size=(2, 8000)), "ok"),
        ("jpeg-48mp-baseline", lambda: _save(Image.new("RGB", (8000, 6000), (9, 90, 9)), "JPEG"),
         "ok"),
        ("png-rgb", lambda: small_png, "ok"),
        ("png-rgba", lambda: png("RGBA"), "ok"),
        ("png-palette", lambda: png("P"), "ok"),
        ("png-palette-transparent", lambda: png("P", transparency=0), "ok"),
        ("png-grey-alpha", lambda: png("LA"), "ok"),
        ("png-bilevel", lambda: png("1"), "ok"),
        ("png-16bit-grey", lambda: png("I;16"), "ok"),
        ("png-handmade", lambda: png_declaring(32, 32, idat=zlib.compress(
            b"".join(b"\x00" + b"\x10\x20\x30" * 32 for _ in range(32)))), "ok"),
        ("png-animated", animated_png, "ok"),
        ("png-text-exif-xmp", png_with_exif_and_text, "ok"),
        ("jpeg-xmp-gps", jpeg_with_xmp_gps, "ok"),
        *[(f"jpeg-orientation-{o}", (lambda o=o: jpeg(orientation=o)), "ok") for o in range(1, 9)],
        ("jpeg-orientation-99", lambda: jpeg(orientation=99), "ok"),
        ("gps-zero-denominator", gps_zero_denominator, "ok"),
        ("gps-odd-refs", lambda: bogus_gps((25.0, 22.0, 48.0), ref="\u00ff?"), "ok"),
        ("gps-too-short", lambda: bogus_gps((25.0,)), "ok"),
        ("gps-out-of-range", lambda: bogus_gps((400.0, 0.0, 0.0)), "ok"),
        # -- pixel bombs: refused before decoding
        ("bomb-png-6300", pixel_bomb, "photo_dimensions"),
        ("bomb-png-100k", lambda: png_declaring(100_000, 100_000), "photo_dimensions"),
        ("bomb-png-65535x1000", lambda: png_declaring(65_535, 1_000), "photo_dimensions"),
        ("bomb-png-5000-rgba16", lambda: png_declaring(5_000, 5_000, depth=16, colour=6),
         "photo_dimensions"),
        ("bomb-png-2^31", lambda: png_declaring(2 ** 31 - 1, 2 ** 31 - 1), "photo_dimensions"),
        ("bomb-jpeg-65535", lambda: jpeg_declaring(65_535, 65_535), "photo_dimensions"),
        ("bomb-jpeg-progressive-48mp", lambda: _save(Image.new("RGB", (8000, 6000)), "JPEG",
                                                      progressive=True), "photo_dimensions"),
        ("png-zero-width", lambda: png_declaring(0, 10), "photo_type"),
        # -- zip bombs inside a small PNG
        ("zip-bomb-text-chunks", zip_bomb_text, "any"),
        ("zip-bomb-idat", idat_overflow, "any"),
        # -- not a JPEG or PNG, whatever the name says
        ("empty", lambda: b"", "photo_corrupt"),
        ("gif", lambda: _save(_scene("P"), "GIF"), "photo_type"),
        ("bmp", lambda: _save(_scene(), "BMP"), "photo_type"),
        ("webp", lambda: _save(_scene(), "WEBP"), "photo_type"),
        ("tiff", lambda: _save(_scene(), "TIFF"), "photo_type"),
        ("ico", lambda: _save(_scene(size=(32, 32)), "ICO"), "photo_type"),
        ("svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
         "photo_type"),
        ("html", lambda: b"<html><script>alert(1)</script></html>", "photo_type"),
        ("php", lambda: b"<?php system($_GET['c']); ?>", "photo_type"),
        ("pdf", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "photo_type"),
        ("zip", lambda: b"PK\x03\x04" + b"\x00" * 100, "photo_type"),
        ("png-signature-only", lambda: b"\x89PNG\r\n\x1a\n", "any"),
        ("jpeg-soi-only", lambda: b"\xff\xd8", "any"),
        ("jpeg-soi-eoi", lambda: b"\xff\xd8\xff\xd9", "any"),
        ("png-bad-crc", lambda: small_png[:29] + b"\x00\x00\x00\x00" + small_png[33:], "any"),
        ("png-no-iend", lambda: small_png[:-12], "any"),
        ("png-then-html", lambda: small_png + b"<script>alert(1)</script>", "ok"),
        ("jpeg-then-zip", lambda: small_jpeg + b"PK\x03\x04" + b"\x00" * 100, "ok"),
        ("jpeg-huge-comment", lambda: small_jpeg[:2] + b"\xff\xfe\xff\xff" + b"C" * 65533
         + small_jpeg[2:], "ok"),
        ("jpeg-many-app-segments", lambda: small_jpeg[:2] + (b"\xff\xe5\x01\x00" + b"z" * 254)
         * 2000 + small_jpeg[2:], "ok"),
    ]
    for name, data in (("jpeg", small_jpeg), ("png", small_png)):
        for fraction in (0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
            cases.append((f"{name}-truncated-{int(fraction * 100)}",
                          lambda d=data, f=fraction: truncated(d, f), "any"))
    return cases


def random_cases(count: int = 163) -> list[tuple[str, Callable[[], bytes], str]]:
    """Seeded byte flips of small real images (half JPEG, half PNG; 1 to 64 bytes each)."""
    bases = {"jpeg": jpeg(gps=True), "png": png("RGBA"), "jpeg-prog": jpeg(progressive=True),
             "png-p": png("P")}
    names = sorted(bases)
    cases = []
    for i in range(count):
        name = names[i % len(names)]
        flips = 1 << (i % 7)
        cases.append((f"mutated-{name}-{i}",
                      lambda b=bases[name], i=i, n=flips: flipped(b, seed=i, count=n), "any"))
    return cases
