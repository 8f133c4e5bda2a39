"""个人信息: see the bound profile, change phone and default room, unbind.

The default room is asked with the shared place steps into a ``ProfileForm`` (home_* fields, whose
dependencies are the place's own: dialogs/places.py); forgetting the campus forgets the rest of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from dialogs.bind import clear_failures, count_failure, lock_out, locked
from dialogs.context import Ctx
from dialogs.engine import END, Choice, Dialog, End, Go, Outcome, Retry, Step, Switch
from dialogs.forms import Form
from dialogs.places import describe_place, fits_floor, place_fields, place_steps
from dialogs.repair import phone_in
from dialogs.state import Incoming, normalize
from models.people import NEW_PASSWORD_RE, mask_card, password_digest, unbind
from models.register import Building, Campus

TEXT = {
    "title": "个人信息",
    "greet": "{name}，欢迎您回来。",
    "show": "姓名：{name}\n校园卡：{card}\n电话：{phone}\n默认房间：{room}",
    "unset": "未设置",
    "act_phone": "修改电话",
    "act_room": "修改默认房间",
    "act_password": "修改密码",
    "act_unbind": "解除绑定",
    "act_done": "完成",
    "phone": "请输入新的联系电话（手机号）：",
    "phone_bad": "这个号码好像不对，请输入 11 位手机号，或带区号的座机号。",
    "phone_saved": "电话已更新。",
    "room_saved": "默认房间已更新，报修时会优先用它。",
    "room_campus": "请选择校区（回复数字），也可以直接输入房间，如「12栋502」。不改了请回复「取消」。",
    "room_unclear": "没能从「{text}」里看出是哪栋楼，请回复校区前的数字，或写楼名和房间号，如「12栋502」。",
    "room_no_rooms": "{building} 不是宿舍楼，不能设为默认房间，请换一栋。",
    "unbind": "确定解除绑定吗？解除后需要重新绑定才能报修。",
    "unbind_yes": "确定解除",
    "unbind_no": "不解除",
    "unbound": "已解除绑定。需要时回复「绑定」重新绑定。",
    "done": "好的。回复「报修」开始报修，回复「帮助」查看全部功能。",
    "help": "回复数字修改电话、默认房间或密码，或解除绑定。",
    "pw_old": "请输入当前密码（没改过的话，是身份证号后六位）：",
    "pw_bad": "当前密码不对，还可以再试 {left} 次。",
    "pw_new": "请输入新密码（6–20 位字母、数字或符号）：",
    "pw_rule": "新密码要 6–20 位，只能用字母、数字和符号，请再输入一次。",
    "pw_again": "请再输入一次新密码：",
    "pw_differ": "两次输入的不一样，请重新输入新密码。",
    "pw_saved": "密码已修改。以后在新的微信上绑定校园卡，请用新密码。",
}


@dataclass(frozen=True)
class ProfileForm(Form):
    """The default room being chosen, and what the page has said already."""

    VERSION = 1
    FIELDS = place_fields("home_")
    LEGACY: ClassVar[Mapping[str, str]] = {"_greeted": "greeted"}

    home_campus: str | None = None
    home_building: str | None = None
    home_floor: str | None = None
    home_room: str | None = None
    home_place_note: str | None = None
    greeted: bool = False
    said: str | None = None  # what a skipped step did, said by the next prompt
    new_secret: str | None = None  # a keyed digest of the new password, until it is typed again
    goal: str | None = None  # where the page opens, when words asked for one action ("unbind")


def form(ctx: Ctx) -> ProfileForm:
    return ctx.form(ProfileForm)


def on_start(ctx: Ctx) -> Outcome | None:
    if not ctx.user().bound:
        return Switch("bind", come_back=False)
    if form(ctx).goal == "unbind":  # 「解绑」 typed: straight to the question
        ctx.forget("goal")
        ctx.set("greeted", True)
        return Go("unbind")
    return None


UNBIND_WORDS = ("解除绑定", "解绑", "取消绑定", "解绑校园卡", "解除绑定校园卡")


def read_unbind(raw: str) -> ProfileForm | None:
    """「解除绑定」 typed with no dialog open: the profile opened at its unbind question."""
    return ProfileForm(goal="unbind") if normalize(raw) in UNBIND_WORDS else None


def show_prompt(ctx: Ctx) -> str:
    # A step that is skipped cannot speak: what it did is said here, once.
    said = form(ctx).said or ""
    ctx.forget("said")
    user = ctx.user()
    person = user.person
    place = user.default_place or {}
    room = describe_place(place.get("campus"), place.get("building"), place.get("floor"), place.get("room"))
    name = person.name if person else ""
    text = TEXT["show"].format(name=name, card=mask_card(person.card_no) if person else "",
                               phone=user.contact_phone or TEXT["unset"], room=room or TEXT["unset"])
    # Greeted once, when the page first opens; after an edit, what changed leads instead.
    if not form(ctx).greeted:
        ctx.set("greeted", True)
        text = TEXT["greet"].format(name=name) + "\n" + text
    return f"{said}\n{text}" if said else text


# What people call each action on the page, besides its label and its number.
ACTION_WORDS = {
    "act_phone": ("改电话", "电话", "换电话", "手机", "手机号", "改手机号", "修改手机号", "联系电话"),
    "act_room": ("改房间", "默认房间", "房间", "改宿舍", "宿舍", "修改房间", "改默认房间", "设置默认房间"),
    "act_password": ("改密码", "密码", "换密码"),
    "act_unbind": ("解绑", "取消绑定", "解除", "换绑"),
    "act_done": ("好了", "没事了", "关闭", "退出个人信息"),
}


def show_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT[k], k, ACTION_WORDS[k]) for k in ACTION_WORDS]


def on_show(ctx: Ctx, choice: Choice) -> Outcome:
    if choice.value == "act_done":
        return End(TEXT["done"])
    if choice.value == "act_room":
        ctx.forget("home_campus")  # and, by the place's declaration, the rest of the room
        return Go("home_campus")
    return Go({"act_phone": "phone", "act_password": "pw_old", "act_unbind": "unbind"}[str(choice.value)])


def phone(ctx: Ctx, msg: Incoming) -> Outcome:
    number = phone_in(msg.text)
    if number is None:
        return Retry(TEXT["phone_bad"])
    ctx.user().phone = number
    return Go(say=TEXT["phone_saved"])


def pw_old(ctx: Ctx, msg: Incoming) -> Outcome:
    """The current password first: a phone left unlocked must not let someone else take the card over.
    Wrong answers count against the same lock as binding."""
    person = ctx.user().person
    if person is None:
        return End(TEXT["done"])
    if locked(ctx, person.card_no):
        return lock_out(ctx)
    if not person.check_password(msg.raw, pepper=ctx.config.id_pepper):
        left = count_failure(ctx, person.card_no)
        return lock_out(ctx) if left == 0 else Retry(TEXT["pw_bad"].format(left=left))
    clear_failures(ctx, person.card_no)
    return Go()


def pw_new(ctx: Ctx, msg: Incoming) -> Outcome:
    typed = msg.raw.strip()
    if not NEW_PASSWORD_RE.match(typed):
        return Retry(TEXT["pw_rule"])
    ctx.set("new_secret", password_digest(typed, pepper=ctx.config.id_pepper))
    return Go()


def pw_again(ctx: Ctx, msg: Incoming) -> Outcome:
    person = ctx.user().person
    wanted = form(ctx).new_secret
    ctx.forget("new_secret")
    if person is None or wanted != password_digest(msg.raw.strip(), pepper=ctx.config.id_pepper):
        return Go("pw_new", say=TEXT["pw_differ"])
    person.set_password(msg.raw.strip(), pepper=ctx.config.id_pepper)
    return Go(say=TEXT["pw_saved"])


def home_campuses(ctx: Ctx) -> list[Campus]:
    return [c for c in ctx.register.campuses if any(b.has_rooms for b in c.buildings)]


def home_buildings(ctx: Ctx, campus: str) -> list[Building]:
    c = ctx.register.campus(campus)
    return [b for b in c.buildings if b.has_rooms] if c else []


def room_in_words(ctx: Ctx, msg: Incoming) -> Outcome:
    """「12栋502」 typed at the campus or building question: the building (and floor and room) it names."""
    p = ctx.understand(msg.raw, fuzzy=False)
    if p is None or not p.campus or not p.building:
        return Retry(TEXT["room_unclear"].format(text=msg.raw.strip()[:20]))
    building = ctx.register.building(p.campus, p.building)
    if building is None or not building.has_rooms:
        return Retry(TEXT["room_no_rooms"].format(building=p.building))
    ctx.set("home_campus", p.campus)
    ctx.set("home_building", p.building)
    floor = building.floor_of_room(p.room) if p.room else None
    if floor is not None:
        ctx.set("home_floor", str(floor))
        ctx.set("home_room", p.room)
    elif p.floor and fits_floor(building, p.floor):
        ctx.set("home_floor", p.floor)
    return Go("home_building")


def room_steps() -> tuple[Step, ...]:
    """The shared place steps, where the campus and building questions also take a room in words."""
    steps = place_steps("home_", "room_saved", home_campuses, home_buildings, with_note=False,
                        free_text=room_in_words)
    campus = replace(steps[0], prompt=TEXT["room_campus"], handle=room_in_words, goes_to=("home_building",))
    return (campus, *steps[1:])


def save_room(ctx: Ctx, msg: Incoming) -> Outcome:
    f = form(ctx)
    ctx.user().default_place = {"campus": f.home_campus, "building": f.home_building,
                                "floor": f.home_floor, "room": f.home_room}
    ctx.forget("home_campus")
    return Go(say=TEXT["room_saved"])


def unbind_choices(ctx: Ctx) -> list[Choice]:
    return [Choice(TEXT["unbind_yes"], True, yes=True), Choice(TEXT["unbind_no"], False, no=True)]


def on_unbind(ctx: Ctx, choice: Choice) -> Outcome:
    if not choice.value:
        return Go("show")
    unbind(ctx.session, ctx.openid)
    return End(TEXT["unbound"])


def saved_skip(ctx: Ctx) -> bool:
    """Store the default room as soon as the place steps are done, without asking anything more."""
    save_room(ctx, ctx.msg)
    ctx.set("said", TEXT["room_saved"])
    return True


DIALOG = Dialog(
    name="profile",
    title=TEXT["title"],
    start="show",
    form=ProfileForm,
    on_start=on_start,
    help=TEXT["help"],
    steps=(
        Step("show", "个人信息", show_prompt, next=END, choices=show_choices, on_choice=on_show,
             goes_to=("phone", "home_campus", "pw_old", "unbind"), read_only=True),
        Step("phone", "修改电话", TEXT["phone"], next="show", handle=phone),
        Step("pw_old", "当前密码", TEXT["pw_old"], next="pw_new", handle=pw_old),
        Step("pw_new", "新密码", TEXT["pw_new"], next="pw_again", handle=pw_new),
        Step("pw_again", "确认新密码", TEXT["pw_again"], next="show", handle=pw_again, goes_to=("pw_new",)),
        *room_steps(),
        Step("room_saved", "保存默认房间", TEXT["room_saved"], next="show", handle=save_room, skip=saved_skip),
        Step("unbind", "解除绑定", TEXT["unbind"], next=END, choices=unbind_choices, on_choice=on_unbind,
             goes_to=("show",)),
    ),
)
