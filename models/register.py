"""The school's register: campuses, buildings, trade groups, categories, departments.

The register is a YAML document of the shape of ``register.yaml``.  It is kept
in the database as a versioned document (``RegisterDoc``) and turned into the
immutable ``Register`` below, which every process caches.  Nothing here names a
campus, building or category: all of it comes from the document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import yaml
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, JSONDoc, UTCDateTime
from models.durations import EXAMPLE, parse_duration
from models.errors import RegisterError

ANY = "*"
EARTH_RADIUS_M = 6_371_000
# The group of faults the register names no group for (空调, 投影仪 …): every category takes it, at the
# places its own scope covers.  Added when the register has no group of this name.
OTHER = "其他"


@dataclass(frozen=True)
class Building:
    """One building (or outdoor place) of a campus."""

    campus: str
    name: str
    aliases: tuple[str, ...]
    kind: str
    floors: int
    rooms: str | None = None
    per_floor: int = 0
    at: Point | None = None  # where it stands, when the register says (for a shared location)

    @property
    def outdoor(self) -> bool:
        return self.floors == 0

    @property
    def has_rooms(self) -> bool:
        return bool(self.rooms) and self.per_floor > 0 and self.floors > 0

    def rooms_on(self, floor: int) -> list[str]:
        """List the room numbers of one floor, as the register numbers them."""
        if not self.has_rooms or not 1 <= floor <= self.floors:
            return []
        assert self.rooms is not None
        return [self.rooms.format(floor=floor, n=n) for n in range(1, self.per_floor + 1)]

    @cached_property
    def room_floors(self) -> dict[str, int]:
        """Map every room number of the building to its floor."""
        return {room: f for f in range(1, self.floors + 1) for room in self.rooms_on(f)}

    def floor_of_room(self, room: str) -> int | None:
        return self.room_floors.get(room)


@dataclass(frozen=True)
class Point:
    """A place on the map (WGS-84 degrees, as WeChat sends a shared location)."""

    lat: float
    lng: float

    def metres_to(self, other: Point) -> float:
        """Great-circle distance (haversine): exact enough at a campus's scale."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp, dl = p2 - p1, math.radians(other.lng - self.lng)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class Campus:
    name: str
    aliases: tuple[str, ...]
    buildings: tuple[Building, ...]
    centre: Point | None = None
    radius_m: float = 0.0  # a shared location this close to the centre is on this campus

    def building(self, name: str) -> Building | None:
        for b in self.buildings:
            if b.name == name:
                return b
        return None


@dataclass(frozen=True)
class Group:
    """A trade group: what is broken (给水, 照明 …) and its items."""

    name: str
    trade: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    campus: str
    kinds: tuple[str, ...] | None  # None means any kind
    not_kinds: tuple[str, ...]
    groups: tuple[str, ...]

    def matches(self, campus: str, kind: str | None, group: str | None) -> bool:
        """Tell whether a place and group fall in this scope (None means unknown, accepted)."""
        if self.campus != ANY and self.campus != campus:
            return False
        if kind is not None:
            if self.kinds is not None and kind not in self.kinds:
                return False
            if kind in self.not_kinds:
                return False
        return group is None or group in self.groups

    @property
    def specificity(self) -> int:
        """How narrowly the scope names its places: a campus, and building kinds, each count one."""
        return (self.campus != ANY) + (self.kinds is not None or bool(self.not_kinds))


# The SLA stages a ticket passes (models.backoffice.STAGES), each with a time limit.
SLA_STAGES = ("accept", "assign", "complete")


@dataclass(frozen=True)
class Sla:
    """The time limits the office holds each stage of a ticket to (责任追究): accepted after filing, assigned
    after acceptance, completed after assignment (time on hold not counted)."""

    accept: timedelta
    assign: timedelta
    complete: timedelta

    def limit(self, stage: str) -> timedelta:
        return {"accept": self.accept, "assign": self.assign, "complete": self.complete}[stage]


# When a register says nothing: the limits the office promised before they were written down.
DEFAULT_SLA = Sla(timedelta(hours=2), timedelta(hours=4), timedelta(hours=48))
DEFAULT_SLA_URGENT = Sla(timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=4))


@dataclass(frozen=True)
class Category:
    """A repair category: a responsible department and what it covers."""

    name: str
    scope: Scope
    duty_phone: str | None = None  # its 24-hour duty phone, else the school's (emergencies)
    sla: Sla = DEFAULT_SLA  # its own limits, else the school's
    sla_urgent: Sla = DEFAULT_SLA_URGENT  # the same for urgent tickets (emergencies)

    def limits(self, urgent: bool) -> Sla:
        return self.sla_urgent if urgent else self.sla


@dataclass(frozen=True)
class Register:
    """The whole register, immutable; build it with ``Register.from_dict``."""

    default_campus: str
    campuses: tuple[Campus, ...]
    groups: tuple[Group, ...]
    categories: tuple[Category, ...]
    departments: tuple[str, ...]
    version: int = 0
    duty_phone: str | None = None  # the school-wide 24-hour duty phone (emergencies)
    sla: Sla = DEFAULT_SLA  # the school-wide limits (a category may override them)
    sla_urgent: Sla = DEFAULT_SLA_URGENT
    _item_group: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    # -- loading -----------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, version: int = 0) -> Register:
        return cls.from_dict(_load_yaml(text), version=version)

    @classmethod
    def from_dict(cls, doc: Any, version: int = 0) -> Register:
        """Build and check a register from its document; raise RegisterError on any fault."""
        if not isinstance(doc, Mapping):
            raise RegisterError("register must be a mapping with campuses, groups and categories")
        campuses = tuple(_campus(c) for c in _list(doc, "campuses"))
        groups = tuple(_group(g) for g in _list(doc, "groups"))
        school_phone = _phone(doc, "register")
        school_sla = _sla(doc, "sla", "register", DEFAULT_SLA)
        school_urgent = _sla(doc, "sla_urgent", "register", DEFAULT_SLA_URGENT)
        categories = tuple(_category(c, school_phone, school_sla, school_urgent) for c in _list(doc, "categories"))
        groups, categories = _with_other(groups, categories)
        departments = _strings(doc, "departments", "register")
        default = str(doc.get("default_campus") or (campuses[0].name if campuses else ""))
        item_group = {item: g.name for g in groups for item in g.items}
        reg = cls(default, campuses, groups, categories, departments, version, school_phone, school_sla,
                  school_urgent, item_group)
        reg._check()
        return reg

    def _check(self) -> None:
        if not self.campuses:
            raise RegisterError("register has no campuses")
        names = [c.name for c in self.campuses]
        _unique(names, "campus")
        if self.default_campus not in names:
            raise RegisterError(f"default_campus {self.default_campus!r} is not a campus")
        for c in self.campuses:
            _unique([b.name for b in c.buildings], f"building in {c.name}")
        _unique([g.name for g in self.groups], "group")
        _unique([i for g in self.groups for i in g.items], "item")
        _unique([c.name for c in self.categories], "category")
        group_names = {g.name for g in self.groups}
        for cat in self.categories:
            if cat.scope.campus != ANY and cat.scope.campus not in names:
                raise RegisterError(f"category {cat.name}: unknown campus {cat.scope.campus!r}")
            for g in cat.scope.groups:
                if g not in group_names:
                    raise RegisterError(f"category {cat.name}: unknown group {g!r}")

    # -- look-ups ----------------------------------------------------------

    def campus(self, name: str | None) -> Campus | None:
        for c in self.campuses:
            if c.name == name:
                return c
        return None

    def building(self, campus: str | None, name: str | None) -> Building | None:
        c = self.campus(campus)
        return c.building(name) if c and name else None

    def group(self, name: str | None) -> Group | None:
        for g in self.groups:
            if g.name == name:
                return g
        return None

    def group_of_item(self, item: str | None) -> str | None:
        return self._item_group.get(item or "")

    def category(self, name: str | None) -> Category | None:
        for c in self.categories:
            if c.name == name:
                return c
        return None

    def category_for(self, campus: str | None, kind: str | None, group: str | None) -> Category | None:
        """Return the first category whose scope takes this place and group (all must be known).

        A fault of no named group (其他) goes to the category that covers the place most narrowly (a
        campus's dormitory team before a school-wide one), the first of those in register order."""
        if campus is None or group is None:
            return None
        fitting = [cat for cat in self.categories if cat.scope.matches(campus, kind, group)]
        if group == OTHER and fitting:
            return max(fitting, key=lambda c: c.scope.specificity)  # max keeps the first of equals
        return fitting[0] if fitting else None

    def category_for_place(self, campus: str, building: str, group: str) -> Category | None:
        b = self.building(campus, building)
        return self.category_for(campus, b.kind, group) if b is not None else None

    def groups_of(self, category: Category) -> list[Group]:
        return [g for g in self.groups if g.name in category.scope.groups]

    def campuses_of(self, category: Category) -> list[Campus]:
        return [c for c in self.campuses if category.scope.campus in (ANY, c.name)]

    def buildings_for(self, category: Category, campus: str, group: str | None) -> list[Building]:
        """List the buildings of a campus whose repairs in this group go to this category (for 其他, every
        building its scope covers: the type chosen by hand, the place then routes the fault)."""
        c = self.campus(campus)
        if c is None:
            return []
        return [b for b in c.buildings if self.category_for(campus, b.kind, group or "") == category
                or (group in (None, OTHER) and category.scope.matches(campus, b.kind, group))]

    def all_buildings(self) -> Iterable[Building]:
        for c in self.campuses:
            yield from c.buildings

    @property
    def mapped(self) -> bool:
        """Whether a shared location can be read: some campus has a centre and some building a point."""
        return any(c.centre for c in self.campuses) and any(b.at for b in self.all_buildings())

    def nearest(self, where: Point) -> Building | None:
        """The building nearest a shared location, on the campus whose circle holds it (None: on none)."""
        on = [c for c in self.campuses if c.centre and c.centre.metres_to(where) <= c.radius_m]
        candidates = [b for c in on for b in c.buildings if b.at is not None]
        return min(candidates, key=lambda b: where.metres_to(b.at) if b.at else math.inf, default=None)


def _with_other(groups: tuple[Group, ...], categories: tuple[Category, ...]
                ) -> tuple[tuple[Group, ...], tuple[Category, ...]]:
    """Give every category an 其他 group, so a fault the register names no group for still has a way in."""
    if not any(g.name == OTHER for g in groups):
        groups = (*groups, Group(OTHER, "", ()))
    return groups, tuple(c if OTHER in c.scope.groups else
                         replace(c, scope=replace(c.scope, groups=(*c.scope.groups, OTHER))) for c in categories)


def describe_place(campus: str | None, building: str | None, floor: str | None, room: str | None,
                   note: str | None = None) -> str:
    """Write a place the way people read it: 东环校区 第五教学楼 1楼 502（南面卫生间）."""
    parts = [p for p in (campus, building) if p]
    if floor:
        parts.append(f"{floor}楼")
    if room:
        parts.append(room)
    text = " ".join(parts)
    return f"{text}（{note}）" if note else text


# -- document parsing helpers ------------------------------------------------

def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise RegisterError(f"register: {key!r} must be a list")
    return value


def _load_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        # One line for the operator: the problem and where it is, not PyYAML's multi-line report.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise RegisterError(f"register is not valid YAML: {problem}{where}") from exc


def _strings(node: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    """Read a list of names; a bare string would otherwise be split into its characters."""
    value = node.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RegisterError(f"{where}: {key} must be a list, e.g. [{value}]")
    return tuple(str(v) for v in value)


def _aliases(node: Mapping[str, Any]) -> tuple[str, ...]:
    return _strings(node, "aliases", str(node.get("name")))


def _campus(node: Any) -> Campus:
    if not isinstance(node, Mapping) or not node.get("name"):
        raise RegisterError(f"campus without a name: {node!r}")
    name = str(node["name"])
    buildings = tuple(_building(name, b) for b in node.get("buildings") or ())
    centre = _point(node, name)
    radius = node.get("radius_m")
    if (centre is None) != (radius is None):
        raise RegisterError(f"{name}: a campus on the map needs lat, lng and radius_m together")
    if radius is not None and not (isinstance(radius, int | float) and radius > 0):
        raise RegisterError(f"{name}: radius_m must be a positive number of metres")
    campus = Campus(name, _aliases(node), buildings, centre, float(radius or 0))
    _check_on_campus(campus)
    return campus


def _point(node: Mapping[str, Any], where: str) -> Point | None:
    """Optional lat and lng, in degrees and in range (a swapped pair is caught by the campus's circle)."""
    lat, lng = node.get("lat"), node.get("lng")
    if lat is None and lng is None:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
        raise RegisterError(f"{where}: lat and lng must both be numbers (degrees)")
    assert isinstance(lat, int | float) and isinstance(lng, int | float)
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise RegisterError(f"{where}: lat {lat}, lng {lng} is not a place on Earth")
    return Point(float(lat), float(lng))


def _check_on_campus(campus: Campus) -> None:
    """A building's point must lie within its campus's circle: a typo would send people elsewhere."""
    for b in campus.buildings:
        if b.at is not None and campus.centre is not None and campus.centre.metres_to(b.at) > campus.radius_m:
            far = campus.centre.metres_to(b.at)
            raise RegisterError(f"{campus.name}/{b.name}: lat/lng is {far:.0f} m from the campus centre, "
                                f"outside its radius_m {campus.radius_m:.0f}")


def _building(campus: str, node: Any) -> Building:
    if not isinstance(node, Mapping) or not node.get("name"):
        raise RegisterError(f"{campus}: building without a name: {node!r}")
    name = str(node["name"])
    try:
        floors = int(node.get("floors", 0))
        per_floor = int(node.get("per_floor", 0))
    except (TypeError, ValueError) as exc:
        raise RegisterError(f"{campus}/{name}: floors and per_floor must be numbers") from exc
    if floors < 0 or per_floor < 0:
        raise RegisterError(f"{campus}/{name}: floors and per_floor cannot be negative")
    rooms = node.get("rooms")
    if rooms is not None:
        rooms = str(rooms)
        try:
            rooms.format(floor=1, n=1)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
            raise RegisterError(f"{campus}/{name}: bad room pattern {rooms!r} "
                                "(use {floor} and {n}, e.g. \"{floor}{n:02d}\")") from exc
    building = Building(campus, name, _aliases(node), str(node.get("kind") or "other"), floors, rooms, per_floor,
                        _point(node, f"{campus}/{name}"))
    numbers = [r for f in range(1, floors + 1) for r in building.rooms_on(f)]
    if len(set(numbers)) != len(numbers):
        raise RegisterError(f"{campus}/{name}: room pattern {rooms!r} gives the same room number to two rooms")
    return building


def _group(node: Any) -> Group:
    if not isinstance(node, Mapping) or not node.get("name"):
        raise RegisterError(f"group without a name: {node!r}")
    return Group(str(node["name"]), str(node.get("trade") or ""), _strings(node, "items", f"group {node['name']}"))


def _phone(node: Mapping[str, Any], where: str) -> str | None:
    """An optional duty phone: a string (quoted in YAML, so 0772-… is not read as a sum or a number)."""
    value = node.get("duty_phone")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RegisterError(f"{where}: duty_phone must be a quoted string, e.g. \"0772-2686552\"")
    return value.strip()


def _sla(node: Mapping[str, Any], key: str, where: str, inherited: Sla) -> Sla:
    """Optional time limits ({accept: 2h, assign: 4h, complete: 48h}); a stage left out keeps the inherited one."""
    value = node.get(key)
    if value is None:
        return inherited
    if not isinstance(value, Mapping):
        raise RegisterError(f"{where}: {key} must be a mapping like {{accept: 2h, assign: 4h, complete: 48h}}")
    unknown = sorted(str(k) for k in value if k not in SLA_STAGES)
    if unknown:
        raise RegisterError(f"{where}: {key} has unknown stage(s) {', '.join(unknown)}; "
                            f"the stages are {', '.join(SLA_STAGES)}")
    limits = {stage: inherited.limit(stage) for stage in SLA_STAGES}
    for stage, raw in value.items():
        span = parse_duration(raw)
        if span is None:
            raise RegisterError(f"{where}: {key}.{stage} {raw!r} is not a duration ({EXAMPLE})")
        limits[str(stage)] = span
    return Sla(**limits)


def _category(node: Any, school_phone: str | None = None, school_sla: Sla = DEFAULT_SLA,
              school_urgent: Sla = DEFAULT_SLA_URGENT) -> Category:
    if not isinstance(node, Mapping) or not node.get("name"):
        raise RegisterError(f"category without a name: {node!r}")
    scope = node.get("scope") or {}
    if not isinstance(scope, Mapping):
        raise RegisterError(f"category {node['name']}: scope must be a mapping (campus, kinds, groups)")
    kinds = scope.get("kinds", ANY)
    only: tuple[str, ...] | None
    not_kinds: tuple[str, ...] = ()
    if kinds == ANY:
        only = None
    elif isinstance(kinds, Mapping) and "not" in kinds:
        only, not_kinds = None, tuple(str(k) for k in kinds["not"])
    elif isinstance(kinds, list):
        only = tuple(str(k) for k in kinds)
    else:
        raise RegisterError(f"category {node['name']}: kinds must be '*', a list or {{not: [...]}}")
    groups = _strings(scope, "groups", f"category {node['name']}")
    where = f"category {node['name']}"
    own = _phone(node, where)
    return Category(str(node["name"]), Scope(str(scope.get("campus", ANY)), only, not_kinds, groups),
                    own or school_phone, _sla(node, "sla", where, school_sla),
                    _sla(node, "sla_urgent", where, school_urgent))


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise RegisterError(f"register: {what} {n!r} appears twice")
        seen.add(n)


# -- storage -------------------------------------------------------------------

class RegisterDoc(Base):
    """A loaded register document; the newest row is the one in force."""

    __tablename__ = "register_docs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    document: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda: datetime.now(UTC))


def store_register(session: Session, text: str, source: str) -> Register:
    """Check a register document and store it as the one in force."""
    doc = _load_yaml(text)
    Register.from_dict(doc)  # refuse a faulty register before storing it
    row = RegisterDoc(source=source, document=doc)
    session.add(row)
    session.flush()
    return Register.from_dict(doc, version=row.id)


def current_register(session: Session) -> Register | None:
    """Load the register in force, or None when none was loaded."""
    row = session.scalars(select(RegisterDoc).order_by(RegisterDoc.id.desc()).limit(1)).first()
    return Register.from_dict(row.document, version=row.id) if row else None


def current_version(session: Session) -> int:
    return session.scalar(select(RegisterDoc.id).order_by(RegisterDoc.id.desc()).limit(1)) or 0
