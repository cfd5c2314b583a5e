"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from flask import Flask, current_app, request
from flask_babel import format_date, format_time, get_locale
from flask_babel import gettext as _

from qa_live.core.timeutil import to_local

#: Times of day read the same in both languages: 24-hour, hours and minutes (09:30, 14:05).
#: Babel's English formats would say "9:30 AM" beside a console's "14:05"; see README.
TIME_PATTERN = "HH:mm"


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """Format an aware datetime in the configured zone for the current language.

    The date follows the language's short/medium/long/full pattern; the time of day is always
    TIME_PATTERN, in every language.
    """
    if value is None:
        return ""
    if fmt == "input":  # the value of an <input type="datetime-local">
        local = to_local(value)
        return local.strftime("%Y-%m-%dT%H:%M") if local else ""
    if fmt == "time":
        local = to_local(value)
        return local.strftime("%H:%M") if local else ""
    locale = get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])
    date = format_date(value, fmt)
    time = format_time(value, TIME_PATTERN)
    pattern = str(locale.datetime_formats.get(fmt) or "{1} {0}")
    return pattern.replace("'", "").replace("{1}", date).replace("{0}", time)


def isolate(value: object) -> str:
    """User text inside plain text that markup cannot reach (a page's <title>), bidi-isolated.

    Between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE, a right-to-left
    name or a U+202E in it cannot reorder the text after it. In HTML, use <bdi> or dir="auto"
    on the element holding the text instead.
    """
    return f"\u2068{value}\u2069"


def init_app(app: Flask) -> None:
    """Register filters and the context every page needs (language, zone)."""
    app.jinja_env.filters["local_dt"] = local_datetime
    app.jinja_env.filters["isolate"] = isolate

    @app.context_processor
    def _globals() -> dict:
        locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        return {
            "current_locale": locale,
            "html_lang": "zh-CN" if locale.startswith("zh") else "en",
            "other_language": ("en", "English") if locale.startswith("zh") else ("zh_CN", "中文"),
            "site_name": _("Online Q&A"),
            "current_path": request.full_path.rstrip("?") if request else "/",
        }
