"""The one registry of what a person can open: each entry's menu key, the words that open it in text, its
title and its line of the help, and the dialog (or the one-message answer) behind it. A new dialog is one
module plus one line in ENTRIES; the router only dispatches. An entry opened by a pattern rather than a
word (「撤销 R…」) says how to read it (``reads``): the text becomes the dialog's form, filled in advance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialogs import (
    bind,
    consult,
    consult_history,
    did_you_mean,
    human,
    my_tickets,
    photo_repair,
    profile,
    rate,
    repair,
    ticket_words,
)
from dialogs.context import Ctx
from dialogs.engine import Dialog
from dialogs.forms import Form
from dialogs.notices import notices_reply
from dialogs.reply import Reply


@dataclass(frozen=True)
class Entry:
    """Something a menu click or a word opens."""

    key: str  # the menu key of a CLICK (bot/data/menu.yaml names the same keys)
    title: str
    words: tuple[str, ...] = ()
    help: str = ""  # its line in 「帮助」 ("" = not listed)
    dialog: Dialog | None = None
    answer: Callable[[Ctx], str | Reply] | None = None  # a one-message answer instead of a dialog
    # Reads a message typed with no dialog open: its dialog's form filled in advance, or None (not this entry).
    reads: Callable[[str], Form | None] | None = None


def _help(ctx: Ctx) -> str:
    return help_text()


ENTRIES: tuple[Entry, ...] = (
    Entry("REPAIR", "我要报修", ("报修", "我要报修", "维修"),
          "· 报修：回复「报修」，按提示选择类型、位置，描述问题并拍照", dialog=repair.DIALOG),
    Entry("MY_TICKETS", "我的报修", ("我的报修", "报修进度", "查询进度", "我的维修单"),
          "· 我的报修：查看进度、留言、撤销未受理的报修", dialog=my_tickets.DIALOG, reads=my_tickets.read_number),
    Entry("PHOTO_REPAIR", "拍照报修", ("拍照报修",),
          "· 拍照报修：先发照片，再用一句话说哪里坏了", answer=photo_repair.hint),
    # A bare 「评价」 is a command (dialogs/rate.py) or a choice, not this entry's word.
    Entry("MESSAGE", "留言", (), "· 留言：回复「留言 想说的话」，补充到您处理中的报修单上",
          dialog=ticket_words.MESSAGE_DIALOG, reads=ticket_words.read_message),
    Entry("WITHDRAW", "撤销报修", (), "· 撤销：回复「撤销」或「撤销 单号」，撤销还没受理的报修",
          dialog=ticket_words.WITHDRAW_DIALOG, reads=ticket_words.read_withdraw),
    Entry("RATE", "维修评价", ("维修评价", "我要评价"),
          "· 评价：维修完成后回复「评价 5」（1–5 星，可以接着写几句），没修好请回复「没修好 哪里还有问题」",
          dialog=rate.DIALOG),
    Entry("CONSULT", "投诉建议", ("投诉建议", "意见建议", "网上咨询", "投诉", "建议", "咨询", "我要咨询", "我想咨询"),
          "· 投诉建议：对食堂、宿舍、维修等的意见、建议和咨询", dialog=consult.DIALOG),
    Entry("CONSULT_HISTORY", "查看历史", ("查看历史", "历史记录", "我的投诉"),
          "· 查看历史：您提交过的投诉建议和回复", dialog=consult_history.DIALOG),
    Entry("NOTICES", "通知公告", ("通知公告", "通知", "公告"),
          "· 通知公告：停水、停电等通知", answer=notices_reply),
    Entry("PROFILE", "个人信息", ("个人信息", "我的信息"),
          "· 个人信息：查看和修改电话、默认房间，解除绑定", dialog=profile.DIALOG),
    # 「解除绑定」「解绑」 typed: the profile, at its unbind question.
    Entry("UNBIND", "解除绑定", (), dialog=profile.DIALOG, reads=profile.read_unbind),
    # An 8-digit number typed with no dialog open is a card number: binding starts at its password.
    Entry("BIND", "绑定校园卡", ("绑定", "绑定校园卡", "用户认证"),
          "· 绑定：绑定校园卡（报修前需要）", dialog=bind.DIALOG, reads=bind.read_card),
    Entry("HUMAN", "人工服务", ("人工", "人工客服", "转人工", "找人工", "客服", "人工服务"),
          "· 人工：值班电话和留言方式", answer=human.reply),
    Entry("HELP", "帮助", ("帮助", "使用帮助", "菜单"), answer=_help),
)
# Dialogs that no menu opens (another dialog or a command switches to them).
NESTED: tuple[Dialog, ...] = (rate.REWORK_DIALOG, did_you_mean.DIALOG)

BY_KEY = {e.key: e for e in ENTRIES}
BY_WORD = {w: e for e in ENTRIES for w in e.words}
DIALOGS: tuple[Dialog, ...] = (*dict.fromkeys(e.dialog for e in ENTRIES if e.dialog is not None), *NESTED)
TITLES = {e.key: e.title for e in ENTRIES}

HELP_HEAD = "我可以帮您："
HELP_TAIL = "填写过程中随时可以回复：取消、返回（上一步）、重新开始、帮助。"


def read_entry(raw: str) -> tuple[Entry, Form] | None:
    """The entry a typed pattern opens, with the form it fills; None when no entry reads the text."""
    for e in ENTRIES:
        data = e.reads(raw) if e.reads is not None else None
        if data is not None:
            return e, data
    return None


def help_text() -> str:
    return "\n".join((HELP_HEAD, *(e.help for e in ENTRIES if e.help), HELP_TAIL))


def _check() -> None:
    """Refuse at import a registry that names a key or a word twice."""
    if len(BY_KEY) != len(ENTRIES) or len(BY_WORD) != sum(len(e.words) for e in ENTRIES):
        raise ValueError("dialogs.registry: a menu key or a word is named twice")
    for e in ENTRIES:
        if (e.dialog is None) == (e.answer is None):
            raise ValueError(f"dialogs.registry: {e.key} needs a dialog or an answer, not both")
        if e.reads is not None and e.dialog is None:
            raise ValueError(f"dialogs.registry: {e.key} reads a pattern into a form, so it needs a dialog")


_check()
