"""The interface speaks Simplified Chinese first and English on request, with nothing left out."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# Babel's name for zh_CN
MESSAGES_DIR = ROOT / "qa_live" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
PO_FILE = MESSAGES_DIR / "messages.po"
MO_FILE = MESSAGES_DIR / "messages.mo"

# A named printf-style placeholder with its conversion: %(name)s, %(n)d, %(rate).1f …
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")


def _read_catalog(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def _pybabel() -> str:
    """The pybabel script installed next to the running interpreter (the project's venv)."""
    found = shutil.which("pybabel", path=str(Path(sys.executable).parent)) or shutil.which(
        "pybabel"
    )
    if found is None:
        pytest.fail("pybabel is not installed next to the Python running the tests")
    return found


def _extract_interface_strings(tmp_path: Path) -> Catalog:
    """Extract the strings of the current source exactly as `make extract-messages` does."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [_pybabel(), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "-o", str(pot), "--no-location", "--sort-output", "."],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    with pot.open("rb") as fh:
        return read_po(fh)


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in PLACEHOLDER.finditer(text)}


@pytest.fixture
def compiled_catalog() -> Path:
    """The compiled zh_CN catalog, rebuilt in place when missing or older than the .po.

    `make translations` normally builds it; this lets the tests run without make. The new file
    is written beside the old one and renamed over it, so a parallel run never reads half a file.
    """
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        catalog = _read_catalog(PO_FILE)
        fd, temp_name = tempfile.mkstemp(dir=MESSAGES_DIR, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog)
            os.chmod(temp_name, 0o644)  # mkstemp makes it owner-only; the server must read it
            os.replace(temp_name, MO_FILE)
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
    return MO_FILE


def test_every_interface_string_has_a_chinese_translation(tmp_path):
    # Whatever the code and templates show a citizen or a staff member today…
    template = _extract_interface_strings(tmp_path)
    assert len(template) > 0, "pybabel found no strings to translate"
    # …has a finished Chinese translation in the catalog.
    catalog = _read_catalog(PO_FILE)
    missing = []
    for message in template:
        if not message.id:
            continue  # the header entry
        translated = catalog.get(message.id, message.context)
        if translated is None or not translated.string or translated.fuzzy:
            missing.append(message.id)
    assert not missing, (
        f"{len(missing)} interface strings lack a Chinese translation "
        "(run `make extract-messages`, then translate them in "
        f"{PO_FILE.relative_to(ROOT)}):\n" + "\n".join(f"  {m!r}" for m in missing)
    )


def test_translations_keep_placeholders():
    # A translation may move "%(n)d" around the sentence, but never drop, rename or retype it,
    # or the page would fail to render (or show the wrong number) in Chinese.
    catalog = _read_catalog(PO_FILE)
    broken = []
    for message in catalog:
        # Not only python-format entries: a plain sentence translated with a placeholder (a
        # translation paired with the wrong message) fails to render just the same.
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        # Plural forms: every form keeps the singular's placeholders (Chinese has one form).
        expected = _placeholders(ids[-1])
        found = set().union(*(_placeholders(text) for text in strings))
        if any(_placeholders(text) != expected for text in strings):
            broken.append(f"  {message.id!r}: expected {sorted(expected)}, got {sorted(found)}")
    assert not broken, "translations with mismatched placeholders:\n" + "\n".join(broken)


def test_pages_speak_chinese_by_default_and_english_on_request(compiled_catalog, client):
    # A citizen opens the site for the first time: it is in Chinese.
    page = client.get("/")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert '<html lang="zh-CN">' in body
    assert "网络在线问政" in body
    assert "Online Q&A" not in body

    # They pick English; the switch sends them back where they were…
    switch = client.get("/lang/en?next=/")
    assert switch.status_code == 302
    assert switch.headers["Location"].endswith("/")

    # …and from then on the cookie keeps the site in English.
    page = client.get("/")
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert '<html lang="en">' in body
    assert "Online Q&A" in body
    assert "网络在线问政" not in body
