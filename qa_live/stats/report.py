"""The annual report's paragraph on online Q&A, in the seed report's own form, from the figures.

The Chinese paragraph is generated in Chinese whatever the page's language (it goes into the
bureau's Chinese report as it stands), so its template lives here, not in the catalog; the
English version goes through the catalog like every other string.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from qa_live.stats.figures import Summary

#: The form of the seed report (section 二(三)2): 全年…确定了全年13场“网络在线问政”专场。截至年底，
#: 已组织完成13场，有12个处室上线，参与网民达2482人次，问题159个，答复率达到100%。
ZH_PLANNED = "全年组织相关业务处室确定了全年{planned}场“网络在线问政”专场{cancelled}。"
ZH_HELD = ("{as_of}，已组织完成{held}场{live}，有{departments}个处室上线，"
           "参与网民达{visits}人次{unique}，")
ZH_QUESTIONS = "问题{questions}个"
ZH_QUESTIONS_VALID = "问题{asked}个，其中有效提问{valid}个"
ZH_RATE = "，答复率达到{rate}"
ZH_LIVE_RATE = "（现场答复率{rate}）"
ZH_AS_OF = "（数据截至{year}年{month}月{day}日）"
ZH_FOLLOW_UPS = "会后二次答复{second}个；线下落实{opened}件，已办结{closed}件，办结率{close_rate}。"


def as_of_zh(summary: Summary, today: date) -> str:
    """'截至年底' once the period is over, else '截至M月D日' (today: the day figures run to)."""
    if today > summary.end:
        return "截至年底" if summary.whole_year else f"截至{summary.end.month}月{summary.end.day}日"
    return f"截至{today.month}月{today.day}日"


def paragraph_zh(summary: Summary, today: date) -> str:
    """The Chinese paragraph, every number straight from the summary.

    ``today`` is the day the figures run to (the as-of date, or today); once the period is
    over the paragraph names it at the end: "（数据截至2026年1月10日）".
    """
    counts = summary.counts
    text = ZH_PLANNED.format(
        planned=summary.sessions_planned,
        cancelled=f"（其中{summary.sessions_cancelled}场取消）" if summary.sessions_cancelled
        else "")
    held = summary.sessions_held - summary.sessions_live
    text += ZH_HELD.format(
        as_of=as_of_zh(summary, today), held=held,
        live=f"（另有{summary.sessions_live}场正在进行）" if summary.sessions_live else "",
        departments=summary.departments_online, visits=summary.participant_visits,
        unique=f"（{summary.unique_visitors}人）" if names_unique_visitors() else "")
    if counts.asked == counts.valid:
        text += ZH_QUESTIONS.format(questions=counts.valid)
    else:
        text += ZH_QUESTIONS_VALID.format(asked=counts.asked, valid=counts.valid)
    if counts.valid:
        text += ZH_RATE.format(rate=counts.answer_rate.percent())
        if counts.answered_later:
            text += ZH_LIVE_RATE.format(rate=counts.live_answer_rate.percent())
    text += "。"
    if counts.second_replies or counts.follow_ups_opened:
        text += ZH_FOLLOW_UPS.format(
            second=counts.second_replies, opened=counts.follow_ups_opened,
            closed=counts.follow_ups_closed, close_rate=counts.close_rate.percent())
    if today > summary.end:  # "截至年底" names the sessions; this the day the figures run to
        text += ZH_AS_OF.format(year=today.year, month=today.month, day=today.day)
    return text


def names_unique_visitors() -> bool:
    """Whether the office wants the paragraph to name unique visitors beside 人次 (a setting)."""
    return bool(current_app.config.get("REPORT_UNIQUE_VISITORS"))


def paragraph_en(summary: Summary, today: date) -> str:
    """The same paragraph in English, whatever the page's language (strings from the catalog)."""
    with force_locale("en"):
        return _paragraph_en(summary, today)


def _paragraph_en(summary: Summary, today: date) -> str:
    counts = summary.counts
    parts = [ngettext("%(num)d online Q&A session was planned for the period.",
                      "%(num)d online Q&A sessions were planned for the period.",
                      summary.sessions_planned)]
    if summary.sessions_cancelled:
        parts.append(ngettext("%(num)d of them was cancelled.", "%(num)d of them were cancelled.",
                              summary.sessions_cancelled))
    held = summary.sessions_held - summary.sessions_live
    if today > summary.end:
        parts.append(_("By the end of the period, %(held)d had been held.", held=held))
    else:
        parts.append(_("By %(date)s, %(held)d had been held.", date=today.isoformat(), held=held))
    if summary.sessions_live:
        parts.append(ngettext("%(num)d more is live now.", "%(num)d more are live now.",
                              summary.sessions_live))
    parts.append(ngettext("%(num)d department went online.", "%(num)d departments went online.",
                          summary.departments_online))
    if names_unique_visitors():
        parts.append(ngettext(
            "Citizens made %(num)d participant-visit by %(unique)d different citizens.",
            "Citizens made %(num)d participant-visits by %(unique)d different citizens.",
            summary.participant_visits, unique=summary.unique_visitors))
    else:
        parts.append(ngettext("Citizens made %(num)d participant-visit.",
                              "Citizens made %(num)d participant-visits.",
                              summary.participant_visits))
    parts.append(ngettext("Citizens asked %(num)d question.", "Citizens asked %(num)d questions.",
                          counts.asked))
    if counts.asked != counts.valid:
        parts.append(ngettext("Of them, %(num)d was valid.", "Of them, %(num)d were valid.",
                              counts.valid))
    if counts.valid and counts.answered_later:
        parts.append(_("The answer rate was %(rate)s (%(live)s answered during the session).",
                       rate=counts.answer_rate.percent(),
                       live=counts.live_answer_rate.percent()))
    elif counts.valid:
        parts.append(_("The answer rate was %(rate)s.", rate=counts.answer_rate.percent()))
    if counts.second_replies or counts.follow_ups_opened:
        parts.append(ngettext(
            "%(num)d question received a second reply after its session.",
            "%(num)d questions received a second reply after their session.",
            counts.second_replies))
        parts.append(ngettext(
            "%(num)d follow-up was opened and %(closed)d closed (close rate %(rate)s).",
            "%(num)d follow-ups were opened and %(closed)d closed (close rate %(rate)s).",
            counts.follow_ups_opened, closed=counts.follow_ups_closed,
            rate=counts.close_rate.percent()))
    if today > summary.end:
        parts.append(_("Figures as of %(date)s.", date=today.isoformat()))
    return " ".join(parts)
