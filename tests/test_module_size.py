"""The package reads as small modules (issue 13): none grows past 400 lines unnoticed."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 400


def test_no_module_of_the_package_is_over_400_lines():
    long = {str(path.relative_to(ROOT)): count
            for path in sorted((ROOT / "qa_live").rglob("*.py"))
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"split these modules (over {LIMIT} lines): {long}"
