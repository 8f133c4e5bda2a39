"""The dialog engine: dialogs declared as data, walked one message at a time.

A ``Dialog`` is a list of ``Step``s.  Each step has a prompt, either numbered
choices or a handler that validates the message, and the names of the steps it
may lead to: the step table is the one place transitions are written.  A handler
returns an ``Outcome``: ``Go()`` on to the step's ``next`` (or ``Go("x")`` to a step
it declares in ``goes_to``), ``Retry`` the same step with a reason, ``End`` the
dialog, or ``Switch`` to another dialog (optionally coming back afterwards, as
binding does before a repair).  What a dialog was told is kept in its typed form
(dialogs/forms.py), whose declaration says which answers depend on which.

The engine owns what is common to every step: numbered choices, global words
(取消, 返回/上一步, 重新开始, 帮助), skipping what is already known, the
question after a long pause, and the question when a menu is clicked in the
middle of a dialog.  Dialog definitions are checked when they are built.

A step declared ``read_only`` (a list, a ticket, the profile page) only shows things: nothing typed
there can be lost, so the engine asks neither the pause question nor 「要离开吗？」 there, and a message
that does not answer the screen (``Engine.leaves``) is for the router to take as if no dialog were open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dialogs.forms import FORMS, Blank, Form
from dialogs.reply import Reply
from dialogs.state import Incoming, Resume, State
from models.errors import DialogDefinitionError

if TYPE_CHECKING:
    from dialogs.context import Ctx

END = "__end__"

TEXT = {
    "choose_number": "请回复列表前的数字。",
    "bad_number": "没有第 {n} 项，请回复 1 到 {max} 之间的数字。",
    "need_text": "这一步需要文字回复。",
    "need_image": "这一步需要一张照片：点输入框旁的「+」，选「相册」或「拍摄」发送。",
    "empty": "没有收到内容，请再说一次。",
    "cancelled": "好的，已取消。需要时回复「报修」重新开始，回复「帮助」看看我能做什么。",
    "nothing_to_cancel": "当前没有进行中的操作。回复「报修」开始报修，回复「帮助」查看全部功能。",
    "first_step": "已经是第一步了。",
    "restarted": "好的，从头开始。",
    "globals": "随时可以回复：取消（放弃）、返回（上一步）、重新开始、帮助。",
    "pause": "您还有一份未完成的{title}（停在「{step}」）。\n回复 1 继续填写\n回复 2 重新开始\n回复 3 放弃",
    "leave": "您正在{title}（停在「{step}」）。要离开吗？{drops}\n回复 1 离开，去「{target}」\n回复 2 继续填写",
    "leave_drops": "离开的话，已经填写的内容不会保存。",
    "pending_help": "回复数字选择；也可以直接接着填写，或回复「取消」放弃这张单。",
    "kept": "好的，继续填写。",
}

# A form with this many answers is told, at 「要离开吗？」, that leaving drops them.
LEAVE_WARNS_AT = 3

GLOBAL_WORDS = {
    "取消": "cancel", "退出": "cancel", "放弃": "cancel",
    "返回": "back", "上一步": "back",
    "重新开始": "restart", "重来": "restart",
    "帮助": "help", "?": "help", "？": "help",
}

# Words that give up a form, but that a yes/no screen reads as its no (算了 = 不用): they cancel only at a step
# that takes words or offers no such line.
QUIT_WORDS = frozenset({"算了", "不报了", "不修了", "不弄了"})


# -- what a step returns ------------------------------------------------------------

@dataclass(frozen=True)
class Go:
    """Go on: to the step's ``next`` when ``step`` is empty, else to a step the step declares in ``goes_to``."""

    step: str = ""
    say: str = ""


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class End:
    say: str


@dataclass(frozen=True)
class Switch:
    flow: str
    say: str = ""
    data: Form | None = None  # the other dialog's form, filled in advance
    come_back: bool = False


Outcome = Go | Retry | End | Switch


@dataclass(frozen=True)
class Choice:
    """One numbered line of a choice screen. ``yes``/``no`` declare the line that a plain yes or a plain no
    (the shared words below: 是的、嗯、好、确定… / 不、算了、不用…) picks on that screen."""

    label: str
    value: Any
    aliases: tuple[str, ...] = ()
    yes: bool = False
    no: bool = False


# The one home of the words that answer a yes/no screen. A no is a reply that starts with a negative (不撤了,
# 不一样), checked before a yes since 不是 holds 是, unless it is one of the negatives that agree (没问题). A yes is
# a reply made only of agreeing words (嗯嗯, 对 就是这个): "是三楼" is a correction, not a yes.
AGREEING_NEGATIVES = ("没问题", "没错", "不错", "没毛病")
NO_WORDS = ("不", "否", "没", "别", "算了", "拉倒", "no", "nope")
YES_WORDS = ("是", "对", "嗯", "恩", "好", "行", "可以", "确定", "确认", "同意", "当然", "要", "ok", "okay", "yes",
             "没问题", "没错", "不错", "没毛病")
# What may come with a yes and changes nothing: 是的, 好了, 对 就是这个, 可以提交, 好谢谢.
YES_TAIL = ("的", "了", "就是", "这个", "这样", "就这样", "提交", "谢谢", "吧", "嘞", "啦", "滴")
# A yes or a no is a short answer: a longer sentence says something else and is read as such.
YES_NO_MAX = 6
_FILLER = re.compile(r"[\s,，.。!！~～、…:：;；'\"“”‘’()（）啊呀哈呢嘛哦噢喔]+")


Prompt = str | Callable[["Ctx"], str]


@dataclass(frozen=True)
class Step:
    """One step: a prompt, then either numbered choices or a handler.

    ``save`` names the form field the step fills: a step whose field is already
    known is skipped on the way forward ("ask only for what is missing").  What
    depends on the field is the form's declaration (dialogs/forms.py), not the step's.
    """

    name: str
    title: str
    prompt: Prompt
    next: str = END
    handle: Callable[[Ctx, Incoming], Outcome] | None = None
    choices: Callable[[Ctx], Sequence[Choice]] | None = None
    on_choice: Callable[[Ctx, Choice], Outcome] | None = None
    save: str | None = None
    expects: str = "text"  # text | image | any (the handler takes whatever comes)
    goes_to: tuple[str, ...] = ()
    skip: Callable[[Ctx], bool] | None = None
    auto_single: bool = False
    help: str = ""
    # The step only shows things: what does not answer it goes where it would go with no dialog open.
    read_only: bool = False
    # At a read-only step, text that answers it besides a list number or a choice's label (a ticket number).
    answers: Callable[[Ctx, Incoming], bool] | None = None
    # What 返回 says here instead of going back a step: a summary whose every line has its own edit.
    back: str = ""

    def targets(self) -> set[str]:
        return {self.next, *self.goes_to}


@dataclass(frozen=True)
class Dialog:
    """A named conversation: its steps, where it starts, and a hook run when it starts."""

    name: str
    title: str
    steps: tuple[Step, ...]
    start: str
    form: type[Form] = Blank
    on_start: Callable[[Ctx], Outcome | None] | None = None
    help: str = ""
    # Called when an image arrives at a step that wants text; returns what to say about it.
    on_image: Callable[[Ctx, Incoming], str] | None = None
    # Called when words arrive at a step that wants an image; returns what to say about them.
    on_text: Callable[[Ctx, Incoming], str] | None = None
    by_name: dict[str, Step] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise DialogDefinitionError(f"dialog {self.name}: a step name appears twice")
        self.by_name.update({s.name: s for s in self.steps})
        saved = set(self.form.checked())
        if self.start not in self.by_name:
            raise DialogDefinitionError(f"dialog {self.name}: start step {self.start!r} does not exist")
        for s in self.steps:
            for target in s.targets():
                if target != END and target not in self.by_name:
                    raise DialogDefinitionError(f"dialog {self.name}: step {s.name!r} points to {target!r}, "
                                                "which does not exist")
            if s.save is not None and s.save not in saved:
                raise DialogDefinitionError(f"dialog {self.name}: step {s.name!r} saves {s.save!r}, "
                                            f"which {self.form.__name__} does not have")
            if s.choices is None and s.handle is None:
                raise DialogDefinitionError(f"dialog {self.name}: step {s.name!r} has neither choices nor handler")
        FORMS[self.name] = self.form  # what State.from_dict reads this dialog's stored form with

    def step(self, name: str) -> Step:
        return self.by_name[name]


# -- the engine ------------------------------------------------------------------------

class Engine:
    """Walk dialogs: one call per incoming message, returning the reply text."""

    def __init__(self, dialogs: Sequence[Dialog], pause_s: int,
                 opener: Callable[[Ctx, str], str | Reply] | None = None,
                 titles: Mapping[str, str] | None = None) -> None:
        self.dialogs = {d.name: d for d in dialogs}
        self.pause_s = pause_s
        # What a menu key opens once the user agrees to leave the dialog they are in.
        self.opener = opener
        self.titles = dict(titles or {})

    def dialog(self, name: str) -> Dialog:
        try:
            return self.dialogs[name]
        except KeyError:
            raise DialogDefinitionError(f"no dialog named {name!r}") from None

    # entry points ---------------------------------------------------------

    def begin(self, ctx: Ctx, flow: str, data: Form | None = None, say: str = "",
              resumed_from: str | None = None) -> str:
        """Start a dialog from its first step (after its start hook), with its form filled in advance or empty."""
        dialog = self.dialog(flow)
        if data is not None and not isinstance(data, dialog.form):
            raise DialogDefinitionError(f"dialog {flow} keeps a {dialog.form.__name__}, "
                                        f"not a {type(data).__name__}")
        st = ctx.state
        st.flow, st.step, st.history, st.pending = flow, None, [], None
        st.data = data if data is not None else dialog.form()
        if dialog.on_start is not None:
            outcome = dialog.on_start(ctx)
            if isinstance(outcome, Switch) and outcome.flow == resumed_from:
                # The nested dialog ended without doing what this one needs: stop rather than loop.
                _clear(st)
                return say
            if outcome is not None:
                return self._apply(ctx, dialog, None, outcome, say)
        return self._enter(ctx, dialog, dialog.start, say)

    def handle(self, ctx: Ctx, msg: Incoming) -> str | Reply:
        """Answer one message within the active dialog (a click means a menu key)."""
        st = ctx.state
        assert st.flow is not None
        dialog = self.dialog(st.flow)
        if st.pending:
            return self._answer_pending(ctx, dialog, msg)
        step = dialog.step(st.step or dialog.start)
        if msg.kind == "click":
            return self._ask(ctx, dialog, {"kind": "leave", "key": msg.key})
        # The global words mean the same after a pause: 取消 cancels, 帮助 helps, with no question first.
        word = GLOBAL_WORDS.get(msg.text) if msg.kind == "text" else None
        if word is None and msg.kind == "text" and msg.text in QUIT_WORDS and quits(ctx, step):
            word = "cancel"
        if word:
            return self._global(ctx, dialog, word)
        if ctx.now - st.updated > self.pause_s and st.updated and not step.read_only:
            return self._ask(ctx, dialog, {"kind": "pause"})
        return self._answer(ctx, dialog, step, msg)

    def resume(self, ctx: Ctx, say: str = "") -> str:
        """Go on from the current step after the form was filled from outside it (a shared location): the
        steps now answered are skipped, as on any way forward."""
        st = ctx.state
        assert st.flow is not None
        dialog = self.dialog(st.flow)
        return self._enter(ctx, dialog, st.step or dialog.start, say)

    def read_only(self, ctx: Ctx) -> bool:
        """Tell whether the user is at a screen that only shows things (no engine question open on it)."""
        st = ctx.state
        if st.flow is None or st.pending:
            return False
        dialog = self.dialog(st.flow)
        return dialog.step(st.step or dialog.start).read_only

    def leaves(self, ctx: Ctx, msg: Incoming) -> bool:
        """Tell whether a message leaves the read-only screen the user is at: a click, a photo or text that is
        neither a global word, a list number, a choice's label nor what the step says it answers (a ticket's
        page takes a photo for the ticket)."""
        if not self.read_only(ctx) or msg.kind == "location_report":  # reported by WeChat, not said
            return False
        if msg.kind not in ("text", "image"):
            return True
        if msg.kind == "text" and (msg.text in GLOBAL_WORDS or is_number(msg.text)):
            return False
        st = ctx.state
        assert st.flow is not None
        dialog = self.dialog(st.flow)
        step = dialog.step(st.step or dialog.start)
        if msg.kind == "text" and step.choices is not None and isinstance(pick(list(step.choices(ctx)), msg.text),
                                                                          Choice):
            return False
        return not (step.answers is not None and step.answers(ctx, msg))

    def close(self, ctx: Ctx) -> None:
        """Put the dialog away without a word (a read-only screen the user has moved on from)."""
        _clear(ctx.state)

    def prompt(self, ctx: Ctx) -> str:
        """Render the current step's question again."""
        st = ctx.state
        if not st.flow or not st.step:
            return ""
        dialog = self.dialog(st.flow)
        return self._render(ctx, dialog.step(st.step))

    # the pieces --------------------------------------------------------------

    def _answer(self, ctx: Ctx, dialog: Dialog, step: Step, msg: Incoming) -> str:
        if step.expects == "image" and msg.kind != "image":
            if msg.kind == "text" and msg.text and dialog.on_text is not None:
                return self._retry(ctx, step, dialog.on_text(ctx, msg))
            return self._retry(ctx, step, TEXT["need_image"] if msg.kind != "text" or msg.text else TEXT["empty"])
        if step.expects == "text":
            if msg.kind == "image":
                if dialog.on_image is not None:
                    return self._retry(ctx, step, dialog.on_image(ctx, msg))
                return self._retry(ctx, step, TEXT["need_text"])
            if msg.kind == "text" and not msg.text:
                return self._retry(ctx, step, TEXT["empty"])
            if msg.kind not in ("text", "image"):
                return self._retry(ctx, step, TEXT["need_text"])
        if step.choices is not None and msg.kind == "text":
            options = list(step.choices(ctx))
            picked = pick(options, msg.text)
            if isinstance(picked, str):
                if step.handle is not None and not is_number(msg.text):  # free text may mean something here
                    return self._apply(ctx, dialog, step, step.handle(ctx, msg))
                return self._retry(ctx, step, picked)
            return self._apply(ctx, dialog, step, self._chosen(ctx, step, picked))
        assert step.handle is not None
        return self._apply(ctx, dialog, step, step.handle(ctx, msg))

    def _chosen(self, ctx: Ctx, step: Step, choice: Choice) -> Outcome:
        if step.on_choice is not None:
            return step.on_choice(ctx, choice)
        if step.save:
            set_value(ctx, step, choice.value)
        return Go()

    def _apply(self, ctx: Ctx, dialog: Dialog, step: Step | None, outcome: Outcome, say: str = "") -> str:
        st = ctx.state
        if isinstance(outcome, Retry):
            assert step is not None
            return join_lines(say, self._retry(ctx, step, outcome.reason))
        if isinstance(outcome, End):
            return join_lines(say, self._finish(ctx, outcome.say))
        if isinstance(outcome, Switch):
            if outcome.come_back:
                st.resume = Resume(dialog.name, step.name if step else None, st.data, st.history)
            return self.begin(ctx, outcome.flow, outcome.data, join_lines(say, outcome.say))
        target = outcome.step or (step.next if step is not None else dialog.start)
        if step is not None and step.name in dialog.by_name and target != step.name:
            if target not in step.targets():
                raise DialogDefinitionError(f"dialog {dialog.name}: step {step.name!r} went to "
                                            f"{target!r}, which it does not declare")
            st.history.append(step.name)
        return self._enter(ctx, dialog, target, join_lines(say, outcome.say))

    def _enter(self, ctx: Ctx, dialog: Dialog, name: str, say: str = "") -> str:
        """Go forward to a step, skipping those already answered or not needed."""
        st = ctx.state
        for _ in range(len(dialog.steps) + 1):
            if name == END:
                return self._finish(ctx, say)
            step = dialog.step(name)
            st.step = name
            if step.save and st.data.has(step.save):
                name = step.next
                continue
            if step.skip is not None and step.skip(ctx):
                name = step.next
                continue
            if step.auto_single and step.choices is not None:
                options = list(step.choices(ctx))
                if len(options) == 1:
                    outcome = self._chosen(ctx, step, options[0])
                    if isinstance(outcome, Go):
                        name = outcome.step or step.next
                        continue
                    return self._apply(ctx, dialog, step, outcome, say)
            return join_lines(say, self._render(ctx, step))
        raise DialogDefinitionError(f"dialog {dialog.name}: steps skip each other in a loop")

    def _finish(self, ctx: Ctx, say: str) -> str:
        st = ctx.state
        resume, ended = st.resume, st.flow
        _clear(st)
        if resume is None:
            return say
        if resume.step is None:
            # The dialog was left from its start hook: start it again, hook included.
            return self.begin(ctx, resume.flow, resume.data, say, resumed_from=ended)
        st.flow, st.step, st.data, st.history = resume.flow, resume.step, resume.data, list(resume.history)
        return self._enter(ctx, self.dialog(resume.flow), resume.step, say)

    def _retry(self, ctx: Ctx, step: Step, reason: str) -> str:
        return join_lines(reason, self._render(ctx, step))

    def _render(self, ctx: Ctx, step: Step) -> str:
        text = step.prompt(ctx) if callable(step.prompt) else step.prompt
        if step.choices is not None:
            options = list(step.choices(ctx))
            text = join_lines(text, "\n".join(f"{i} {c.label}" for i, c in enumerate(options, start=1)))
        return text

    def _global(self, ctx: Ctx, dialog: Dialog, word: str) -> str:
        st = ctx.state
        if word == "cancel":
            st.resume = None
            return self._finish(ctx, TEXT["cancelled"])
        if word == "restart":
            return self.begin(ctx, dialog.name, say=TEXT["restarted"])
        step = dialog.step(st.step or dialog.start)
        if word == "back":
            if step.back:
                return join_lines(step.back, self._render(ctx, step))
            if not st.history:
                return join_lines(TEXT["first_step"], self._render(ctx, step))
            st.step = st.history.pop()
            return self._render(ctx, dialog.step(st.step))
        return join_lines(step.help or dialog.help, TEXT["globals"], self._render(ctx, step))

    def _ask(self, ctx: Ctx, dialog: Dialog, pending: dict[str, Any]) -> str:
        """Ask one of the engine's own questions: leave for a menu clicked mid-dialog, or go on after a pause."""
        st = ctx.state
        st.pending = pending
        step = self._step_title(dialog, st)
        if pending.get("kind") == "pause":
            return TEXT["pause"].format(title=dialog.title, step=step)
        key = str(pending.get("key", ""))
        # Leaving drops the form: a person who has filled much of it is told before they choose.
        drops = TEXT["leave_drops"] if len(st.data.known) >= LEAVE_WARNS_AT else ""
        return TEXT["leave"].format(title=dialog.title, step=step, target=self.titles.get(key, key), drops=drops)

    def _answer_pending(self, ctx: Ctx, dialog: Dialog, msg: Incoming) -> str | Reply:
        st = ctx.state
        pending = st.pending or {}
        answer = msg.text if msg.kind == "text" else ""
        agreed = yes_no(answer) if answer and not is_number(answer) else None
        st.pending = None
        if pending.get("kind") == "pause":
            if answer in ("1", "继续", "继续填写") or agreed:  # 「您还有一份未完成的…」 嗯: go on with it
                return join_lines(TEXT["kept"], self.prompt(ctx))
            if answer in ("2", "重新开始", "重来"):
                return self.begin(ctx, dialog.name, say=TEXT["restarted"])
            if answer in ("3", "放弃", "取消"):
                st.resume = None
                return self._finish(ctx, TEXT["cancelled"])
        else:  # a menu was clicked in the middle of a dialog
            # 「要离开吗？」 is a yes/no question: yes (是, 嗯) leaves, no (不, 不用) stays.
            if (answer in ("1", "离开") or agreed) and self.opener is not None:
                _clear(st)
                return self.opener(ctx, str(pending.get("key", "")))
            if answer in ("2", "继续", "继续填写") or agreed is False:
                return join_lines(TEXT["kept"], self.prompt(ctx))
            if msg.kind == "click":  # another menu: the question now names it
                return self._ask(ctx, dialog, {"kind": "leave", "key": msg.key})
        return self._beside_the_question(ctx, dialog, msg, pending)

    def _beside_the_question(self, ctx: Ctx, dialog: Dialog, msg: Incoming, pending: dict[str, Any]) -> str | Reply:
        """Neither answer: the global words work as anywhere (帮助 asks the question again), and anything else
        is taken as going on with the form — what the person said is answered, not refused."""
        word = GLOBAL_WORDS.get(msg.text) if msg.kind == "text" else None
        if word == "help":
            return join_lines(TEXT["pending_help"], self._ask(ctx, dialog, pending))
        if word:
            return self._global(ctx, dialog, word)
        if msg.kind == "text" and not msg.text:
            return self._ask(ctx, dialog, pending)
        step = dialog.step(ctx.state.step or dialog.start)
        return join_lines(TEXT["kept"], self._answer(ctx, dialog, step, msg))

    def _step_title(self, dialog: Dialog, st: State) -> str:
        return dialog.step(st.step).title if st.step else dialog.title


def quits(ctx: Ctx, step: Step) -> bool:
    """Whether 「算了」 gives up the form at this step: one that takes words, or a list with no line for a no
    (not the photo, where it may mean 「不拍了」)."""
    if step.expects != "text":
        return False
    return step.choices is None or not any(c.no for c in step.choices(ctx))


def pick(options: Sequence[Choice], text: str) -> Choice | str:
    """Match a reply against numbered choices; return the choice or the reason it does not match."""
    if not options:
        return TEXT["choose_number"]
    if is_number(text):
        n = int(text)
        if 1 <= n <= len(options):
            return options[n - 1]
        return TEXT["bad_number"].format(n=n, max=len(options))
    for c in options:
        if text == c.label or text in c.aliases:
            return c
    # The leading words of one label: 关注 for 「关注这张单」, 不匿名 for 「不匿名（…）」.
    led = [c for c in options if len(text) >= 2 and c.label.startswith(text)]
    if len(led) == 1:
        return led[0]
    answer = yes_no(text)
    if answer is not None:
        meant = [c for c in options if (c.yes if answer else c.no)]
        if len(meant) == 1:
            return meant[0]
    return TEXT["choose_number"]


def yes_no(text: str) -> bool | None:
    """Read a short reply as yes (True) or no (False); None when it is neither, or too long to be only that."""
    words = _FILLER.sub("", text).lower()
    if not words or len(words) > YES_NO_MAX:
        return None
    if words.startswith(NO_WORDS) and not words.startswith(AGREEING_NEGATIVES):
        return False
    return True if _only_words(words, YES_WORDS, YES_TAIL) else None


def _only_words(text: str, first: Sequence[str], then: Sequence[str]) -> bool:
    """Whether the text is one of `first`, then any of `first` or `then`, and nothing else."""
    rest, allowed = text, first
    while rest:
        word = max((w for w in allowed if rest.startswith(w)), key=len, default="")
        if not word:
            return False
        rest, allowed = rest[len(word):], (*first, *then)
    return True


def is_number(text: str) -> bool:
    """Tell whether a reply is a plain list number (odd Unicode digits and huge numbers are not)."""
    return text.isascii() and text.isdigit() and len(text) <= 6


def set_value(ctx: Ctx, step: Step, value: Any) -> None:
    """Store a step's answer through the form, which drops what depended on an earlier different answer."""
    assert step.save is not None
    ctx.set(step.save, value)


def _clear(st: State) -> None:
    """No dialog any more: nothing asked, nothing remembered."""
    st.flow, st.step, st.data, st.history, st.pending, st.resume = None, None, Blank(), [], None, None


def join_lines(*parts: str) -> str:
    """The non-empty parts of a reply, one to a line."""
    return "\n".join(p for p in parts if p)

