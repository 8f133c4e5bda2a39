"""The repair form: its fields and their types, and the one declaration of which depend on which.

Apart from the dialog (dialogs/repair.py) so that the reading of free text (dialogs/understand.py), which
fills and corrects the form, can name it without importing the dialog that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from dialogs.forms import STRINGS, Codec, Fields, Form
from dialogs.places import place_fields
from models.register import Register
from models.tickets import Duplicate

# WeChat sends an album's pictures as separate messages: a ticket keeps this many of them.
MAX_PHOTOS = 3


@dataclass(frozen=True)
class Photo:
    """A photo the user sent (WeChat's media id, and its temporary URL)."""

    media_id: str
    pic_url: str = ""

    def to_json(self) -> dict[str, str]:
        return {"media_id": self.media_id, "pic_url": self.pic_url}

    @classmethod
    def from_json(cls, raw: Any) -> Photo | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("media_id"), str):
            raise ValueError("a photo needs its media_id")
        return cls(raw["media_id"], str(raw.get("pic_url") or ""))


@dataclass(frozen=True)
class PlaceGuess:
    """What a sentence said of the place beside a building it was unsure of, kept until the user picks one."""

    floor: str | None = None
    room: str | None = None
    place_note: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"floor": self.floor, "room": self.room, "place_note": self.place_note}

    @classmethod
    def from_json(cls, raw: Any) -> PlaceGuess | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ValueError("a place guess is an object")
        return cls(*(_text(raw.get(k)) for k in ("floor", "room", "place_note")))


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _photos(raw: Any) -> tuple[Photo, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_PHOTOS:
        raise ValueError(f"expected a list of at most {MAX_PHOTOS} photos")
    return tuple(p for p in (Photo.from_json(r) for r in raw) if p is not None)


def _duplicate(raw: Any) -> Duplicate | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("a duplicate is an object")
    return Duplicate(*(str(raw.get(k) or "") for k in ("no", "place", "fault", "status_zh")))


def _pairs(raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or not all(isinstance(p, list) and len(p) == 2 for p in raw):
        raise ValueError("expected [campus, building] pairs")
    return tuple((str(c), str(b)) for c, b in raw)


def _optional(dump: Any) -> Any:
    return lambda value: None if value is None else dump(value)


# -- when a field still holds after what it depends on changed ----------------------------------------------

def group_fits(form: RepairForm, reg: Register) -> bool:
    """A fault's group holds while the repair type (if any) repairs it."""
    cat = reg.category(form.category)
    return cat is None or form.group in cat.scope.groups


def item_fits(form: RepairForm, reg: Register) -> bool:
    """An item holds while it belongs to the group ("其他", None, is asked again for another group)."""
    return form.item is not None and reg.group_of_item(form.item) == form.group


def campus_fits(form: RepairForm, reg: Register) -> bool:
    cat = reg.category(form.category)
    return cat is None or any(c.name == form.campus for c in reg.campuses_of(cat))


def building_fits(form: RepairForm, reg: Register) -> bool:
    """A building holds while the repair type covers it (for the fault's group, when known)."""
    cat = reg.category(form.category)
    if cat is None:
        return True
    return any(b.name == form.building for b in reg.buildings_for(cat, form.campus or "", form.group))


# The one declaration: a field listed on the left is dropped when a field it names changes, unless its
# check below says it still holds.  The place's own part (building → floor → room → note) is place_fields.
REPAIR_FIELDS = Fields.join(
    place_fields(""),
    Fields(
        depends={
            "group": ("category",),
            "item": ("group",),
            "fault": ("group",),
            "campus": ("category",),
            "building": ("category",),
            # The notice told and the duplicate offered were about one place and one kind of fault.
            "notice": ("campus", "building", "group"),
            "notice_seen": ("campus", "building", "group"),
            "dup_no": ("campus", "building", "floor", "group"),
            "dup": ("dup_no",),
            "dup_choice": ("dup_no",),
            "located": ("building",),
        },
        valid={"group": group_fits, "item": item_fits, "campus": campus_fits, "building": building_fits},
    ),
)


@dataclass(frozen=True)
class RepairForm(Form):
    """Everything a repair ticket needs, and what was asked on the way to it."""

    VERSION = 2  # v2: photos, a list of up to MAX_PHOTOS, instead of one photo
    FIELDS = REPAIR_FIELDS
    LEGACY: ClassVar[Mapping[str, str]] = {
        "_dup": "dup", "_notice": "notice", "_bcands": "building_candidates", "_rest": "place_guess",
        "_gcands": "group_candidates"}
    CODECS: ClassVar[Mapping[str, Codec]] = {
        "photos": Codec(lambda photos: [p.to_json() for p in photos], _photos),
        "dup": Codec(_optional(Duplicate.to_dict), _duplicate),
        "place_guess": Codec(_optional(PlaceGuess.to_json), PlaceGuess.from_json),
        "building_candidates": Codec(lambda pairs: [list(p) for p in pairs], _pairs),
        "group_candidates": STRINGS,
    }

    # what is broken, and who repairs it
    category: str | None = None
    group: str | None = None
    item: str | None = None
    fault: str | None = None  # the words of a sentence for what is wrong ("堵"), said back to the user
    # where
    campus: str | None = None
    building: str | None = None
    floor: str | None = None
    room: str | None = None
    place_note: str | None = None
    # asked on the way
    notice: str | None = None  # the notice in force that was told
    notice_seen: bool | None = None
    dup_no: str | None = None
    dup: Duplicate | None = None
    dup_choice: str | None = None
    description: str | None = None
    photos: tuple[Photo, ...] = ()  # in the order sent; known once one is (「重新发照片」 forgets them)
    phone: str | None = None
    # a sentence's guesses, waiting for the user to pick one
    building_candidates: tuple[tuple[str, str], ...] = ()
    place_guess: PlaceGuess | None = None
    group_candidates: tuple[str, ...] = ()
    # An emergency the words said (the lexicon's kind, 电梯困人 …): filed urgent, the photo optional.
    emergency: str | None = None
    # A sentence sent at the summary that reports another fault elsewhere, until the user says which it is.
    another: str | None = None
    # The building came from a shared location: words naming another building win over it.
    located: bool | None = None
    # Words read through a middle-confidence correction of a typo, told beside the first question instead of
    # asked on their own: 「不是」 at that question reads them again as typed.
    guess: str | None = None
    # The user chose the lists (「都不是，按菜单选择」, or words that named no place): the place is not asked in words.
    by_menu: bool | None = None

    @classmethod
    def upgrade(cls, values: dict[str, Any], version: int) -> dict[str, Any]:
        """v1 → v2: the one photo of before becomes the first of the photos."""
        values = super().upgrade(values, version)
        if version < 2 and "photo" in values:
            old = values.pop("photo")
            if old is not None:
                values["photos"] = [old]
        return values


def more_photos(photos: tuple[Photo, ...], photo: Photo) -> tuple[Photo, ...] | None:
    """The photos with one more (one sent again is kept once); None when MAX_PHOTOS are kept already."""
    if any(p.media_id == photo.media_id for p in photos):
        return photos
    if len(photos) >= MAX_PHOTOS:
        return None
    return (*photos, photo)
