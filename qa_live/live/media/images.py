"""Photos checked by what they are, not what they are called, and made ready for phones.

An upload is accepted only if its first bytes are those of a JPEG, PNG, WebP or GIF *and*
Pillow decodes it completely as that format. Its width × height is checked from the header
before any decoding (PHOTO_MAX_PIXELS; Pillow's own MAX_IMAGE_PIXELS stands behind it, with its
warning made an error), so a small file claiming a huge picture is refused cheaply. The camera's
orientation is applied, then every bit of metadata (EXIF with GPS, XMP, comments, ICC) is left
behind: only pixels go into the sizes made here.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from qa_live.core.offload import run_blocking
from qa_live.live.socket_common import EventError

#: Widths made for every photo, and the most bytes each may weigh (phones load the first).
WIDTHS = (480, 960, 1920)
BUDGETS = {480: 60_000, 960: 160_000, 1920: 480_000}
QUALITY_START, QUALITY_FLOOR, QUALITY_STEP = 82, 40, 8
#: (content type, Pillow's save format) of each size, WebP first: browsers take the first
#: they understand.
FORMATS = (("image/webp", "WEBP"), ("image/jpeg", "JPEG"))


class MediaRefused(EventError):
    """An upload or a media change refused; the message says why (nothing was stored)."""

    def __init__(self, message: str, field: str = "file", code: str = "invalid") -> None:
        super().__init__(code, message, {field: message})


def sniff(head: bytes) -> str | None:
    """The image format from its first bytes (Pillow's name), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def stream_size(data: IO[bytes]) -> int:
    """The bytes in a seekable stream (its position goes back to the start)."""
    data.seek(0, io.SEEK_END)
    size = data.tell()
    data.seek(0)
    return size


def open_image(data: IO[bytes], max_bytes: int, max_pixels: int,
               field: str = "photo") -> Image.Image:
    """Check an upload and decode it fully; MediaRefused with the reason otherwise."""
    size = stream_size(data)
    if size == 0:
        raise MediaRefused(_("Choose a photo to upload."), field)
    if size > max_bytes:
        raise MediaRefused(_("The photo is larger than %(mb)d MB.", mb=max_bytes // 2**20),
                           field, code="too_large")
    kind = sniff(data.read(16))
    data.seek(0)
    if kind is None:
        raise MediaRefused(_("This file is not a photo (JPEG, PNG, WebP or GIF)."), field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(data, formats=[kind])
            width, height = image.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise MediaRefused(_("The photo is %(w)d × %(h)d pixels; at most %(n)d million "
                                     "pixels are accepted.", w=width, h=height,
                                     n=max_pixels // 1_000_000), field, code="too_large")
            if kind == "JPEG":
                _decode_smaller(image, width, height)
            image.load()  # the real decode: a truncated or forged file fails here
    except MediaRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRefused(_("The photo has too many pixels."), field, code="too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRefused(_("The photo could not be read: the file is damaged or not a "
                             "photo."), field) from exc
    return image


def _decode_smaller(image: Image.Image, width: int, height: int) -> None:
    """Let the JPEG decoder scale down (1/2, 1/4, 1/8) while keeping the largest size sharp.

    A 12-megapixel photo then decodes at a quarter of the pixels, several times faster; the
    size asked for counts the camera's rotation, which is applied after the decode.
    """
    turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
    upright_w, upright_h = (height, width) if turned else (width, height)
    if upright_w <= WIDTHS[-1]:
        return
    need_w = WIDTHS[-1]
    need_h = -(-upright_h * need_w // upright_w)
    image.draft("RGB", (need_h, need_w) if turned else (need_w, need_h))


def clean(image: Image.Image) -> Image.Image:
    """Upright (the EXIF orientation applied), RGB, and no metadata left at all."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P"
                                                and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    # A new image from the pixels alone: nothing of the upload's info (exif, xmp, comment,
    # icc_profile, dpi) can be written out again by any encoder.
    pixels = Image.new("RGB", upright.size)
    pixels.paste(upright)
    return pixels


@dataclass(frozen=True)
class Rendition:
    """One size of a photo in one format, ready to store."""

    width: int
    height: int
    content_type: str
    data: bytes


def _encode(image: Image.Image, fmt: str, budget: int) -> bytes:
    quality = QUALITY_START
    while True:
        out = io.BytesIO()
        options = {"quality": quality}
        if fmt == "JPEG":
            options.update(optimize=True, progressive=True)
        else:
            options["method"] = 4
        image.save(out, fmt, **options)
        if out.tell() <= budget or quality <= QUALITY_FLOOR:
            return out.getvalue()
        quality -= QUALITY_STEP


def prepare(data: IO[bytes], max_bytes: int, max_pixels: int, field: str = "photo",
            widths: tuple[int, ...] = WIDTHS) -> list[Rendition]:
    """Check, clean and size an upload, off the event loop (core/offload.py)."""
    def work() -> list[Rendition]:
        made = renditions(clean(open_image(data, max_bytes, max_pixels, field)))
        return [r for r in made if r.width <= max(widths)] or made[:2]

    return run_blocking(work)


def renditions(image: Image.Image) -> list[Rendition]:
    """The sizes pages use: each width up to the photo's own (never enlarged), two formats."""
    widths = [w for w in WIDTHS if w <= image.width] or [image.width]
    if image.width < WIDTHS[-1] and image.width not in widths and image.width > widths[-1]:
        widths.append(image.width)  # keep the photo's full width as its largest size
    made = []
    source = image
    for width in sorted(widths, reverse=True):  # each size from the one above it: faster
        height = max(1, round(image.height * width / image.width))
        if width != source.width:
            source = source.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        budget = BUDGETS.get(width, BUDGETS[WIDTHS[-1]])
        for content_type, fmt in FORMATS:
            made.append(Rendition(width, height, content_type, _encode(source, fmt, budget)))
    made.sort(key=lambda r: (r.width, FORMATS.index(next(f for f in FORMATS
                                                        if f[0] == r.content_type))))
    return made
