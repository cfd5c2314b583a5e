"""Policy documents checked by content: a PDF that pypdf can open and count pages in."""

from __future__ import annotations

import logging
import warnings
from typing import IO

from flask_babel import gettext as _
from pypdf import PdfReader

from qa_live.live.media.images import MediaRefused, stream_size

#: The PDF header may follow some junk, but within the first kilobyte (as readers accept).
HEADER_WINDOW = 1024


def check_pdf(data: IO[bytes], max_bytes: int, field: str = "document") -> int:
    """The document's page count, or MediaRefused saying why it is not taken."""
    size = stream_size(data)
    if size == 0:
        raise MediaRefused(_("Choose a PDF document to upload."), field)
    if size > max_bytes:
        raise MediaRefused(_("The document is larger than %(mb)d MB.", mb=max_bytes // 2**20),
                           field, code="too_large")
    if b"%PDF-" not in data.read(HEADER_WINDOW):
        data.seek(0)
        raise MediaRefused(_("This file is not a PDF document."), field)
    data.seek(0)
    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # pypdf logs every repair it makes in a sloppy file
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(data, strict=False)
            if reader.is_encrypted:
                raise MediaRefused(_("The PDF is protected with a password; upload one "
                                     "everybody can open."), field)
            pages = len(reader.pages)
    except MediaRefused:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise MediaRefused(_("The PDF could not be read: the file is damaged."), field) from exc
    finally:
        quiet.setLevel(level)
        data.seek(0)
    if pages < 1:
        raise MediaRefused(_("The PDF has no pages."), field)
    return pages
