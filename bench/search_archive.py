"""Time the archive's search over a large archive: `python bench/search_archive.py [QUESTIONS]`.

Fills a database (DATABASE_URL, else a temporary SQLite file) with 13 ended sessions holding
QUESTIONS published questions (default 1,000,000) of 10 to 40 characters made of common words of
the bureau's topics, an answer for 60% of them, then indexes them (the trigger-fed queue,
applied by catch_up(), as the first search would) and times search_archive() (the archive
page's count, exact up to 10,000, and first page of 20) for words of one to six characters, from
very common to absent, then with a year filter and on deep pages, --runs times each. `--json
PATH` writes the figures; the last line printed is "RESULT <the same JSON>". The rows are
bulk-inserted; tests/test_search.py checks the results.
With --filled it reuses an archive it filled before (a SQLite DATABASE_URL keeps its file):
it applies newer migrations and whatever they queued for the index (timed), then times.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
from sqlalchemy import func, insert, select, text

from config import TestingConfig
from qa_live import create_app
from qa_live.extensions import db
from qa_live.live.models import Answer, Question
from qa_live.planning.models import LiveSession
from qa_live.transcript import search, services

YEAR = 2025
BATCH = 20_000
# Words of the bureau's topics; the first fifth are drawn more often than the rest.
WORDS = ("企业 补贴 申请 政策 出口 外贸 市场 办理 服务 电子商务 信用 保险 进口 价格 税费 退款 口岸 "
         "通关 物流 消费 社区 菜市场 家政 培训 资金 项目 标准 网上 材料 流程 时间 部门 费用 投资 "
         "外资 境外 展会 品牌 农产品 供应 储备 便利店 商户 预付卡 加工贸易 内销 机电 备案 许可 "
         "跨境 仓储 冷链 超市 餐饮 家电 以旧换新 汽车 成品油 会展 招商 园区 融资 担保 小微 个体 "
         "就业 人才 知识产权 检验 认证 质量 安全 监管 投诉 维权 合同 纠纷 期限 条件 窗口 热线 "
         "网站 平台 数据 统计 公示 公开 审批 许可证 执照 登记 年检 注销 变更 迁移 扶持 奖励 "
         "直播 电商 快递 配送 乡村 农村 城乡 节日 春节 中秋 国庆 促销 优惠 发票 退税 汇率 结算 "
         "外汇 订单 海运 空运 港口 集装箱 保税 免税 海关 商检 检疫 原产地 证书 关税 配额").split()
PARTICLES = list("的了吗呢和与及在对从把被是有没怎么么什")
QUERIES = ["外贸", "补贴", "退款", "预付卡", "出口信用保险", "以旧换新", "跨境电商", "集装箱",
           "企", "税", "不在档案里的词", "ABC"]


# Other words: pairs of common characters (about 2,800 of them), drawn 85% of the time, so a
# topic word such as 外贸 is in about 2% of the questions (with their answers), as in a real
# archive, not in a quarter of them.
COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
          "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加"
          "量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与"
          "关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者"
          "最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少"
          "图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研")


def sentence(rng: random.Random) -> str:
    """A question-like text of 10 to 40 characters."""
    out = ""
    target = rng.randint(10, 40)
    while len(out) < target:
        if rng.random() < 0.85:
            word = rng.choice(COMMON) + rng.choice(COMMON)
        else:
            word = WORDS[rng.randrange(len(WORDS))]
        out += word + (rng.choice(PARTICLES) if rng.random() < 0.3 else "")
    return out[:target] + rng.choice("？。")


def fill(n_questions: int) -> None:
    """Bulk-insert 13 ended sessions of published questions, 60% answered."""
    rng = random.Random(14)
    sessions = []
    for i in range(13):
        start = datetime(YEAR, i % 12 + 1, 10, 1, 30, tzinfo=UTC)
        s = LiveSession(slug=f"bench-{i}", title=f"专场{i}", scheduled_start=start,
                        scheduled_end=start + timedelta(hours=2), plan_year=YEAR,
                        state="ended", started_at=start, ended_at=start + timedelta(hours=2))
        db.session.add(s)
        sessions.append(s)
    db.session.commit()
    per = n_questions // len(sessions)
    qid = 0
    for s in sessions:
        for base in range(0, per, BATCH):
            qs, ans = [], []
            for _k in range(base, min(per, base + BATCH)):
                qid += 1
                asked = s.scheduled_start + timedelta(seconds=rng.randint(0, 7000))
                answered = rng.random() < 0.6
                body = sentence(rng)
                qs.append({"id": qid, "session_id": s.id, "client_id": f"c{qid}",
                           "visitor_id": f"v{qid}", "access_token": f"t{qid}", "nickname": "",
                           "phone": None, "source": "live", "original_text": body, "text": body,
                           "status": "answered" if answered else "approved",
                           "reject_reason": None, "department_id": None, "upvotes": 0,
                           "pinned": False, "needs_follow_up": False, "sensitive_hits": "",
                           "created_at": asked, "published_at": asked,
                           "answered_at": asked + timedelta(seconds=60) if answered else None})
                if answered:
                    ans.append({"id": qid, "question_id": qid, "kind": "live",
                                "body": "感谢关注。" + sentence(rng) + sentence(rng),
                                "created_at": asked + timedelta(seconds=60)})
            conn = db.session.connection()
            conn.execute(insert(Question.__table__), qs)
            if ans:
                conn.execute(insert(Answer.__table__), ans)
            db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(action) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def database_bytes() -> int | None:
    """The database's size on disk."""
    if db.engine.dialect.name == "postgresql":
        return db.session.scalar(text("SELECT pg_database_size(current_database())"))
    path = db.engine.url.database
    return sum(Path(p).stat().st_size for p in (path, f"{path}-wal") if p and Path(p).exists())


def main() -> None:
    """Fill, index, then time."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed searches per word")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--filled", action="store_true",
                        help="DATABASE_URL is an archive this script filled and indexed before: "
                        "only time the searches")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='qa_bench_search_')}/bench.sqlite3")
    app = create_app(type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    result: dict = {"questions": args.questions}
    with app.app_context():
        result["database"] = db.engine.dialect.name
        if not args.filled:
            if result["database"] == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            flask_migrate.upgrade()
            result["fill_seconds"] = round(timed(lambda: fill(args.questions)), 1)
        else:
            # An archive filled by an earlier version: its new migrations queue what they index.
            flask_migrate.upgrade()
        answers = db.session.scalar(select(func.count()).select_from(Answer))
        result["answers"] = answers
        if not args.filled:
            print(f"{result['database']}: filled {args.questions} questions and {answers} "
                  f"answers in {result['fill_seconds']} s (the triggers queue each text)")
        queued = db.session.scalar(select(func.count()).select_from(search.SearchQueue)) or 0
        db.session.rollback()
        if queued:
            took = timed(search.catch_up)
            result["index_seconds"] = round(took, 1)
            result["index_queued"] = queued
            # A small archive indexes in well under 0.05 s: the rate from the unrounded time.
            print(f"applied {queued} queued changes in {result['index_seconds']} s "
                  f"({queued / max(took, 1e-6):.0f} changes/s)")
        if result["database"] == "postgresql":
            for table in ("search_question_grams", "search_answer_grams", "search_archive_grams"):
                db.session.execute(text(f"ANALYZE {table}"))
            db.session.commit()
        result["database_bytes"] = database_bytes()
        # As wsgi.py does in the server: what was set up (the app, the migrations' modules:
        # ~300,000 objects) is never scanned again by the garbage collector, whose full
        # collections took 85-110 ms each here and fell inside timed searches (137 ms at most
        # for a 42 ms search).
        gc.collect()
        gc.freeze()
        result["searches"] = {}
        result["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
        # The words on the archive's first page, then two with a filter and deep pages (of a
        # pair, a character and a phrase, whose hits PostgreSQL re-checks in the rows).
        cases = [(q, {}) for q in QUERIES] + [
            (f"{q} ({YEAR})", {"year": YEAR}) for q in ("外贸", "税")] + [
            (f"{q} (page {page})", {"page": page})
            for q, page in (("外贸", 100), ("税", 500), ("预付卡", 100), ("预付卡", 500))]
        for name, options in cases:
            query = name.split(" (")[0]
            found = services.search_archive(query, **options)  # warm: caches and the plan
            times = []
            for _ in range(args.runs):
                db.session.rollback()
                times.append(timed(lambda q=query, o=options: services.search_archive(q, **o))
                             * 1000)
            record = {"hits": found.total, "capped": found.capped,
                      "median_ms": round(statistics.median(times), 1),
                      "max_ms": round(max(times), 1)}
            result["searches"][name] = record
            shown = f"{found.total}{'+' if found.capped else ''}"
            print(f"search {name!r}: {shown} hits, median {record['median_ms']} ms, "
                  f"max {record['max_ms']} ms")
        result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        # One new question, then a search: the queue has one change to apply.
        new = "新问题：外贸企业的补贴？"
        db.session.execute(insert(Question.__table__).values(
            id=(db.session.scalar(select(func.max(Question.id))) or 0) + 1,
            session_id=1, client_id=f"new-{time.time_ns()}", visitor_id="v",
            access_token=f"new-{time.time_ns()}", nickname="",
            source="live", original_text=new, text=new,
            status="approved", upvotes=0, pinned=False, needs_follow_up=False,
            sensitive_hits="", created_at=datetime(YEAR, 1, 10, 2, tzinfo=UTC)))
        db.session.commit()
        result["after_change_ms"] = round(timed(lambda: services.search_archive("外贸")) * 1000, 1)
        print(f"search '外贸' right after a new question: {result['after_change_ms']} ms")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print("RESULT " + json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
