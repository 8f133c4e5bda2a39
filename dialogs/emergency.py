"""Emergencies (电梯困人, 冒烟起火, 漏电, 水管爆裂, 燃气): the duty phone and what to do now come first.

The words that make a report an emergency, and the advice per kind, are the lexicon's `emergencies`
(dialogs/nlu/lexicon.yaml); the phones are the register's `duty_phone` (the category's, else the
school's).  The repair form is marked with the kind: the dialog (dialogs/repair.py) then asks no
description and no duplicate question, asks the photo as optional, and files the ticket urgent, which
pushes it at once to the category's dispatchers and the workers on duty (core.actions.alerting)."""

from __future__ import annotations

from dialogs.context import Ctx
from dialogs.engine import yes_no
from dialogs.nlu.emergency import Emergency
from dialogs.nlu.parse import Parse, get_parser
from dialogs.repair_form import RepairForm
from dialogs.understand import echo, form_from_parse
from models.register import Register

TEXT = {
    "alert": "⚠️ 紧急情况（{kind}）：请立即拨打 24 小时值班电话 {phone}。",
    "alert_no_phone": "⚠️ 紧急情况（{kind}）：请立即联系宿管或保卫处值班人员。",
    "advice": "现在请：{advice}",
    "filing": "我们同时为您登记紧急报修，提交后调度员和值班师傅会马上收到。",
    "understood": "收到：{echo}",
    "photo": ("方便的话拍一张现场照片发给我（可以不拍：回复「跳过」直接提交）。"
              "安全第一，不要为了拍照靠近危险。"),
    "photo_kept": "照片已收到。",
    "summary_mark": "【紧急】",
    "filed": ("紧急报修成功！单号 {no}。调度员和值班师傅已同时收到通知。\n"
              "如果情况危急，请直接拨打值班电话 {phone}。"),
    "filed_no_phone": "紧急报修成功！单号 {no}。调度员和值班师傅已同时收到通知。",
}
# At the optional photo: no photo, go on (跳过, 没有 …), or file now (确认, 提交 …).
SKIP_WORDS = ("跳过", "没有", "没", "不拍", "不用", "不要", "拍不了", "没法拍", "不方便", "算了", "无", "不")
CONFIRM_WORDS = ("提交", "直接提交", "快点")  # besides a plain yes (dialogs/engine.py)


def kind_of(ctx: Ctx, name: str | None) -> Emergency | None:
    """The lexicon's emergency of this name (a form keeps the name only)."""
    if not name:
        return None
    return next((k for k in get_parser(ctx.register).lexicon.emergencies if k.kind == name), None)


def duty_phone(register: Register, form: RepairForm) -> str | None:
    """The 24-hour phone for the form: its category's (which falls back to the school's), else the school's."""
    category = register.category(form.category)
    return category.duty_phone if category is not None and category.duty_phone else register.duty_phone


def alert(ctx: Ctx, form: RepairForm) -> str:
    """The first thing said about an emergency: whom to phone, and what to do now."""
    kind = kind_of(ctx, form.emergency)
    name = form.emergency or ""
    phone = duty_phone(ctx.register, form)
    lines = [TEXT["alert"].format(kind=name, phone=phone) if phone else TEXT["alert_no_phone"].format(kind=name)]
    if kind is not None:
        lines.append(TEXT["advice"].format(advice=kind.advice))
    lines.append(TEXT["filing"])
    return "\n".join(lines)


def start(ctx: Ctx, raw: str, p: Parse) -> tuple[str, RepairForm]:
    """The repair form an emergency report starts with, and what is said first (the alert, then what was
    understood).  The words themselves are the description, however short ("电梯困人")."""
    form = form_from_parse(p, ctx.register)
    reg = lambda: ctx.register  # noqa: E731
    form.set("emergency", p.emergency, reg)
    words = raw.strip()
    if words:
        form.set("description", words[:500], reg)
    said = echo(form)
    say = alert(ctx, form)
    return (f"{say}\n{TEXT['understood'].format(echo=said)}" if said else say), form


def photo_answer(text: str) -> str | None:
    """What words at the optional photo say: "skip" (no photo), "confirm" (file now), or None."""
    words = text.strip().rstrip("。.!！~")
    if words in CONFIRM_WORDS or yes_no(words) is True:
        return "confirm"
    if words in SKIP_WORDS or any(words.startswith(w) for w in ("没有", "跳过", "不拍", "不用", "拍不了")):
        return "skip"
    return None


def filed_text(ctx: Ctx, form: RepairForm, no: str) -> str:
    phone = duty_phone(ctx.register, form)
    return TEXT["filed"].format(no=no, phone=phone) if phone else TEXT["filed_no_phone"].format(no=no)
