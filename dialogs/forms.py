"""Typed forms: what a dialog has been told so far, which fields depend on which, and how it is stored.

Each dialog keeps its answers in a frozen dataclass, a ``Form``: its fields are named and typed, and no
code can change one except through ``Form.set`` and ``Form.forget``.  Both apply the form's one
dependency declaration (``Fields``): when a field changes, every field that depends on it is dropped,
unless the declaration's ``valid`` check for it says it still holds (a floor that the new building also
has).  Every editor goes through them: a step answered (again, after 返回), a correction in words, the
summary's edit menu.

A field is *known* once answered, even with None ("其他", "公共区域"): the engine skips a step whose
field is known, and the stored JSON holds exactly the known fields, with a version number:
``{"v": 1, "building": "学生公寓12栋", "room": null, ...}``.  State written before forms were typed (v0: the
plain dict, hidden keys spelled with a leading underscore) is read through each form's ``LEGACY`` names.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar, get_type_hints

from models.errors import DialogDefinitionError
from models.register import Register

log = logging.getLogger(__name__)

F = TypeVar("F", bound="Form")
# Whether a field that depends on one that changed still holds; gets the form and the register.
Check = Callable[[Any, Register], bool]
RegisterSource = Callable[[], Register]


# -- the dependency declaration ------------------------------------------------------------------------

@dataclass(frozen=True)
class Fields:
    """Which fields depend on which (``depends``), and when a dependent survives a change (``valid``)."""

    depends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    valid: Mapping[str, Check] = field(default_factory=dict)

    @staticmethod
    def join(*parts: Fields) -> Fields:
        """One declaration from several (a form's own and the place's): dependencies add up, checks must all hold."""
        depends: dict[str, tuple[str, ...]] = {}
        checks: dict[str, list[Check]] = {}
        for p in parts:
            for name, on in p.depends.items():
                depends[name] = (*depends.get(name, ()), *(o for o in on if o not in depends.get(name, ())))
            for name, check in p.valid.items():
                checks.setdefault(name, []).append(check)
        return Fields(depends, {name: _all(cs) for name, cs in checks.items()})

    def order(self, names: Iterable[str]) -> list[str]:
        """The fields, every one after those it depends on (refusing a cycle)."""
        done: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            if name in visiting:
                raise DialogDefinitionError(f"form fields depend on each other in a cycle through {name!r}")
            visiting.add(name)
            for dep in self.depends.get(name, ()):
                visit(dep)
            visiting.discard(name)
            done.append(name)

        for name in names:
            visit(name)
        return done

    def check(self, names: set[str], form: str) -> None:
        """Refuse a declaration naming a field the form does not have."""
        named = set(self.depends) | set(self.valid) | {d for on in self.depends.values() for d in on}
        unknown = sorted(named - names)
        if unknown:
            raise DialogDefinitionError(f"form {form}: the dependency declaration names unknown fields {unknown}")


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    return lambda form, register: all(c(form, register) for c in checks)


# -- how a field is written to JSON --------------------------------------------------------------------

@dataclass(frozen=True)
class Codec:
    """Write a field's value as JSON and read it back (``load`` raises ValueError on a value of another shape)."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]


def _plain(kind: type) -> Codec:
    def load(value: Any) -> Any:
        # JSON has no int/bool distinction that Python keeps: True is not a number of stars.
        if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
            return value
        raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")

    return Codec(lambda v: v, load)


PLAIN = {str: _plain(str), bool: _plain(bool), int: _plain(int), float: _plain(float)}


def strings(value: Any) -> tuple[str, ...]:
    """Read a JSON list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(value)


STRINGS = Codec(list, strings)


# -- the form ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Form:
    """Base of every dialog's form.  Subclasses are frozen dataclasses whose fields all have defaults."""

    VERSION: ClassVar[int] = 1
    FIELDS: ClassVar[Fields] = Fields()
    # v0 (the untyped dict of before): keys spelled otherwise then, as {old key: field}.
    LEGACY: ClassVar[Mapping[str, str]] = {}
    # Codecs of the fields that are not str/int/bool/float (or None).
    CODECS: ClassVar[Mapping[str, Codec]] = {}
    _ORDER: ClassVar[dict[type, list[str]]] = {}
    _CODECS: ClassVar[dict[type, dict[str, Codec]]] = {}

    known: builtins.set[str] = field(default_factory=builtins.set, init=False, repr=False)

    def __post_init__(self) -> None:
        # What a form is built with is known: RateForm(no="R…") has its ticket.
        for f in fields(self):
            if f.name != "known" and getattr(self, f.name) != _default(f):
                self.known.add(f.name)

    # reading -----------------------------------------------------------------------------------

    @classmethod
    def names(cls) -> list[str]:
        """The form's fields, every one after those it depends on."""
        order = Form._ORDER.get(cls)
        if order is None:
            own = [f.name for f in fields(cls) if f.name != "known"]
            cls.FIELDS.check(set(own), cls.__name__)
            order = Form._ORDER[cls] = cls.FIELDS.order(own)
        return order

    @classmethod
    def checked(cls) -> list[str]:
        """The field names, once the declaration and every field's codec are known good (at dialog build)."""
        names = cls.names()
        for name in names:
            cls._codec(name)
        return names

    def has(self, name: str) -> bool:
        """Whether the field was answered (None counts as an answer)."""
        return name in self.known

    def get(self, name: str) -> Any:
        self._field(name)
        return getattr(self, name)

    # the one way to change a field ----------------------------------------------------------------

    def set(self, name: str, value: Any, register: RegisterSource) -> list[str]:
        """Give a field a value and drop what depended on an earlier, different one; return what was dropped."""
        self._field(name)
        if self.has(name) and getattr(self, name) == value:
            return []
        object.__setattr__(self, name, value)
        self.known.add(name)
        return self._drop_dependents({name}, register)

    def forget(self, name: str, register: RegisterSource) -> list[str]:
        """Make a field unknown again (it will be asked), with what depends on it; return all that was dropped."""
        self._field(name)
        if not self.has(name):
            return []
        self._clear(name)
        return [name, *self._drop_dependents({name}, register)]

    def fill(self, values: Mapping[str, Any], register: RegisterSource) -> list[str]:
        """Set several fields, each after those it depends on (so none is dropped by a field set after it)."""
        for name in values:
            self._field(name)
        for name in self.names():
            if name in values:
                self.set(name, values[name], register)
        return [n for n in self.names() if n in values]

    def _drop_dependents(self, changed: builtins.set[str], register: RegisterSource) -> list[str]:
        dropped: list[str] = []
        reg: Register | None = None
        for name in self.names():
            on = self.FIELDS.depends.get(name, ())
            if name not in self.known or not changed.intersection(on):
                continue
            check = self.FIELDS.valid.get(name)
            if check is not None:
                reg = reg or register()
                if check(self, reg):
                    continue
            self._clear(name)
            changed.add(name)
            dropped.append(name)
        return dropped

    def _clear(self, name: str) -> None:
        f = next(f for f in fields(self) if f.name == name)
        object.__setattr__(self, name, _default(f))
        self.known.discard(name)

    def _field(self, name: str) -> None:
        if name == "known" or name not in self.names():
            raise DialogDefinitionError(f"form {type(self).__name__} has no field {name!r}")

    # JSON ----------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The known fields, with the form's version."""
        out: dict[str, Any] = {"v": self.VERSION}
        for name in self.names():
            if name in self.known:
                out[name] = self._codec(name).dump(getattr(self, name))
        return out

    @classmethod
    def from_json(cls: type[F], raw: Any) -> F:
        """Read a stored form of this version or an older one; a value of the wrong shape is left unknown."""
        form = cls()
        if not isinstance(raw, Mapping):
            return form
        version = raw.get("v", 0)
        if not isinstance(version, int) or version > cls.VERSION:
            log.warning("form %s of version %r read by version %d: unknown fields ignored",
                        cls.__name__, version, cls.VERSION)
        values = cls.upgrade(dict(raw), version if isinstance(version, int) else cls.VERSION)
        for name in cls.names():
            if name not in values:
                continue
            try:
                value = cls._codec(name).load(values[name])
            except (ValueError, TypeError, KeyError):
                log.warning("form %s: stored %s has an unexpected shape; it will be asked again", cls.__name__, name)
                continue
            object.__setattr__(form, name, value)
            form.known.add(name)
        return form

    @classmethod
    def upgrade(cls, values: dict[str, Any], version: int) -> dict[str, Any]:
        """Bring stored values of an older version to this one's layout (v0 → v1: the LEGACY names)."""
        if version == 0:
            values = {cls.LEGACY.get(k, k): v for k, v in values.items()}
        return values

    @classmethod
    def _codec(cls, name: str) -> Codec:
        codecs = Form._CODECS.get(cls)
        if codecs is None:
            codecs = Form._CODECS[cls] = {n: cls._find_codec(n) for n in cls.names()}
        return codecs[name]

    @classmethod
    def _find_codec(cls, name: str) -> Codec:
        """The field's own codec, else the plain one of its type (str, int, bool or float, or None)."""
        codec = cls.CODECS.get(name)
        if codec is not None:
            return codec
        hint = get_type_hints(cls)[name]
        kinds = [k for k in getattr(hint, "__args__", (hint,)) if k is not type(None)]
        if len(kinds) != 1 or kinds[0] not in PLAIN:
            raise DialogDefinitionError(f"form {cls.__name__}: field {name!r} needs a codec")
        return PLAIN[kinds[0]]


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    raise DialogDefinitionError(f"form field {f.name!r} needs a default")


@dataclass(frozen=True)
class Blank(Form):
    """The form of a dialog that remembers nothing (and of no dialog at all)."""


# -- which form a dialog keeps ---------------------------------------------------------------------------

FORMS: dict[str, type[Form]] = {}


def form_of(flow: str | None) -> type[Form]:
    """The form class of a dialog by name (dialogs register theirs when they are defined)."""
    return FORMS.get(flow or "", Blank)


def load_form(flow: str | None, raw: Any) -> Form:
    """Read a stored form of a dialog (a dialog not defined in this process has nothing to read it with)."""
    if flow and flow not in FORMS:
        log.warning("no form is known for dialog %r: its stored answers are not read", flow)
    return form_of(flow).from_json(raw)
