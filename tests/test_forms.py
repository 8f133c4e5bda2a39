"""Typed forms on their own: the dependency declaration, its checks at build, and the stored JSON.

The property tests drive random edits (any field set to any value the register could give, forgotten, or
the category routed from place and group) and check after each one that no field whose dependency changed
survives unless the declaration's check says it still holds, that nothing else is dropped, and that the
form reads back from its JSON (and from the layout of before, v0) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.consult import ConsultForm
from dialogs.engine import Dialog, Step
from dialogs.forms import Fields, Form
from dialogs.profile import ProfileForm
from dialogs.rate import RateForm
from dialogs.repair_form import REPAIR_FIELDS, Photo, PlaceGuess, RepairForm
from dialogs.understand import route
from models.errors import DialogDefinitionError
from models.register import Register
from models.tickets import Duplicate
from tests.support.constants import REGISTER_FILE

REG = Register.from_yaml(REGISTER_FILE.read_text(encoding="utf-8"))


def reg() -> Register:
    return REG


# -- the declaration is checked ---------------------------------------------------------------------------

def test_a_cycle_of_dependencies_is_refused() -> None:
    @dataclass(frozen=True)
    class Loop(Form):
        FIELDS = Fields(depends={"a": ("b",), "b": ("a",)})
        a: str | None = None
        b: str | None = None

    with pytest.raises(DialogDefinitionError, match="cycle"):
        Loop.names()


def test_a_declaration_naming_a_missing_field_is_refused() -> None:
    @dataclass(frozen=True)
    class Typo(Form):
        FIELDS = Fields(depends={"room": ("biulding",)})
        room: str | None = None

    with pytest.raises(DialogDefinitionError, match="biulding"):
        Typo.names()


def test_a_step_saving_a_field_its_form_lacks_is_refused() -> None:
    with pytest.raises(DialogDefinitionError, match="'roomm'"):
        Dialog("typo", "错字", (Step("a", "甲", "甲？", handle=lambda c, m: None, save="roomm"),),  # type: ignore
               start="a", form=RepairForm)


def test_fields_cannot_be_assigned_behind_the_declaration() -> None:
    """Forms are frozen: only set/forget change them, so every change meets the declaration."""
    form = RepairForm()
    with pytest.raises(AttributeError):
        form.floor = "5"  # type: ignore[misc]


def test_none_is_an_answer() -> None:
    form = RepairForm()
    assert not form.has("item")
    form.set("item", None, reg)
    assert form.has("item") and form.item is None
    assert RepairForm.from_json(form.to_json()).has("item")


def test_changing_the_building_keeps_what_the_new_one_has() -> None:
    form = RepairForm()
    form.fill({"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502", "place_note": None,
               "dup_no": "R1", "dup_choice": "new"}, reg)
    dropped = form.set("building", "学生公寓4栋", reg)
    assert (form.floor, form.room) == ("5", "502")
    assert dropped == ["dup_no", "dup_choice"]  # the duplicate was about the other building
    # 四教 has a 5th floor, but no room 502; an empty note stood beside that room, so it goes with it.
    assert form.set("building", "第四教学楼", reg) == ["room", "place_note"]
    assert form.set("building", "第一教学楼", reg) == []  # no floor 6 to lose: 一教 has a 5th floor too
    assert form.set("floor", "6", reg) == []
    assert form.set("building", "第一教学楼", reg) == []
    form.set("place_note", "南面卫生间", reg)
    assert form.set("building", "第二教学楼", reg) == ["floor"]  # 二教 has 5 floors; the note in words stays
    assert form.forget("campus", reg) == ["campus", "building", "place_note"]


def test_changing_the_category_drops_what_it_does_not_cover() -> None:
    form = RepairForm()
    form.fill({"category": "东环校区宿舍维修", "group": "给水", "item": "水龙头", "campus": "东环校区",
               "building": "学生公寓12栋", "floor": "5", "room": "502"}, reg)
    assert form.set("category", "东环校区公共区域水电维修", reg) == ["building", "floor", "room"]
    assert (form.group, form.item, form.campus) == ("给水", "水龙头", "东环校区")
    assert form.set("category", "东环校区公共区域物业维修", reg) == ["group", "item"]


# -- random edits keep the form consistent --------------------------------------------------------------------

ROOMS = ("502", "508", "520", "524", "601", "720", "1101", "4505", "5101")
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "category": st.sampled_from([c.name for c in REG.categories]),
    "group": st.sampled_from([g.name for g in REG.groups]),
    "item": st.sampled_from([None, *(i for g in REG.groups for i in g.items)]),
    "fault": st.sampled_from(["堵", "漏水"]),
    "campus": st.sampled_from([c.name for c in REG.campuses]),
    "building": st.sampled_from(sorted({b.name for b in REG.all_buildings()})),
    "floor": st.sampled_from([None, *(str(n) for n in range(1, 12))]),
    "room": st.sampled_from([None, *ROOMS]),
    "place_note": st.sampled_from([None, "卫生间"]),
    "notice": st.just("停水"),
    "notice_seen": st.booleans(),
    "dup_no": st.sampled_from(["R1", "R2"]),
    "dup": st.just(Duplicate("R1", "东环校区 学生公寓12栋", "给水/水龙头", "提交维修单")),
    "dup_choice": st.just("new"),
    "description": st.just("水龙头一直在滴水"),
    "photos": st.lists(st.sampled_from([Photo("M-1", "http://x/1"), Photo("M-2")]), min_size=1, max_size=3,
                       unique=True).map(tuple),
    "phone": st.just("13800000001"),
}
EDIT = st.one_of(
    st.sampled_from(sorted(VALUES)).flatmap(lambda name: st.tuples(st.just("set"), st.just(name), VALUES[name])),
    st.tuples(st.just("forget"), st.sampled_from(sorted(VALUES)), st.none()),
    st.tuples(st.just("route"), st.none(), st.none()),
)


def _deps(form: RepairForm, name: str) -> tuple[Any, ...]:
    return tuple((d, form.has(d), form.get(d)) for d in REPAIR_FIELDS.depends.get(name, ()))


@settings(max_examples=300, deadline=None)
@given(st.lists(EDIT, max_size=25))
def test_random_edits_keep_the_form_consistent(edits: list[tuple[str, str | None, Any]]) -> None:
    form = RepairForm()
    for op, name, value in edits:
        before = {n: (form.get(n), _deps(form, n)) for n in form.names() if form.has(n)}
        if op == "set":
            assert name is not None
            form.set(name, value, reg)
        elif op == "forget":
            assert name is not None
            form.forget(name, reg)
        else:
            route(form, REG)
        for n, (old, deps) in before.items():
            if n == name:
                continue
            if _deps(form, n) == deps:
                if not (op == "route" and n == "category"):
                    assert form.has(n) and form.get(n) == old, f"{n} dropped though nothing it depends on changed"
            elif form.has(n):
                check = REPAIR_FIELDS.valid.get(n)
                assert check is not None and check(form, REG), f"{n} survived a change of what it depends on"
        assert RepairForm.from_json(form.to_json()) == form


# -- stored JSON ---------------------------------------------------------------------------------------------------

def _known(draw: Any, values: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(values)), unique=True))
    return {n: draw(values[n]) for n in names}


@st.composite
def repair_forms(draw: Any) -> RepairForm:
    """Any values at all in any fields (no declaration applied): what the JSON must carry as it is."""
    extra: dict[str, st.SearchStrategy[Any]] = {
        "building_candidates": st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4)), max_size=3).map(tuple),
        "place_guess": st.builds(PlaceGuess, st.none() | st.text(max_size=3), st.none() | st.text(max_size=3)),
        "group_candidates": st.lists(st.text(max_size=4), max_size=3).map(tuple),
        "photos": st.lists(st.builds(Photo, st.text(min_size=1, max_size=5), st.text(max_size=5)),
                           max_size=3).map(tuple),
    }
    form = RepairForm()
    for name, value in _known(draw, {**VALUES, **extra}).items():
        object.__setattr__(form, name, value)
        form.known.add(name)
    return form


@settings(max_examples=200, deadline=None)
@given(repair_forms())
def test_a_repair_form_reads_back_from_its_json(form: RepairForm) -> None:
    stored = form.to_json()
    assert stored["v"] == RepairForm.VERSION
    assert RepairForm.from_json(stored) == form


@settings(max_examples=200, deadline=None)
@given(repair_forms())
def test_a_repair_form_of_before_reads_the_same(form: RepairForm) -> None:
    """v0 wrote the same values without a version, its hidden keys spelled with an underscore."""
    old = {next((k for k, v in RepairForm.LEGACY.items() if v == name), name): value
           for name, value in form.to_json().items() if name != "v"}
    assert RepairForm.from_json(old) == form


@pytest.mark.parametrize("version", [{}, {"v": 1}])
def test_the_one_photo_of_before_is_the_first_of_the_photos(version: dict[str, int]) -> None:
    """A form stored when a report kept one photo still has it (and a photo not yet sent is still asked)."""
    form = RepairForm.from_json({**version, "group": "给水", "photo": {"media_id": "M-OLD", "pic_url": "http://x/o"}})
    assert form.photos == (Photo("M-OLD", "http://x/o"),) and form.group == "给水"
    assert RepairForm.from_json(form.to_json()) == form
    assert not RepairForm.from_json({**version, "photo": None}).has("photos")


TEXTS = st.none() | st.text(max_size=10)


@settings(max_examples=100, deadline=None)
@given(st.builds(ConsultForm, TEXTS, TEXTS, TEXTS, TEXTS, TEXTS, st.none() | st.booleans()),
       st.builds(ProfileForm, TEXTS, TEXTS, TEXTS, TEXTS, TEXTS, st.booleans(), TEXTS),
       st.builds(RateForm, TEXTS, st.none() | st.integers(1, 5)))
def test_the_other_forms_read_back_from_their_json(consult: ConsultForm, profile: ProfileForm,
                                                   rate: RateForm) -> None:
    for form in (consult, profile, rate):
        assert type(form).from_json(form.to_json()) == form


@pytest.mark.parametrize("raw", [None, [], "x", {"v": 1, "floor": 5, "photo": "M-1", "building": "12栋"},
                                 {"_bcands": "nope", "group": "给水"}, {"v": 99, "group": "给水", "new": 1}])
def test_a_stored_form_of_the_wrong_shape_is_read_as_far_as_it_goes(raw: Any) -> None:
    """What cannot be read is left unknown (and so asked again), never a crash."""
    form = RepairForm.from_json(raw)
    assert form.floor is None and form.photos == () and form.building_candidates == ()
    if isinstance(raw, dict) and "group" in raw:
        assert form.group == "给水"
    if isinstance(raw, dict) and "building" in raw:
        assert form.building == "12栋"
