"""网上咨询: complaints, suggestions, questions and praise, as the seed's form.

Its answers are a typed ``ConsultForm``; none depends on another (the summary's edit menu forgets the one
field chosen, and the walk asks it again), so its declaration is empty."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.forms import Form
from dialogs.nlu.topics import load_topics
from dialogs.state import Incoming
from models.consult import KINDS, NewConsult, create_consult

TEXT = {
    "title": "意见建议",
    "ask_title": "请给您的意见起个标题（2–30 字），例如「二食堂饭菜偏咸」：",
    "title_bad": "标题请写 2 到 30 个字。",
    "kind": "这是哪一类？（回复数字）",
    "department": "希望哪个部门处理？（回复数字）",
    "description": "请详细说说情况（5–500 字）：",
    "desc_short": "再多写几个字吧（至少 5 个字），说清楚时间、地点和经过，处理起来更快。",
    "desc_long": "内容请控制在 500 字以内（您发了 {n} 字）。",
    "suggestion": "您希望怎么改进？（500 字以内；没有请回复「无」）",
    "suggestion_long": "建议请控制在 500 字以内。",
    "anonymous": "是否匿名？匿名后工作人员看不到您的姓名和电话，但仍可以在这里回复您。",
    "named": "不匿名（方便工作人员联系我）",
    "hidden": "匿名",
    "confirm": "请核对：\n{summary}\n",
    "summary": "标题：{title}\n类型：{kind}\n部门：{department}\n内容：{description}\n{suggestion}{anonymous}",
    "summary_suggestion": "建议：{suggestion}\n",
    "anon_yes": "匿名：是（工作人员看不到您的姓名和电话）",
    "anon_no": "匿名：否",
    "none": "无",
    "submit": "确认提交",
    "edit_department": "修改部门",
    "edit_kind": "修改类型",
    "edit_title": "修改标题",
    "edit_text": "修改内容",
    "edit_suggestion": "修改建议",
    "edit_anonymous": "修改是否匿名",
    "changed": "已改为：{what}。",
    "filed": "已提交，编号 {no}。{department}会尽快处理，回复会通过这里通知您。回复「查看历史」可以查看处理情况。",
    "guessed": "收到您的{kind}，我先帮您填好了（部门：{department}），最后可以修改。",
    "help": "按提示填写标题、类型、部门和内容；每一步都可以回复「返回」修改上一步。",
}
SKIP_WORDS = ("无", "没有", "不用", "暂无", "0")
# The kinds that ask how things should be better: praise and a question have nothing to improve.
IMPROVABLE = ("投诉", "建议")
# Said at the summary: whether the sender is named (the longer words first: 不匿名 holds 匿名).
ANONYMITY_WORDS = (("不匿名", False), ("实名", False), ("匿名", True))


@dataclass(frozen=True)
class ConsultForm(Form):
    """A complaint, suggestion, question or praise before it is filed."""

    VERSION = 1

    title: str | None = None
    kind: str | None = None
    department: str | None = None
    description: str | None = None
    suggestion: str | None = None
    anonymous: bool | None = None


def form(ctx: Ctx) -> ConsultForm:
    return ctx.form(ConsultForm)


def on_start(ctx: Ctx) -> Outcome | None:
    if not ctx.who().bound:
        return Switch("bind", come_back=True)
    return None


def prefill(text: str, departments: tuple[str, ...]) -> ConsultForm:
    """Fill the form from a complaint typed in one message: description, title, guessed department and kind."""
    department, kind = load_topics(departments).guess(text)
    title = text.replace("\n", " ")[:20]
    return ConsultForm(department=department, kind=kind, title=title,
                       description=text if 5 <= len(text) <= 500 else None)


def title(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if not 2 <= len(text) <= 30:
        return Retry(TEXT["title_bad"])
    ctx.set("title", text)
    return Go()


def kind_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(k, k) for k in KINDS]


def department_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(d, d) for d in ctx.register.departments]


def description(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) < 5:
        return Retry(TEXT["desc_short"])
    if len(text) > 500:
        return Retry(TEXT["desc_long"].format(n=len(text)))
    ctx.set("description", text)
    return Go()


def suggestion_skip(ctx: Ctx) -> bool:
    return form(ctx).kind not in IMPROVABLE


def suggestion(ctx: Ctx, msg: Incoming) -> Outcome:
    text = msg.raw.strip()
    if len(text) > 500:
        return Retry(TEXT["suggestion_long"])
    ctx.set("suggestion", None if text in SKIP_WORDS else text)
    return Go()


def anonymous_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["named"], False, ("实名",), no=True), Choice(TEXT["hidden"], True, yes=True)]


def confirm_prompt(ctx: Ctx) -> str:
    f = form(ctx)
    asked = TEXT["summary_suggestion"].format(suggestion=f.suggestion or TEXT["none"])
    summary = TEXT["summary"].format(
        title=f.title, kind=f.kind, department=f.department, description=f.description,
        suggestion=asked if f.kind in IMPROVABLE else "", anonymous=TEXT["anon_yes" if f.anonymous else "anon_no"])
    return TEXT["confirm"].format(summary=summary)


def guessed(f: ConsultForm) -> str:
    """Say what was filled in from a complaint typed in one message."""
    return TEXT["guessed"].format(kind=f.kind, department=f.department)


# What each entry of the summary's edit menu asks again (the field is forgotten; the walk asks it).
EDITS = {"edit_department": "department", "edit_kind": "kind", "edit_title": "title", "edit_text": "description",
         "edit_suggestion": "suggestion", "edit_anonymous": "anonymous"}
FIRST = "title"  # where the walk over the form starts: every step after it is skipped if answered


def confirm_choices(ctx: Ctx) -> list[Choice]:
    edits = [k for k in EDITS if k != "edit_suggestion" or form(ctx).kind in IMPROVABLE]
    return [Choice(TEXT["submit"], "submit", ("提交",), yes=True), *(Choice(TEXT[k], k) for k in edits)]


def correct(ctx: Ctx, msg: Incoming) -> Outcome:
    """Take a change said in words at the summary: a kind ("改成咨询") or whether it is anonymous ("不匿名")."""
    text = msg.text.strip()
    kind = next((k for k in KINDS if k in text), None)
    anonymous = next((value for word, value in ANONYMITY_WORDS if word in text), None)
    if kind is None and anonymous is None:
        return Retry(ENGINE_TEXT["choose_number"])
    said = []
    if kind is not None:
        ctx.set("kind", kind)
        said.append(kind)
    if anonymous is not None:
        ctx.set("anonymous", anonymous)
        said.append(TEXT["hidden" if anonymous else "named"])
    # The walk asks what the new kind needs (a suggestion for 建议) and comes back to the summary.
    return Go(FIRST, TEXT["changed"].format(what="，".join(said)))


def on_confirm(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value != "submit":
        ctx.forget(EDITS[str(choice.value)])
        return Go(FIRST)
    f = form(ctx)
    if not (f.title and f.kind and f.department and f.description):
        return Go(FIRST)  # something is missing: ask it
    consult = create_consult(ctx.session, NewConsult(
        openid=ctx.openid, person_id=ctx.who().person_id, title=f.title, kind=f.kind,
        department=f.department, description=f.description,
        suggestion=f.suggestion if f.kind in IMPROVABLE else None,
        anonymous=bool(f.anonymous), source_key=ctx.msg.msg_key or None))
    return End(TEXT["filed"].format(no=consult.no, department=consult.department))


DIALOG = Dialog(
    name="consult",
    title=TEXT["title"],
    start="title",
    form=ConsultForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("title", "标题", TEXT["ask_title"], next="kind", handle=title, save="title"),
        Step("kind", "类型", TEXT["kind"], next="department", choices=kind_choices, save="kind", auto_single=True),
        Step("department", "部门", TEXT["department"], next="description", choices=department_choices,
             save="department", auto_single=True),
        Step("description", "内容", TEXT["description"], next="suggestion", handle=description,
             save="description"),
        Step("suggestion", "建议", TEXT["suggestion"], next="anonymous", handle=suggestion, save="suggestion",
             skip=suggestion_skip),
        Step("anonymous", "匿名", TEXT["anonymous"], next="confirm", choices=anonymous_choices, save="anonymous"),
        Step("confirm", "确认提交", confirm_prompt, next=END, choices=confirm_choices, on_choice=on_confirm,
             handle=correct, goes_to=(FIRST,)),
    ),
)
