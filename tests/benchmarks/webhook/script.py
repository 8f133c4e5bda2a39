"""What each simulated user sends, and what the reply to it must say.

The dialogs are written as generators: each yields the next ``Turn`` (a message and the prompt
kinds its reply may carry) and receives the kind of prompt the bot answered with.  The markers that
identify a prompt are taken from the product's own texts, so the bench follows the bot's wording.
This module knows nothing of sockets or signatures (``users`` does).
"""

from __future__ import annotations

import random
import string
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

# How users behave (per dialog / per step).
P_MY_TICKETS = 0.08  # a session that looks at 我的报修
P_ABANDON = 0.15  # a repair given up with 取消 part-way
P_WRONG_NUMBER = 0.04  # at a list: reply with a number not on it
P_HELP = 0.02  # at a step: 帮助
P_BACK = 0.05  # after a step: 返回, then answer it again
P_FOLLOW = 0.25  # at the duplicate question: follow the existing ticket instead of filing
P_FLOOR_ZERO = 0.05  # "not inside the building"
P_ITEM_OTHER = 0.05  # at the item list: the "other" line after the register's items

DESCRIPTIONS = (
    "水龙头关不紧，一直在滴水", "卫生间灯管不亮了，闪了两天", "空调不制冷，开机有异响", "门锁坏了，钥匙插进去转不动",
    "下水道堵了，洗手池的水下不去", "插座没电，手机充不了", "窗户关不上，风很大", "暖气片漏水，地上有一滩水",
    "马桶一直在流水，按钮卡住了", "走廊的感应灯晚上不亮", "热水器没有热水，指示灯不亮", "天花板在渗水，墙皮掉了",
)
NOTES = ("南面卫生间", "楼梯口", "门口走廊", "一楼大厅", "东侧洗手池", "无")


def literal(template: str) -> str:
    """The longest literal piece of a str.format template (what every rendering contains)."""
    parts = [lit for lit, *_ in string.Formatter().parse(template)]
    return max(parts, key=len)


@dataclass(frozen=True)
class Vocabulary:
    """Prompt kind → the bytes that identify it in a reply."""

    markers: dict[str, bytes]
    wrong_number: bytes
    globals_hint: bytes
    labels: dict[str, str]

    @classmethod
    def load(cls) -> Vocabulary:
        import bot  # noqa: F401  (importing dialogs.repair first trips over a circular import)
        from dialogs import engine, my_tickets, places, repair, router

        r, p, e, m = repair.TEXT, places.TEXT, engine.TEXT, my_tickets.TEXT
        texts = {
            "category": r["category"], "group": r["group"], "item": r["item"], "campus": p["campus"],
            "building": literal(p["building"]), "floor": literal(p["floor"]), "room": literal(p["room"]),
            "note": p["note"], "duplicate": literal(r["duplicate"]), "description": r["description"],
            "photo": r["photo"], "phone": r["phone"], "confirm": literal(r["confirm"]), "filed": literal(r["filed"]),
            "followed": literal(r["followed"]), "own_duplicate": literal(r["own_duplicate"]),
            "cancelled": e["cancelled"], "idle": router.TEXT["idle_word"], "my_list": m["list"], "my_none": m["none"],
            "my_detail": literal(m["detail"]),
        }
        bad = e["bad_number"]
        return cls(
            markers={k: v.encode() for k, v in texts.items()},
            wrong_number=bad[:bad.index("{max}")].format(n=99).encode(),
            globals_hint=e["globals"].encode(),
            labels={"item_other": r["item_other"], "dup_follow": r["dup_follow"], "dup_new": r["dup_new"],
                    "confirm_submit": r["confirm_submit"]},
        )


@dataclass(frozen=True)
class Turn:
    """One message a user sends, and what the reply to it must be."""

    text: str  # "" for a photo
    expect: tuple[tuple[str, bytes], ...]  # acceptable prompt kinds, nominal one first
    db: bool = False  # this message makes the bot read or write PostgreSQL
    image: bool = False
    label: bytes = b""  # the numbered line this choice picks, checked in the previous reply
    also: bytes = b""  # must also be in the reply (wrong number, help)


@dataclass(frozen=True)
class Plan:
    """A valid (category, group, campus) of the register, numbered as the bot numbers its lists."""

    cat_no: int
    category: str
    n_groups: int
    group_no: int
    group: str
    items: tuple[str, ...]
    n_campuses: int
    campus_no: int
    campus: str
    buildings: tuple[Any, ...]  # models.register.Building, in the bot's order
    # The items (None: the "other" line) with no floor to ask (a lift, a street lamp: the lexicon's floorless).
    floorless: frozenset[str | None] = frozenset()


def make_plans(register: Any) -> list[Plan]:
    from dialogs.nlu.lexicon import Lexicon

    lexicon = Lexicon.load(register)
    plans = []
    for ci, cat in enumerate(register.categories, start=1):
        groups = register.groups_of(cat)
        campuses = register.campuses_of(cat)
        for gi, group in enumerate(groups, start=1):
            for pi, campus in enumerate(campuses, start=1):
                buildings = register.buildings_for(cat, campus.name, group.name)
                if buildings and group.items:
                    floorless = frozenset(i for i in (*group.items, None) if lexicon.has_no_floor(group.name, i))
                    plans.append(Plan(ci, cat.name, len(groups), gi, group.name, tuple(group.items), len(campuses),
                                      pi, campus.name, tuple(buildings), floorless))
    if not plans:
        raise SystemExit("the register offers no category/group/campus with buildings")
    return plans


Script = Generator[Turn, str, None]
Step = Generator[Turn, str, str]  # yields turns, returns the prompt kind the last reply carried


class Behaviour:
    """The dialogs users walk; shared by all users (each brings its own random generator)."""

    def __init__(self, vocab: Vocabulary, plans: list[Plan]) -> None:
        self.v = vocab
        self.plans = plans
        self.m = vocab.markers
        # Users (by their random generator) whose profile the bot remembers in Redis after their first 报修.
        self.known: set[int] = set()

    def expect(self, *kinds: str) -> tuple[tuple[str, bytes], ...]:
        return tuple((k, self.m[k]) for k in kinds)

    def choice(self, no: int, label: str, expect: tuple[tuple[str, bytes], ...], db: bool = False) -> Turn:
        return Turn(str(no), expect, db=db, label=f"\n{no} {label}\n".encode())

    def session(self, rng: random.Random) -> Script:
        while True:
            r = rng.random()
            if r < P_MY_TICKETS:
                yield from self.my_tickets()
            elif r < P_MY_TICKETS + P_ABANDON:
                yield from self.repair(rng, abandon_after=rng.randint(1, 7))
            else:
                yield from self.repair(rng, abandon_after=0)

    def resync(self, rng: random.Random) -> Script:
        """After an error the bot's state is unknown: cancel whatever is going on, then carry on."""
        yield Turn("取消", self.expect("cancelled", "idle"))
        yield from self.session(rng)

    def my_tickets(self) -> Script:
        got = yield Turn("我的报修", self.expect("my_list", "my_none"), db=True)
        if got == "my_none":
            return
        yield Turn("1", self.expect("my_detail"), db=True, label=b"\n1 ")
        yield Turn("取消", self.expect("cancelled"))

    def step(self, rng: random.Random, at: str, turn: Turn, *, is_list: bool = False,
             can_back: bool = True, can_help: bool = True) -> Step:
        """Answer the prompt `at`, sometimes after a wrong number or 帮助, sometimes going back once."""
        same = self.expect(at)
        r = rng.random()
        if is_list and r < P_WRONG_NUMBER:
            yield Turn("99", same, also=self.v.wrong_number)
        elif can_help and r > 1 - P_HELP:
            yield Turn("帮助", same, also=self.v.globals_hint)
        got = yield turn
        if can_back and rng.random() < P_BACK:
            yield Turn("返回", same)
            got = yield turn
        return got

    def repair(self, rng: random.Random, abandon_after: int) -> Script:
        """File one repair (or give up after `abandon_after` answered steps, when that is not 0)."""
        walk = _Repair(self, rng, abandon_after)
        # The start hook asks who the user is: the database the first time, Redis afterwards.
        first = id(rng) not in self.known
        self.known.add(id(rng))
        yield Turn("报修", self.expect("category"), db=first)
        try:
            got = yield from walk.what()
            got = yield from walk.where(got)
            yield from walk.file(got)
        except _GaveUp:
            return


class _GaveUp(Exception):
    """The user sent 取消 part-way through a repair (and the reply to it has come)."""


class _Repair:
    """One repair of one user: the plan it follows and how many more steps it answers before 取消."""

    def __init__(self, behaviour: Behaviour, rng: random.Random, abandon_after: int) -> None:
        self.b = behaviour
        self.rng = rng
        self.p = rng.choice(behaviour.plans)
        self.left = abandon_after or 1_000
        self.item: str | None = None

    def answer(self, at: str, turn: Turn, *, is_list: bool = False, counts: bool = True,
               can_back: bool = True, can_help: bool = True) -> Step:
        """One step of the form; a step that `counts` may be the last before the user gives up."""
        got = yield from self.b.step(self.rng, at, turn, is_list=is_list, can_back=can_back, can_help=can_help)
        if counts:
            self.left -= 1
            if self.left == 0:
                yield Turn("取消", self.b.expect("cancelled"))
                raise _GaveUp
        return got

    def pick(self, at: str, no: int, label: str, *then: str) -> Step:
        """Choose line `no` of the list at `at`; the reply must be one of the prompts `then`."""
        return self.answer(at, self.b.choice(no, label, self.b.expect(*then)), is_list=True)

    def what(self) -> Step:
        """Category, [group], item."""
        p, rng = self.p, self.rng
        got = yield from self.pick("category", p.cat_no, p.category, "item" if p.n_groups == 1 else "group")
        if got == "group":
            got = yield from self.pick("group", p.group_no, p.group, "item")
        if rng.random() < P_ITEM_OTHER:
            item_no, item = len(p.items) + 1, self.b.v.labels["item_other"]
            self.item = None
        else:
            item_no = rng.randint(1, len(p.items))
            item = self.item = p.items[item_no - 1]
        return (yield from self.pick("item", item_no, item, "campus" if p.n_campuses > 1 else "building"))

    def where(self, got: str) -> Step:
        """[Campus], building, [floor], room or note."""
        p, rng, expect = self.p, self.rng, self.b.expect
        if got == "campus":
            got = yield from self.pick("campus", p.campus_no, p.campus, "building")
        b_no = rng.randint(1, len(p.buildings))
        b = p.buildings[b_no - 1]
        # The place is complete: the bot looks for an open ticket at the same place (a database read).
        place_done = expect("description", "duplicate")
        if self.item in p.floorless:  # no floor, room or spot is asked for it
            return (yield from self.answer("building", self.b.choice(b_no, b.name, place_done, db=True),
                                           is_list=True))
        got = yield from self.pick("building", b_no, b.name, "note" if b.outdoor else "floor")
        floor = 0
        if got == "floor":
            floor = 0 if rng.random() < P_FLOOR_ZERO else rng.randint(1, b.floors)
            after_floor = "room" if floor and b.has_rooms else "note"
            got = yield from self.answer("floor", Turn(str(floor), expect(after_floor)))
        if got == "room":
            return (yield from self.answer("room", Turn(rng.choice(b.rooms_on(floor)), place_done, db=True)))
        return (yield from self.answer("note", Turn(rng.choice(NOTES), place_done, db=True)))

    def file(self, got: str) -> Script:
        """[Duplicate?], description, photo, confirm."""
        b, rng, labels = self.b, self.rng, self.b.v.labels
        if got == "duplicate":
            if rng.random() < P_FOLLOW:
                yield b.choice(1, labels["dup_follow"], b.expect("followed", "own_duplicate"), db=True)
                return
            # Going back to (or asking help at) the duplicate question would read the database again: not done.
            yield from self.answer("duplicate", b.choice(2, labels["dup_new"], b.expect("description")),
                                   counts=False, can_back=False, can_help=False)
        yield from self.answer("description", Turn(rng.choice(DESCRIPTIONS), b.expect("photo")))
        # The phone number comes from the roster, so the form goes straight to the confirmation (where 返回 asks
        # which line to change: it does not go back to the photo).
        yield from self.answer("photo", Turn("", b.expect("confirm"), image=True), can_back=False)
        yield from self.answer("confirm", b.choice(1, labels["confirm_submit"], b.expect("filed"), db=True),
                               is_list=True, counts=False, can_back=False)
