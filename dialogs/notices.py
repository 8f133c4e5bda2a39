"""通知公告: the notices in force, as a WeChat news reply (at most 8 articles)."""

from __future__ import annotations

from dialogs.context import Ctx
from dialogs.reply import Article, Reply
from models.clock import local
from models.notices import current_notices

TEXT = {
    "none": ("目前没有新的通知公告。以往的通知可以在这里查看：{url}\n"
             "您那里没水、没电的话，直接告诉我就能报修，如「12栋502没水了」。"),
    "more": "查看全部通知",
    "more_desc": "以往的通知公告",
    "until": "有效期至 {end:%m-%d %H:%M}",
}
# WeChat shows at most 8 articles in one news reply; keep the last place for the list page.
MAX_ARTICLES = 8


def notices_reply(ctx: Ctx) -> Reply:
    """Answer 通知公告 with the current notices, each opening its own page."""
    base = ctx.config.public_url.rstrip("/")
    notices = current_notices(ctx.session, limit=MAX_ARTICLES - 1)
    if not notices:
        return Reply(TEXT["none"].format(url=f"{base}/notices"))
    articles = [Article(n.title, _summary(n.body, TEXT["until"].format(end=local(n.ends_at)) if n.ends_at else None),
                        f"{base}/notices/{n.id}") for n in notices]
    articles.append(Article(TEXT["more"], TEXT["more_desc"], f"{base}/notices"))
    return Reply(articles=tuple(articles))


def _summary(body: str, until: str | None) -> str:
    text = body.strip().replace("\n", " ")
    text = text if len(text) <= 60 else text[:59] + "…"
    return f"{text}（{until}）" if until else text
