"""「您是说…吗」: a report whose words were read through a middle-confidence correction (a typo or a
sound-alike, dialogs/nlu/fuzzy.py) is checked with one yes/no before the repair form is filled from it —
yes takes the correction, no reads the words exactly as typed and the form asks what is then missing."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, Outcome, Step, Switch
from dialogs.forms import Form
from dialogs.repair import TEXT as REPAIR_TEXT
from dialogs.repair import understood
from dialogs.repair_form import RepairForm
from dialogs.understand import describes, form_from_parse

TEXT = {
    "title": "确认",
    "ask": "您是说「{meant}」吗？",
    "yes": "是的",
    "no": "不是",
    "help": "回复 1 表示是，回复 2 表示不是，我会按您写的字重新理解。",
}


@dataclass(frozen=True)
class DidYouMeanForm(Form):
    """The words the user typed, and what a correction read them as."""

    VERSION = 1

    text: str | None = None
    typed: str | None = None
    meant: str | None = None


def start(ctx: Ctx, text: str, typed: str, meant: str) -> DidYouMeanForm:
    form = DidYouMeanForm()
    for name, value in (("text", text), ("typed", typed), ("meant", meant)):
        form.set(name, value, lambda: ctx.register)
    return form


def ask(ctx: Ctx) -> str:
    return TEXT["ask"].format(meant=ctx.form(DidYouMeanForm).meant or "")


def choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["yes"], True, yes=True), Choice(TEXT["no"], False, ("错了",), no=True)]


def answered(ctx: Ctx, choice: Choice) -> Outcome:
    text = ctx.form(DidYouMeanForm).text or ""
    return Switch("repair", *repair_from(ctx, text, fuzzy=bool(choice.value)))


def repair_from(ctx: Ctx, text: str, *, fuzzy: bool) -> tuple[str, RepairForm | None]:
    """What the repair dialog starts with, read from the words (with or without the correction)."""
    p = ctx.understand(text, fuzzy=fuzzy)
    if p is None:
        return REPAIR_TEXT["start_from_text"], None
    form = form_from_parse(p, ctx.register)
    if describes(p, text):
        # Only words that say what is wrong describe it: a place alone ("12栋305") waits for the fault.
        form.set("description", text, lambda: ctx.register)
    return understood(ctx, p, form), form


DIALOG = Dialog(
    name="did_you_mean",
    title=TEXT["title"],
    start="ask",
    form=DidYouMeanForm,
    help=TEXT["help"],
    steps=(Step("ask", TEXT["title"], ask, next=END, choices=choices, on_choice=answered),),
)
