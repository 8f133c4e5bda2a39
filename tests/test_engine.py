"""The dialog engine on its own: definitions checked at build, numbered choices, the real dialogs' texts."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dialogs
from dialogs.engine import END, TEXT, Choice, Dialog, Engine, Go, Outcome, Retry, Step, pick
from dialogs.state import Incoming, State, normalize
from models.errors import DialogDefinitionError
from tests.support.constants import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def ok(_ctx: Any, _msg: Incoming) -> Outcome:
    return Go(END)


def step(name: str, nxt: str = END, goes_to: tuple[str, ...] = ()) -> Step:
    return Step(name, name, f"{name}?", next=nxt, handle=ok, goes_to=goes_to)


# -- definitions are checked when a dialog is built ---------------------------------------------------

def test_a_well_formed_dialog_builds() -> None:
    """The control case: steps that point at each other (and at END) build fine."""
    d = Dialog("demo", "演示", (step("a", "b"), step("b", goes_to=("a",))), start="a")
    assert d.step("b").name == "b"


@pytest.mark.parametrize("steps, start, words", [
    ((step("a", "nowhere"),), "a", ["'a'", "'nowhere'"]),
    ((step("a", goes_to=("ghost",)),), "a", ["'a'", "'ghost'"]),
    ((step("a", "b"), step("b"), step("a")), "a", ["twice"]),
    ((step("a"),), "missing", ["start", "'missing'"]),
    ((), "a", ["start"]),
    ((Step("a", "a", "a?"),), "a", ["'a'", "neither"]),
], ids=["next-missing", "goes-to-missing", "duplicate-step", "missing-start", "no-steps", "no-handler"])
def test_faulty_dialog_is_refused_at_build(steps: tuple[Step, ...], start: str, words: list[str]) -> None:
    """A dialog that could strand a user is refused when it is built, with a message naming the fault."""
    with pytest.raises(DialogDefinitionError) as err:
        Dialog("broken", "坏的", steps, start=start)
    message = str(err.value)
    assert "broken" in message
    for w in words:
        assert w in message


def test_going_to_an_undeclared_step_is_refused_when_it_happens() -> None:
    """A handler that jumps to a step it did not declare is caught rather than silently followed."""
    def sneaky(_ctx: Any, _msg: Incoming) -> Outcome:
        return Go("c")

    d = Dialog("jump", "跳转", (Step("a", "甲", "甲？", next="b", handle=sneaky), step("b"), step("c")), start="a")
    engine = Engine([d], pause_s=3600)
    ctx = _ctx()
    engine.begin(ctx, "jump")
    with pytest.raises(DialogDefinitionError, match="'a' went to 'c'"):
        engine.handle(ctx, Incoming("text", raw="随便"))


def test_go_without_a_target_goes_to_the_steps_next() -> None:
    """Go() follows the step table; Go("x") goes elsewhere only to a step declared in goes_to."""
    def on(_ctx: Any, msg: Incoming) -> Outcome:
        return Go("c") if msg.text == "跳" else Go(say="好。")

    d = Dialog("walk", "走", (Step("a", "甲", "甲？", next="b", handle=on, goes_to=("c",)), step("b"), step("c")),
               start="a")
    engine = Engine([d], pause_s=3600)
    ctx = _ctx()
    engine.begin(ctx, "walk")
    assert engine.handle(ctx, Incoming("text", raw="走")) == "好。\nb?"
    engine.begin(ctx, "walk")
    assert engine.handle(ctx, Incoming("text", raw="跳")) == "c?"


def test_steps_that_skip_each_other_forever_are_refused() -> None:
    """Two steps that both skip to each other are reported, not looped on."""
    d = Dialog("loop", "循环", (Step("a", "甲", "甲？", next="b", handle=ok, skip=lambda _c: True),
                                 Step("b", "乙", "乙？", next="a", handle=ok, skip=lambda _c: True)), start="a")
    with pytest.raises(DialogDefinitionError, match="loop"):
        Engine([d], pause_s=3600).begin(_ctx(), "loop")


def _ctx() -> Any:
    """A context with no connections: the engine itself needs none."""
    from dialogs.context import Ctx

    def no_session() -> Any:
        raise AssertionError("the engine must not open a database session")

    return Ctx(openid="o-engine", state=State(), msg=Incoming("text"), now=1_000_000.0, redis=None,  # type: ignore[arg-type]
               session_factory=no_session, register_loader=lambda: None)


# -- numbered choices ------------------------------------------------------------------------------

OPTIONS = [Choice("校园管理", "campus", ("校管",)), Choice("东环校区宿舍维修", "dorm", ("宿舍", "寝室")),
           Choice("其他", None)]


@pytest.mark.parametrize("raw, value", [
    ("1", "campus"),
    ("2", "dorm"),
    ("3", None),
    ("２", "dorm"),  # full-width, as Chinese keyboards type it
    ("３", None),
    (" 1 ", "campus"),
    ("①", "campus"),
    ("校园管理", "campus"),
    ("东环校区宿舍维修", "dorm"),
    ("宿舍", "dorm"),
    ("寝室", "dorm"),
    ("校管", "campus"),
    ("01", "campus"),
])
def test_pick_finds_the_choice(raw: str, value: Any) -> None:
    """Numbers (also full-width), labels and aliases all pick the same choice."""
    picked = pick(OPTIONS, normalize(raw))
    assert isinstance(picked, Choice), picked
    assert picked.value == value


@pytest.mark.parametrize("raw, reason", [
    ("0", "没有第 0 项，请回复 1 到 3 之间的数字。"),
    ("4", "没有第 4 项，请回复 1 到 3 之间的数字。"),
    ("９９", "没有第 99 项，请回复 1 到 3 之间的数字。"),
    ("空调", TEXT["choose_number"]),
    ("-1", TEXT["choose_number"]),
    ("1.", TEXT["choose_number"]),
    ("", TEXT["choose_number"]),
    ("宿舍楼", TEXT["choose_number"]),
])
def test_pick_explains_what_does_not_match(raw: str, reason: str) -> None:
    """Anything else gets a reason the user can act on, never a wrong choice."""
    assert pick(OPTIONS, normalize(raw)) == reason


@pytest.mark.parametrize("raw", ["❶", "፩", "9" * 5000], ids=["dingbat-digit", "ethiopic-digit", "5000-digits"])
def test_pick_never_raises_on_odd_digits(raw: str) -> None:
    """Characters Python calls digits but int() refuses, or a huge number, get the usual hint, not a crash."""
    picked = pick(OPTIONS, normalize(raw))
    assert isinstance(picked, str) and "数字" in picked


def test_pick_with_no_options_asks_for_a_number() -> None:
    """An empty list never picks anything."""
    assert pick([], "1") == TEXT["choose_number"]


@pytest.mark.parametrize("raw, text", [("１２３", "123"), ("  报修  ", "报修"), ("ＡＢＣ", "ABC"), ("a \t\n b", "a b"),
                                       ("", "")])
def test_normalize_folds_full_width_and_spaces(raw: str, text: str) -> None:
    """What users type is folded before matching: full-width to half-width, runs of spaces to one."""
    assert normalize(raw) == text


# -- the real dialogs ------------------------------------------------------------------------------

def test_the_layers_hold() -> None:
    """The import contracts of pyproject.toml are kept: models at the bottom, then core, dialogs and workers
    side by side and blind to each other, the web on top, no cycle inside a package."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "3 kept, 0 broken" in proc.stdout


def test_real_dialogs_build() -> None:
    """The product's dialogs are well-formed, and the engine built from them knows every one."""
    from dialogs.registry import DIALOGS as ENGINE_DIALOGS
    from dialogs.router import build_engine

    assert ENGINE_DIALOGS
    for d in ENGINE_DIALOGS:
        rebuilt = replace(d, by_name={})  # runs every build check again
        assert rebuilt.step(rebuilt.start)
    engine = build_engine(pause_s=1200)
    assert {d.name for d in ENGINE_DIALOGS} <= set(engine.dialogs)
    assert len(engine.dialogs) == len(ENGINE_DIALOGS)  # no two dialogs share a name


def _text_modules() -> list[ModuleType]:
    """Every dialogs module that keeps its user-facing texts in a TEXT dict (found, not listed)."""
    import bot  # noqa: F401  -- the dialogs import bot/ indirectly; import it first

    found = []
    for info in pkgutil.iter_modules(dialogs.__path__):
        module = importlib.import_module(f"dialogs.{info.name}")
        if isinstance(getattr(module, "TEXT", None), dict):
            found.append(module)
    return found


def _is_chinese(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    literal = PLACEHOLDER.sub("", value)
    # A pure layout line such as "{no} {status} · {building}" is filled with Chinese values.
    return bool(CJK.search(literal)) or not re.search(r"\w", literal)


@pytest.mark.parametrize("module", _text_modules(), ids=lambda m: m.__name__)
def test_every_text_is_non_empty_chinese(module: ModuleType) -> None:
    """Every user-facing text of a dialog is non-empty Chinese, kept in the module's TEXT."""
    bad = {k: v for k, v in module.TEXT.items() if not _is_chinese(v)}
    assert not bad, f"{module.__name__}: {bad}"


def test_the_dialogs_texts_live_in_their_text_dicts() -> None:
    """Titles are Chinese, and every fixed prompt is one of the TEXT values (one place to edit wording)."""
    from dialogs.registry import DIALOGS as ENGINE_DIALOGS

    modules = _text_modules()
    assert {"dialogs.engine", "dialogs.router", "dialogs.bind"} <= {m.__name__ for m in modules}
    texts = {v for m in modules for v in m.TEXT.values()}
    stray = []
    for d in ENGINE_DIALOGS:
        assert _is_chinese(d.title), d.name
        for s in d.steps:
            assert CJK.search(s.title), f"{d.name}.{s.name}: title {s.title!r}"
            if isinstance(s.prompt, str) and s.prompt not in texts:
                stray.append(f"{d.name}.{s.name}: {s.prompt!r}")
    assert not stray, stray


def test_retry_is_an_outcome() -> None:
    """A handler's Retry repeats the step with the reason first (what users see after a bad answer)."""
    def picky(_ctx: Any, msg: Incoming) -> Outcome:
        return Go(END) if msg.text == "好" else Retry("请回复「好」。")

    d = Dialog("ask", "提问", (Step("a", "甲", "准备好了吗？", handle=picky),), start="a")
    engine, ctx = Engine([d], pause_s=3600), _ctx()
    assert engine.begin(ctx, "ask") == "准备好了吗？"
    assert engine.handle(ctx, Incoming("text", raw="不")) == "请回复「好」。\n准备好了吗？"
    assert engine.handle(ctx, Incoming("text", raw="好")) == ""
    assert not ctx.state.active


def test_every_menu_button_opens_a_registry_entry() -> None:
    """The shipped menu's click keys are the registry's: a button nobody answers would say 「暂时不可用」."""
    from bot.menu import load_menu, menu_keys
    from core.config import Config
    from dialogs.registry import BY_KEY, help_text

    keys = set(menu_keys(load_menu(Config.from_env({}, dotenv=None).menu_file)))
    assert keys and keys <= set(BY_KEY)
    assert all(BY_KEY[k].help in help_text() for k in keys)


def test_a_read_only_step_is_left_by_what_does_not_answer_it() -> None:
    """At a screen that only shows things, numbers, labels, global words and what the step says it answers stay
    with it; anything else (and every click or photo) leaves it, and a form step is never left that way."""
    def options(_ctx: Any) -> list[Choice]:
        return [Choice("返回列表", "back", ("返回列表页",))]

    shown = Step("show", "查看", "这是详情。", choices=options, read_only=True,
                 answers=lambda _ctx, msg: msg.text.startswith("R"))
    asked = Step("ask", "提问", "请说说：", handle=lambda _ctx, _msg: Go(END))
    engine, ctx = Engine([Dialog("look", "查看", (shown, asked), start="show")], pause_s=3600), _ctx()
    engine.begin(ctx, "look")
    assert engine.read_only(ctx)
    stays = ["1", "99", "返回列表", "返回列表页", "取消", "帮助", "R261127001"]
    leaves = ["你好", "图书馆的灯坏了", "😀", ""]
    assert [engine.leaves(ctx, Incoming("text", raw=t)) for t in stays] == [False] * len(stays)
    assert [engine.leaves(ctx, Incoming("text", raw=t)) for t in leaves] == [True] * len(leaves)
    assert engine.leaves(ctx, Incoming("click", key="REPAIR"))
    assert engine.leaves(ctx, Incoming("image", media_id="M"))
    ctx.state.step = "ask"
    assert not engine.read_only(ctx) and not engine.leaves(ctx, Incoming("click", key="REPAIR"))
    ctx.state.step = "show"
    engine.close(ctx)
    assert not ctx.state.active and not engine.leaves(ctx, Incoming("text", raw="你好"))
