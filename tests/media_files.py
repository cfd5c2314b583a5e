"""Files for the media tests, made at run time: photos with Pillow, PDFs by hand."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image


def photo(width: int = 2400, height: int = 1600, fmt: str = "JPEG", orientation: int | None = None,
          gps: bool = False, seed: int = 1) -> bytes:
    """A photo with real detail (gradients and noise), optionally with EXIF orientation and GPS."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    small = Image.new("RGB", (64, 48))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256))
                   for _ in range(64 * 48)])
    image.paste(small.resize((width, height), Image.Resampling.BICUBIC))
    # A red block in the top-left corner of the picture as stored, to see rotations.
    image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    out = io.BytesIO()
    options = {}
    if orientation or gps:
        exif = Image.Exif()
        if orientation:
            exif[0x0112] = orientation
        if gps:
            info = exif.get_ifd(0x8825)
            info[1] = "N"
            info[2] = (31.0, 14.0, 3.5)
            info[3] = "E"
            info[4] = (121.0, 28.0, 12.0)
        exif[0x010F] = "CameraMaker"
        options["exif"] = exif.tobytes()
    image.save(out, fmt, **options)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG a few hundred bytes long that claims to be width × height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; the rest is missing
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows)
            + _chunk(b"IEND", b""))


def pdf(pages: int = 2, text: str = "Policy") -> bytes:
    """A small valid PDF written by hand, with a correct cross-reference table."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    font = 3 + 2 * pages
    for i in range(pages):
        stream = f"BT /F1 24 Tf 72 720 Td ({text} {i + 1}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()
