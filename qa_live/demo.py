"""`flask demo load`: a demonstration year, loaded through the same services the app uses."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from qa_live import demo_studio
from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.core import signals
from qa_live.core.timeutil import local_year, utcnow
from qa_live.extensions import db
from qa_live.followup.demo import settle_follow_ups
from qa_live.live import intake, moderation, polls, review, screen, studio  # noqa: F401 - kinds
from qa_live.live.models import PostKind, QuestionSource, RejectReason, Visit
from qa_live.live.validation import QuestionInput
from qa_live.planning import approval, services
from qa_live.planning.models import Department, LiveSession, ModerationMode, SessionState
from qa_live.votes import services as vote_services
from qa_live.votes.models import Poll, PollKind, ResultsShown

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
    ("年终岁末市场供应保障", ["消费促进处"]),  # drafted by 消费促进处's planner, awaiting approval
]

# The live interview (在线访谈) beside the year's thirteen sessions: guests in the studio, a text
# editor typing their answers, a reviewer approving them, a director choosing the projector.
INTERVIEW = ("民生在线：稳外贸稳外资在线访谈", ["对外贸易处", "外商投资管理处"])
INTERVIEW_GUESTS = [("张卫东", "市商务局副局长"), ("王建国", "对外贸易处处长"),
                    ("陈敏", "外商投资管理处处长")]
# (question, guest who answers, the answer; None: still waiting)
INTERVIEW_QA: list[tuple[str, int, str | None]] = [
    ("今年稳外贸有哪些新举措？", 0,
     "今年重点支持企业参加境外展会，扩大出口信用保险覆盖面，并与海关一道优化通关服务。"),
    ("外资企业在本市设立研发中心，有哪些扶持政策？", 1,
     "对符合条件的外资研发中心，在用地、人才引进和研发投入方面给予支持，具体可咨询外商投资管理处。"),
    ("小微外贸企业怎样申请出口信用保险保费补贴？", 1,
     "企业投保后，在申报期内通过政务服务网提交保单和缴费凭证即可，补贴按实缴保费的一定比例拨付。"),
    ("跨境电商海外仓建设有没有专项支持？", 0, None),
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
    crew = {"editor": staff("editor", "文字编辑 张晓雨", [Role.EDITOR], ["办公室"]),
            "reviewer": staff("reviewer", "审核 赵立新", [Role.REVIEWER], ["办公室"]),
            "director": staff("director", "导播 孙浩", [Role.DIRECTOR], ["办公室"])}
    planner = staff("planner", "消费处计划员 周敏", [Role.PLANNER], ["消费促进处"])

    # Thirteen sessions over the twelve months to today: ten held (roughly monthly, the latest
    # a few days ago), one live now, two ahead (the second still a draft).
    offsets = [-330, -300, -265, -230, -195, -160, -125, -90, -26, -5, 0, 6, 20]
    created = 0
    for index, ((theme, dept_names), offset) in enumerate(zip(THEMES, offsets, strict=True)):
        slug = f"demo-{index + 1:02d}"
        if db.session.scalar(select(LiveSession).where(LiveSession.slug == slug)):
            continue
        if offset == 0:  # began half an hour ago, on a round five minutes
            start = (now - timedelta(minutes=30)).replace(second=0, microsecond=0)
            start -= timedelta(minutes=start.minute % 5)
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
        if index == 12:  # a department's draft, sent to the office for approval
            approval.submit(services.create_session(draft, planner), planner)
            created += 1
            continue
        session = services.create_session(draft, office)
        created += 1
        announced_at = start - timedelta(days=7)
        services.announce_session(session, announced_at)
        if offset > 0:
            if index == 11:
                _demo_theme_vote(session, office, now)
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
                     min(end, now) if offset == 0 else end, live_now=offset == 0)
        if offset < 0:
            services.change_state(session, SessionState.ENDED, end)
            polls.close_open_polls(session, host, end)  # as moderation.end_session does
            signals.session_ended.send(session, actor=host)  # as moderation.end_session does
            if current_app.config["FOLLOW_UP_AUTO"]:  # the demo year's follow-ups worked through
                settle_follow_ups(session, office, [answerers[n] for n in dept_names], now)
    if not db.session.scalar(select(LiveSession).where(LiveSession.slug == "demo-14")):
        _interview(now, depts, office, host, [answerers[n] for n in INTERVIEW[1]], crew)
        created += 1
    _demo_departments_vote(office, now)
    db.session.commit()
    click.echo(f"demo data: {len(depts)} departments, {created} new sessions")
    _print_logins()


def _interview(now: datetime, depts: dict[str, Department], office: User, host: User,
               answerers: list[User], crew: dict[str, User]) -> None:
    """The live interview: reviewed, guests' answers typed by the editor and approved by the
    reviewer (one still waiting), a host post approved, photos, materials, a stream player and
    a poll (demo_studio.py), the director's question on screen."""
    start = now - timedelta(minutes=20)
    session = services.create_session(services.SessionDraft(
        title=INTERVIEW[0], slug="demo-14", scheduled_start=start,
        scheduled_end=start + timedelta(hours=1, minutes=30),
        description="市商务局负责同志做客访谈间，与网民在线交流稳外贸稳外资政策。",
        department_ids=[depts[n].id for n in INTERVIEW[1]], host_ids=[host.id],
        answerer_ids=[u.id for u in answerers], editor_ids=[crew["editor"].id],
        reviewer_ids=[crew["reviewer"].id], director_ids=[crew["director"].id],
        guests=INTERVIEW_GUESTS, reviewed=True, moderation_mode=ModerationMode.PRE,
        stream_url=demo_studio.STREAM_URL,
        precollect_opens_at=start - timedelta(days=7), precollect_closes_at=start,
    ), office)
    services.announce_session(session, start - timedelta(days=7))
    services.change_state(session, SessionState.LIVE, start)
    at = _visits(session, 120, start, now)
    demo_studio.dress_interview(session, host, crew["editor"], crew["reviewer"], at)
    guests = {g.name: g.id for g in session.guests}
    post = review.submit(session, host, "post", {"body": HOST_POST, "pinned": True})
    review.approve(post, crew["reviewer"])
    waiting = None
    for n, (text, guest, reply) in enumerate(INTERVIEW_QA):
        question, _created = intake.submit_question(
            session, f"demo-demo-14-v{n}",
            QuestionInput(text=text, nickname="网友" + str(2000 + 41 * n), phone=None,
                          client_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-14/{n}"))),
            QuestionSource.LIVE, at(0.1 + n * 0.15), signed_in=True)  # any sign-in mode
        moderation.approve(question, host, now=at(0.12 + n * 0.15))
        if reply is None:
            waiting = question
            continue
        item = review.submit(session, crew["editor"], "answer", {
            "question_id": question.id, "body": reply,
            "guest_id": guests[INTERVIEW_GUESTS[guest][0]]})
        if n < 2:  # the last answer still waits for the reviewer
            review.approve(item, crew["reviewer"])
    if waiting is not None:  # the director shows the question being answered now
        screen.choose(session, "question", waiting.id)


def _visits(session: LiveSession, count: int, start: datetime,
            until: datetime) -> Callable[[float], datetime]:
    """Participant-visits spread over the session so far, and the session's peak online; the
    returned function gives the moment at a share of that span."""
    span = (until - start).total_seconds()

    def at(share: float) -> datetime:
        return start + timedelta(seconds=span * share)

    edges: list[tuple[datetime, int]] = []
    for n in range(count):  # participant-visits, each a distinct citizen
        visit = Visit(session_id=session.id, visitor_id=f"demo-{session.slug}-v{n}",
                      started_at=at(n / (count + 20)),
                      ended_at=at(min(1.0, n / (count + 20) + 0.2)), connections=0)
        db.session.add(visit)
        edges += [(visit.started_at, 1), (visit.ended_at or until, -1)]
    online = 0
    for _moment, step in sorted(edges):  # ends sort before starts at the same moment
        online += step
        session.peak_online = max(session.peak_online or 0, online)
    return at


def _demo_stream(session: LiveSession, host: User, answerers: list[User], index: int,
                 until: datetime, live_now: bool = False) -> None:
    """What happened in a session that went live: visits, questions, answers, a host post."""
    start = session.started_at or session.scheduled_start
    at = _visits(session, 40 + 17 * index, start, until)
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
    if session.state == SessionState.LIVE:
        _demo_polls(session, host, at)
    if live_now:  # questions still waiting for the host's review
        for n, text in enumerate(PENDING_QUESTIONS):
            intake.submit_question(
                session, f"demo-{session.slug}-p{n}",
                QuestionInput(text=text, nickname="", phone="13812341234" if n == 0 else None,
                              client_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                       f"{session.slug}/p{n}"))),
                QuestionSource.LIVE, at(0.9 + n * 0.03), signed_in=True,
            )


def _demo_departments_vote(office: User, now: datetime) -> None:
    """December's vote on next year's departments: closed yesterday, with its results."""
    year = local_year(now) + 1
    if db.session.scalar(select(Poll).where(Poll.kind == PollKind.DEPARTMENTS,
                                            Poll.plan_year == year)):
        return
    opened = now - timedelta(days=20)
    poll = vote_services.create_departments_vote(
        year, f"{year}年，您希望哪些处室走进“网络在线问政”？", [], 3, office,
        "每人最多选三个处室；投票结束后公布结果，局办公室据此安排明年的专场。", now=opened)
    vote_services.open_vote(poll, office, opened)
    for n in range(240):  # each citizen picks one to three departments, some more often
        picks = [poll.options[(n * k + k * k) % len(poll.options)].id for k in (1, 3, 7)]
        chosen = list(dict.fromkeys(picks[: 1 + n % 3]))
        vote_services.cast_vote(poll, f"demo-vote-{year}-{n}", chosen,
                                opened + timedelta(hours=n * 1.5))
    vote_services.close_vote(poll, office, now - timedelta(days=1))


def _demo_theme_vote(session: LiveSession, office: User, now: datetime) -> None:
    """The announced session's theme, voted from the department's candidates (open now)."""
    poll = vote_services.create_theme_vote(
        session, "本期专场您最想聊哪个话题？",
        [session.title, "跨境电商出口退税与海外仓", "直播电商规范发展"], office,
        "得票最多的话题将作为本期专场的主题。", now=now - timedelta(days=3))
    vote_services.open_vote(poll, office, now - timedelta(days=3))
    for n in range(37):
        option = poll.options[(0, 0, 1, 2, 0, 1, 0)[n % 7]]
        vote_services.cast_vote(poll, f"demo-theme-{session.slug}-{n}", [option.id],
                                now - timedelta(hours=60 - n))


def _demo_polls(session: LiveSession, host: User,
                at: Callable[[float], datetime]) -> None:
    """A session's polls: one closed with its results, one open with live results (a held
    session's closes when it ends)."""
    voters = [f"demo-{session.slug}-v{n}" for n in range(60)]
    first = polls.open_poll(session, host, "您是通过什么渠道知道本场问政的？",
                            ["政府网站", "微信公众号", "朋友转发", "新闻报道"], True,
                            ResultsShown.LIVE, at(0.2))
    for n, visitor in enumerate(voters[:48]):
        chosen = [first.options[n % 4].id] + ([first.options[0].id] if n % 5 == 0 else [])
        polls.answer_poll(session, first, visitor, list(dict.fromkeys(chosen)), at(0.21))
    polls.close_poll(session, first, host, at(0.4))
    second = polls.open_poll(session, host, "您对本场政策解读的清晰程度是否满意？",
                             ["满意", "基本满意", "不满意"], False, ResultsShown.LIVE, at(0.8))
    for n, visitor in enumerate(voters[10:41]):
        polls.answer_poll(session, second, visitor, [second.options[min(n % 7, 2)].id],
                          at(0.81))


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
    click.echo("  editor                 文字编辑: types the guests' answers (interview demo-14)")
    click.echo("  reviewer               审核: approves answers, posts and photos of the interview")
    click.echo("  director               导播: chooses what the interview's projector shows")
    click.echo("  planner                处室计划员 (消费促进处): drafts the department's sessions")
