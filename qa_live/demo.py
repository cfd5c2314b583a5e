"""`flask demo load`: a demonstration year, loaded through the same services the app uses."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.core import signals
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import intake, moderation
from qa_live.live.models import PostKind, QuestionSource, RejectReason, Visit
from qa_live.live.validation import QuestionInput
from qa_live.planning import services
from qa_live.planning.models import Department, LiveSession, ModerationMode, SessionState

demo_cli = AppGroup("demo", help="Demonstration data.")

DEMO_PASSWORD = "demo2026qa"  # noqa: S105 - printed for the demo, never a production account

DEPARTMENTS = [
    ("办公室", "办公室"), ("综合处", "综合处"), ("对外贸易处", "外贸处"),
    ("外商投资管理处", "外资处"), ("对外经济合作处", "外经处"), ("市场体系建设处", "市场处"),
    ("商贸服务业处", "服务业处"), ("电子商务处", "电商处"), ("市场秩序处", "秩序处"),
    ("消费促进处", "消费处"), ("口岸与物流处", "口岸处"), ("机电产品进出口处", "机电处"),
]

THEMES = [
    ("稳外贸政策解读与企业出口服务", ["对外贸易处", "机电产品进出口处"]),
    ("扩大消费，服务民生", ["消费促进处", "商贸服务业处"]),
    ("优化外商投资环境", ["外商投资管理处"]),
    ("电子商务进农村与农产品上行", ["电子商务处"]),
    ("家政服务与社区商业网点建设", ["商贸服务业处", "市场体系建设处"]),
    ("单用途预付卡管理与消费维权", ["市场秩序处"]),
    ("企业“走出去”与对外承包工程", ["对外经济合作处"]),
    ("口岸通关便利化", ["口岸与物流处"]),
    ("菜市场与“三绿工程”建设", ["市场体系建设处"]),
    ("商务领域安全生产", ["综合处", "市场秩序处"]),
    ("政府信息公开与政务服务", ["办公室"]),
    ("跨境电商综合试验区建设", ["电子商务处", "对外贸易处"]),
    ("年终岁末市场供应保障", ["消费促进处", "市场秩序处"]),
]

QUESTIONS = [
    "小微外贸企业申请出口信用保险有没有保费补贴？怎么申请？",
    "预付卡商家跑路了，消费者的余额怎么追回？",
    "社区里的菜市场什么时候能改造完成？",
    "跨境电商零售出口可以享受哪些退税政策？",
]

# What citizens ask in the held and the live sessions, with the answers given (the demo's
# stream). A question without an answer stays published and unanswered; one with a reason
# is rejected.
LIVE_QUESTIONS: list[tuple[str, str | None, RejectReason | None]] = [
    ("今年对中小企业参加境外展会还有补贴吗？补贴比例是多少？",
     "有。今年继续支持中小企业参加境外重点展会，展位费按规定比例给予补助，具体以当年申报通知为准，"
     "申报通知将在局门户网站“通知公告”栏目发布。", None),
    ("企业办理对外贸易经营者备案，现在可以全程网上办理吗？",
     "可以。对外贸易经营者备案已实现全程网上办理，企业通过政务服务网提交材料，"
     "审核通过后即可获取备案信息，无需到窗口。", None),
    ("我们小区门口的便民菜店被拆了，买菜很不方便，能不能协调增设网点？",
     "感谢您的反映。我们已将您所在小区的情况记录在案，将会同所在区商务部门实地调查，"
     "结合社区商业网点规划研究增设便民网点，调查结果会通过二次答复告知您。", None),
    ("听说今年还有以旧换新补贴，家电和汽车都能参加吗？",
     "以旧换新活动覆盖汽车和部分家电品类，具体品类、补贴标准和参与商家名单以正式发布的活动"
     "公告为准，请关注局门户网站和官方公众号。", None),
    ("外资企业在本市设立研发中心，有哪些扶持政策？", None, None),
    ("加微信领红包，代办各类补贴申请，包过！", None, RejectReason.SPAM),
]

PENDING_QUESTIONS = [
    "政府信息公开申请一般多少个工作日答复？可以网上申请吗？",
    "有人在群里说加微信可以帮忙办理补贴，这是真的吗？",
]

HOST_POST = ("【政策解读】今年我市继续实施稳外贸稳外资系列措施，重点支持中小企业开拓国际市场、"
             "优化外商投资服务。相关文件全文可在局门户网站“政策文件”栏目查阅。")


@demo_cli.command("load")
def load() -> None:
    """Load demo departments, staff and a year of sessions (safe to run again)."""
    now = utcnow()
    depts = {}
    for name, short in DEPARTMENTS:
        dept = db.session.scalar(select(Department).where(Department.name == name))
        depts[name] = dept or services.create_department(name, short)

    def staff(login: str, display: str, roles: list[Role], dept_names: list[str]) -> User:
        user = auth_services.find_user_by_login(login)
        if user is None:
            user = auth_services.create_user(
                login, display, DEMO_PASSWORD, roles, [depts[n].id for n in dept_names]
            )
        return user

    office = staff("office", "局办公室 王主任", [Role.OFFICE], ["办公室"])
    host = staff("host", "主持人 李明", [Role.HOST], ["办公室"])
    answerers = {
        name: staff(f"answerer{i + 1:02d}", f"{short}值班员", [Role.ANSWERER], [name])
        for i, (name, short) in enumerate(DEPARTMENTS)
    }

    # Thirteen sessions: ten held, one live now, two ahead (the second still a draft).
    offsets = [-(11 - i) * 25 for i in range(10)] + [0, 6, 20]
    created = 0
    for index, ((theme, dept_names), offset) in enumerate(zip(THEMES, offsets, strict=True)):
        slug = f"demo-{index + 1:02d}"
        if db.session.scalar(select(LiveSession).where(LiveSession.slug == slug)):
            continue
        if offset == 0:
            start = now - timedelta(minutes=30)
        else:
            day = (now + timedelta(days=offset)).replace(minute=0, second=0, microsecond=0)
            start = day.replace(hour=1, minute=30)  # 09:30 in Asia/Shanghai
        end = start + timedelta(hours=2)
        draft = services.SessionDraft(
            title=theme,
            description=f"围绕“{theme}”，相关处室负责同志在线解答网民提问，解读相关政策法规。",
            scheduled_start=start,
            scheduled_end=end,
            department_ids=[depts[n].id for n in dept_names],
            host_ids=[host.id],
            answerer_ids=[answerers[n].id for n in dept_names],
            guests=[(f"{depts[n].short_name}负责同志", f"{n}处长") for n in dept_names],
            moderation_mode=ModerationMode.PRE,
            precollect_opens_at=start - timedelta(days=7),
            precollect_closes_at=start,
            slug=slug,
        )
        session = services.create_session(draft, office)
        created += 1
        if index == 12:
            continue  # stays a draft: the office is still preparing it
        announced_at = start - timedelta(days=7)
        services.announce_session(session, announced_at)
        if offset > 0:
            if not session.precollect_open(now):
                continue
            intake.submit_question(
                session, "demo-visitor-" + slug,
                QuestionInput(text=QUESTIONS[index % len(QUESTIONS)], nickname="市民",
                              phone=None, client_id=str(uuid.uuid5(uuid.NAMESPACE_URL, slug))),
                QuestionSource.ADVANCE, now, signed_in=True,  # made-up citizens: any sign-in mode
            )
            continue
        services.change_state(session, SessionState.LIVE, start)
        _demo_stream(session, host, [answerers[n] for n in dept_names], index,
                     min(end, now) if offset == 0 else end)
        if offset < 0:
            services.change_state(session, SessionState.ENDED, end)
            signals.session_ended.send(session, actor=host)  # as moderation.end_session does
    db.session.commit()
    click.echo(f"demo data: {len(depts)} departments, {created} new sessions")
    _print_logins()


def _demo_stream(session: LiveSession, host: User, answerers: list[User], index: int,
                 until: datetime) -> None:
    """What happened in a session that went live: visits, questions, answers, a host post."""
    start = session.started_at or session.scheduled_start
    span = (until - start).total_seconds()

    def at(share: float) -> datetime:
        return start + timedelta(seconds=span * share)

    edges: list[tuple[datetime, int]] = []
    for n in range(40 + 17 * index):  # participant-visits, each a distinct citizen
        visit = Visit(session_id=session.id, visitor_id=f"demo-{session.slug}-v{n}",
                      started_at=at(n / (60 + 17 * index)),
                      ended_at=at(min(1.0, n / (60 + 17 * index) + 0.2)), connections=0)
        db.session.add(visit)
        edges += [(visit.started_at, 1), (visit.ended_at or until, -1)]
    online = 0
    for _moment, step in sorted(edges):  # ends sort before starts at the same moment
        online += step
        session.peak_online = max(session.peak_online or 0, online)
    moderation.create_post(session, host, PostKind.POLICY, HOST_POST, pinned=True)
    count = len(LIVE_QUESTIONS) - (index + 1) % 2  # alternate sessions skip the spam
    for n, (text, reply, reason) in enumerate(LIVE_QUESTIONS[:count]):
        asked = at(0.05 + n * 0.12)
        question, _created = intake.submit_question(
            session, f"demo-{session.slug}-v{n}",
            QuestionInput(text=text, nickname="网友" + str(1000 + 37 * n + index), phone=None,
                          client_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session.slug}/{n}"))),
            QuestionSource.LIVE, asked, signed_in=True,
        )
        if reason is not None:
            moderation.reject(question, host, reason, asked + timedelta(minutes=1))
            continue
        moderation.approve(question, host, now=asked + timedelta(minutes=1))
        if reply is not None:
            moderation.answer(question, answerers[n % len(answerers)], reply,
                              asked + timedelta(minutes=4 + n))
        if n == 2:
            moderation.flag_follow_up(question, answerers[0], True)
    if session.state == SessionState.LIVE:  # still waiting for the host's review
        for n, text in enumerate(PENDING_QUESTIONS):
            intake.submit_question(
                session, f"demo-{session.slug}-p{n}",
                QuestionInput(text=text, nickname="", phone="13812341234" if n == 0 else None,
                              client_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                       f"{session.slug}/p{n}"))),
                QuestionSource.LIVE, at(0.9 + n * 0.03), signed_in=True,
            )


@demo_cli.command("logins")
def logins() -> None:
    """Print the demo staff logins."""
    _print_logins()


def _print_logins() -> None:
    port = os.environ.get("PORT", "5000")
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}), at http://127.0.0.1:{port}/login")
    click.echo("  office                 局办公室: plans the year, manages staff, reads statistics")
    click.echo("  host                   主持人: runs sessions and moderates")
    click.echo("  answerer01…answerer12  值班人员: on-duty staff, one per department")
