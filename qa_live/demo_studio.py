"""The demo year's interview (在线访谈, `demo-14`) in the studio: photo live, materials, a stream
address and a poll. Photos are drawn with Pillow and the policy PDF is written at load time, so
no binary file is kept in the repository. Loaded through the same operations the studio uses:
the session is reviewed, so the text editor's photos go through the reviewer.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import datetime

from PIL import Image, ImageDraw

from qa_live.auth.models import User
from qa_live.live import polls, review
from qa_live.live.media import materials, photo_review
from qa_live.live.review_models import ReviewItem
from qa_live.planning.models import LiveSession
from qa_live.votes.models import ResultsShown

#: A placeholder on a reserved example domain: the page shows the player, nothing is fetched
#: until a viewer presses play (set a real HLS address in the session's form).
STREAM_URL = "https://stream.example.com/qa-live/interview/index.m3u8"
PHOTOS = [
    ("访谈开始前，嘉宾在直播间准备。", (38, 70, 120)),
    ("张卫东副局长介绍今年稳外贸稳外资的主要措施。", (120, 52, 40)),
    ("王建国处长解答网民关于出口信用保险的提问。", (40, 110, 80)),
]
MATERIALS = [
    ("highlight", "看点一：中小外贸企业境外参展补助", "",
     "今年继续支持中小企业参加境外重点展会，展位费按比例给予补助。"),
    ("highlight", "看点二：外资研发中心扶持政策", "",
     "对新设立的外资研发中心，按规定给予资金支持和人才便利。"),
    ("background", "访谈背景", "",
     "为帮助企业用好用足稳外贸稳外资政策，市商务局组织本次在线访谈。\n"
     "访谈期间，网民可以在线提问，嘉宾现场解答。"),
]


def studio_picture(tone: tuple[int, int, int], seed: int, size: tuple[int, int] = (1600, 1067),
                   portrait: bool = False) -> bytes:
    """A made-up studio photo (a desk, people, a backdrop) as a JPEG."""
    rng = random.Random(seed)  # noqa: S311 - picture noise, not a secret
    width, height = size
    image = Image.new("RGB", size, tone)
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 8):  # a soft backdrop gradient
        shade = tuple(min(255, c + y * 60 // height) for c in tone)
        draw.rectangle((0, y, width, y + 8), fill=shade)
    if portrait:
        draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.5), fill=(230, 200, 175))
        draw.rectangle((width * 0.2, height * 0.55, width * 0.8, height), fill=(40, 45, 60))
    else:
        draw.rectangle((0, height * 0.68, width, height), fill=(92, 64, 44))  # the desk
        for n in range(3):
            x = width * (0.2 + 0.3 * n)
            draw.ellipse((x - 70, height * 0.3, x + 70, height * 0.48), fill=(230, 200, 175))
            draw.rectangle((x - 120, height * 0.48, x + 120, height * 0.7),
                           fill=(rng.randrange(30, 80),) * 3)
        draw.rectangle((width * 0.3, height * 0.05, width * 0.7, height * 0.18), fill=(180, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def policy_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF written by hand (Helvetica, so ASCII text), with a valid xref table."""
    text = " ".join(f"({line}) Tj 0 -20 Td" for line in [title, "", *lines])
    stream = f"BT /F1 14 Tf 72 760 Td {text} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
              "%%EOF\n".encode())
    return out.getvalue()


def dress_interview(session: LiveSession, host: User, editor: User, reviewer: User,
                    at: Callable[[float], datetime]) -> None:
    """The live interview's materials (guests with their portraits, notes, the policy PDF),
    its photos (typed in by the editor, approved by the reviewer) and a poll with live results."""
    for kind, title, subtitle, body in MATERIALS:
        materials.add_material(session, host, materials.MaterialInput(kind, title, subtitle,
                                                                      body))
    for n, guest in enumerate(session.guests):
        picture = studio_picture((70 + 40 * n, 90, 130), seed=n, size=(600, 800), portrait=True)
        materials.add_material(
            session, host,
            materials.MaterialInput("guest", guest.name, guest.title,
                                    f"{guest.name}，{guest.title}。"),
            photo=io.BytesIO(picture))
    document = policy_pdf("Measures to stabilise foreign trade and investment (demo)",
                          ["1. Support for trade fairs abroad.", "2. Export credit insurance.",
                           "3. Services for foreign-invested enterprises."])
    materials.add_material(session, host,
                           materials.MaterialInput("policy", "关于稳外贸稳外资的若干措施（示例）"),
                           document=io.BytesIO(document))
    for n, (caption, tone) in enumerate(PHOTOS):
        sent = photo_review.send_photo(session, editor,
                                       io.BytesIO(studio_picture(tone, seed=10 + n)), caption)
        if isinstance(sent, ReviewItem):
            review.approve(sent, reviewer)
    poll = polls.open_poll(session, host, "您最关注哪方面的稳外贸政策？",
                           ["出口信用保险", "境外参展补助", "通关便利", "外资研发中心"], False,
                           ResultsShown.LIVE, at(0.5))
    for n in range(37):
        polls.answer_poll(session, poll, f"demo-{session.slug}-poll-v{n}",
                          [poll.options[(0, 1, 0, 2, 3, 0, 1)[n % 7]].id], at(0.52))
