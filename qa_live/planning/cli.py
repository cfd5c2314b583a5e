"""`flask demo load`: a demonstration year, loaded through the same services the app uses."""

from __future__ import annotations

import uuid
from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import services as live_services
from qa_live.live.models import QuestionSource
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
            live_services.submit_question(
                session, "demo-visitor-" + slug,
                QuestionInput(text=QUESTIONS[index % len(QUESTIONS)], nickname="市民",
                              phone=None, client_id=str(uuid.uuid5(uuid.NAMESPACE_URL, slug))),
                QuestionSource.ADVANCE, now,
            )
            continue
        services.change_state(session, SessionState.LIVE, start)
        if offset < 0:
            services.change_state(session, SessionState.ENDED, end)
    db.session.commit()
    click.echo(f"demo data: {len(depts)} departments, {created} new sessions")
    _print_logins()


@demo_cli.command("logins")
def logins() -> None:
    """Print the demo staff logins."""
    _print_logins()


def _print_logins() -> None:
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}), at http://127.0.0.1:5000/login")
    click.echo("  office                 局办公室: plans the year, manages staff, reads statistics")
    click.echo("  host                   主持人: runs sessions and moderates")
    click.echo("  answerer01…answerer12  值班人员: on-duty staff, one per department")
