"""Route a message or a menu key to the dialog that answers it (events that are not conversation —
subscribe, unsubscribe, delivery reports — never come here: the web layer's events module takes them)."""

from __future__ import annotations

from dialogs import consult, did_you_mean, emergency, human, my_tickets, place_given, rate, staff_chat, ticket_words
from dialogs.context import Ctx
from dialogs.engine import GLOBAL_WORDS, Engine, Switch, is_number, join_lines, yes_no
from dialogs.engine import TEXT as ENGINE_TEXT
from dialogs.notices import notices_reply
from dialogs.registry import BY_KEY, BY_WORD, DIALOGS, TITLES, help_text, read_entry
from dialogs.repair import GUESS_STEPS
from dialogs.repair import TEXT as REPAIR_TEXT
from dialogs.repair_form import Photo, RepairForm
from dialogs.reply import Reply
from dialogs.state import Incoming
from models.register import describe_place

TEXT = {
    "welcome": ("欢迎关注后勤报修！\n"
                "宿舍、教室、食堂哪里坏了，直接发给我就行，比如「12栋502水龙头一直滴水」，再拍张照片。\n"
                "第一次报修前需要绑定校园卡。回复「报修」开始，回复「帮助」查看全部功能。"),
    "welcome_back": "{name}，欢迎您回来！报修、查进度都可以直接发消息给我，回复「帮助」查看全部功能。",
    "unknown": ("抱歉，我还没看懂这句话。\n回复「报修」开始报修，「我的报修」查看进度，「帮助」查看全部功能。"),
    "idle_word": "当前没有进行中的操作。回复「报修」开始报修，回复「帮助」查看全部功能。",
    "greeting": "您好！需要报修请回复「报修」，查看进度请回复「我的报修」。",
    "unsupported": "暂时只能看懂文字和照片。报修请回复「报修」，或直接用文字描述问题。",
    "heard": "听到：「{text}」",
    "voice_unheard": "这条语音我没能听成文字，请打字告诉我，或者再说一次、说慢一点。",
    "voice_example": "报修可以直接说或打「12栋502水龙头一直滴水」。",
    "photo_first": ("收到照片！我们来填一张报修单：用一句话说说哪里坏了（比如「12栋502水龙头一直滴水」），"
                    "或按下面的列表选。"),
    "unknown_key": "这个菜单已经更新了，请重新打开菜单。",
    "go_on": "（您刚才的「{title}」还没完成，停在「{step}」，请接着回复。）",
    "busy": "您的上一条消息还在处理中，这一条还没有办理，请过几秒再发一次。",
    "unsigned": "这条消息没有经过加密验证，为了保护您的信息，暂时不能办理，请稍后再发一次。",
}

GREETINGS = frozenset({"你好", "您好", "hi", "hello", "在吗", "在么", "哈喽", "嗨"})

def build_engine(pause_s: int) -> Engine:
    engine = Engine(DIALOGS, pause_s, titles=TITLES)
    engine.opener = lambda ctx, key: _open(engine, ctx, key)
    return engine


def route(engine: Engine, ctx: Ctx) -> str | Reply:
    """Answer one incoming message; return the reply ("" means no reply)."""
    if engine.leaves(ctx, ctx.msg):
        # A screen that only shows things is not a form: what does not answer it is taken as from idle.
        engine.close(ctx)
    msg = ctx.msg
    if msg.kind == "text":
        said = _command(engine, ctx)
        if said is not None:
            return said
    if msg.kind == "scan":
        return _scanned(engine, ctx)
    if msg.kind in ("location", "location_report"):
        return _located(engine, ctx)
    if msg.kind == "voice":
        return join_lines(TEXT["voice_unheard"], engine.prompt(ctx) if ctx.state.active else TEXT["voice_example"])
    key = _key(msg)
    if key is not None and key not in BY_KEY:
        return _unknown_key(engine, ctx)
    if ctx.state.active:
        if msg.kind == "text" and msg.text in GLOBAL_WORDS:
            return engine.handle(ctx, msg)
        if key is not None and _flow(key) == ctx.state.flow:
            return engine.prompt(ctx)
        answer = BY_KEY[key].answer if key is not None else None
        if answer is not None and not ctx.state.pending:
            return _aside(engine, ctx, answer(ctx))
        if key is not None:
            return engine.handle(ctx, Incoming("click", key=key, msg_key=msg.msg_key))
        gone = _said_for_where_it_goes(engine, ctx)
        return gone if gone is not None else engine.handle(ctx, msg)
    return idle(engine, ctx, key)


# At 「要离开吗？去…」, what the words say that the menu clicked would take: they leave, and are taken there.
LEAVING_FOR = {"CONSULT": "complaint", "MY_TICKETS": "query", "NOTICES": "notice"}


def _said_for_where_it_goes(engine: Engine, ctx: Ctx) -> str | Reply | None:
    """A sentence answering 「要离开吗？」 that is what the clicked menu is for (「食堂的饭菜太咸了」 after 投诉建议)
    leaves the form and goes there with it; None for anything else (a yes, a no, more of the form)."""
    st, msg = ctx.state, ctx.msg
    pending = st.pending or {}
    if pending.get("kind") != "leave" or msg.kind != "text" or is_number(msg.text) or yes_no(msg.text) is not None:
        return None
    wanted = LEAVING_FOR.get(str(pending.get("key")))
    p = ctx.understand(msg.text) if wanted else None
    if p is None or p.emergency or p.intent != wanted:
        return None
    engine.close(ctx)
    return _free_text(engine, ctx)


def idle(engine: Engine, ctx: Ctx, key: str | None) -> str | Reply:
    """Answer a message with no dialog going on (``key``: the menu key it names, if any)."""
    msg = ctx.msg
    if key is not None:
        return _open(engine, ctx, key)
    if msg.kind == "image":
        return engine.begin(ctx, "repair", RepairForm(photos=(Photo(msg.media_id, msg.pic_url),)),
                            say=TEXT["photo_first"])
    if msg.kind != "text":
        return TEXT["unsupported"]
    text = msg.text
    if text.lower() in GREETINGS:
        who = ctx.who()
        if who.name:
            return TEXT["welcome_back"].format(name=who.name)
        return TEXT["greeting"]
    if text in GLOBAL_WORDS:
        return help_text() if GLOBAL_WORDS[text] == "help" else TEXT["idle_word"]
    if is_number(text):
        # A list number with no list open: a form that ended, expired or was lost.
        return TEXT["idle_word"]
    found = read_entry(msg.raw)
    if found is not None and found[0].dialog is not None:
        return engine.begin(ctx, found[0].dialog.name, found[1])
    return _free_text(engine, ctx)


def _command(engine: Engine, ctx: Ctx) -> str | None:
    """Answer the short commands pushes suggest, typed anywhere; None when the text is not one.

    A worker's 「开始/完成/无法维修 R…」 is answered even in the middle of a dialog.  A reporter's
    「评价 5」「没修好 …」 is answered when no dialog is going on, or when the one going on was left
    for longer than a pause (the user came back from a push); inside a live dialog the dialog answers.
    """
    st = ctx.state
    paused = st.active and bool(st.updated) and ctx.now - st.updated > engine.pause_s
    said = staff_chat.answer(ctx)
    if said is None and (not st.active or paused):
        cmd = rate.parse_command(ctx.msg.raw)
        if cmd is not None:
            outcome = rate.answer_command(ctx, cmd)
            if isinstance(outcome, Switch):
                if not st.active:
                    return engine.begin(ctx, outcome.flow, outcome.data, say=outcome.say)
                outcome = rate.instead(outcome)
            said = outcome
    if said is None or not st.active or st.flow is None:
        return said
    # A dialog is waiting: remind the user of it (after a pause, with the engine's own question).
    dialog = engine.dialog(st.flow)
    step = dialog.step(st.step).title if st.step else dialog.title
    if paused:
        st.pending = {"kind": "pause"}
        return said + "\n\n" + ENGINE_TEXT["pause"].format(title=dialog.title, step=step)
    if st.pending:
        return said
    return said + "\n\n" + TEXT["go_on"].format(title=dialog.title, step=step)


def _free_text(engine: Engine, ctx: Ctx) -> str | Reply:
    """Understand a sentence typed outside any dialog: a repair starts pre-filled; others are routed."""
    p = ctx.understand(ctx.msg.text)
    if p is not None and p.emergency:
        # Someone in danger: the duty phone and what to do now first, then an urgent report.
        alarm, urgent_form = emergency.start(ctx, ctx.msg.raw, p)
        return engine.begin(ctx, "repair", urgent_form, say=alarm)
    reacted = rate.react(ctx, ctx.msg.raw.strip(), p)
    if isinstance(reacted, Switch):
        return engine.begin(ctx, reacted.flow, reacted.data, say=reacted.say)
    if reacted is not None:
        return reacted
    if ticket_words.not_needed(ctx.msg.raw) and not (p is not None and p.intent == "repair" and p.group):
        return engine.begin(ctx, ticket_words.WITHDRAW_DIALOG.name)
    if p is None or p.intent == "other":
        return TEXT["unknown"]
    if p.intent == "query":
        named = my_tickets.named_in(ctx.msg.raw) or my_tickets.described_in(ctx, ctx.msg.raw)
        if named is not None:  # "R261202013什么时候修", "花洒修好了没有": that ticket, not the list
            return engine.begin(ctx, my_tickets.DIALOG.name, named)
        return _open(engine, ctx, "MY_TICKETS")
    if p.intent == "notice":
        return notices_reply(ctx)
    if p.intent == "complaint":
        data = consult.prefill(ctx.msg.raw.strip(), ctx.register.departments)
        return engine.begin(ctx, "consult", data, say=consult.guessed(data))
    raw = ctx.msg.raw.strip()
    if p.to_confirm:
        first = p.to_confirm[0]
        guessed = _guessed_repair(engine, ctx, raw, first.typed, first.meant)
        if guessed is not None:
            return guessed
        return engine.begin(ctx, "did_you_mean", did_you_mean.start(ctx, raw, first.typed, first.meant))
    say, form = did_you_mean.repair_from(ctx, raw, fuzzy=True)
    return engine.begin(ctx, "repair", form, say=say)


def _guessed_repair(engine: Engine, ctx: Ctx, raw: str, typed: str, meant: str) -> str | None:
    """A report read through a middle-confidence correction that still needs a place question: the question is
    asked at once and the correction told beside it, so that one answer settles both (「不是」 there reads the
    words as typed). None when the first question would be another (a list, the photo): then 「您是说…吗」."""
    if not ctx.who().bound:
        return None
    say, form = did_you_mean.repair_from(ctx, raw, fuzzy=True)
    if form is None:
        return None
    form.set("guess", raw, lambda: ctx.register)
    reply = engine.begin(ctx, "repair", form, say=join_lines(say, REPAIR_TEXT["guessed"].format(typed=typed,
                                                                                               meant=meant)))
    st = ctx.state
    return reply if st.flow == "repair" and st.step in GUESS_STEPS and not st.pending else None


def _aside(engine: Engine, ctx: Ctx, said: str | Reply) -> str | Reply:
    """A one-message answer (帮助, 通知公告) asked for in the middle of a form: given, and the form kept —
    there is nothing to leave for."""
    if isinstance(said, Reply):
        return said
    st = ctx.state
    assert st.flow is not None
    dialog = engine.dialog(st.flow)
    step = dialog.step(st.step).title if st.step else dialog.title
    return said + "\n\n" + TEXT["go_on"].format(title=dialog.title, step=step)


def _scanned(engine: Engine, ctx: Ctx) -> str | Reply:
    """A 扫码报修 sticker: a repair at its place; a stale or forged one gets a plain answer."""
    place = place_given.scanned_place(ctx)
    if place is None:
        return place_given.TEXT["stale"]
    if ctx.state.active and ctx.state.flow is not None:
        title = engine.dialog(ctx.state.flow).title
        return join_lines(place_given.TEXT["busy"].format(title=title), engine.prompt(ctx))
    return engine.begin(ctx, "repair", place_given.form_at(ctx, place), say=place_given.scanned_text(place))


def _located(engine: Engine, ctx: Ctx) -> str | Reply:
    """A shared location: the nearest building starts a repair, or answers the place of the one being filled."""
    st = ctx.state
    if ctx.msg.kind == "location_report" and not place_given.place_wanted(ctx):
        return ""  # reported as the chat opened: only a repair waiting for its place uses it
    found = place_given.shared_building(ctx)
    prompt = engine.prompt(ctx) if st.active else ""
    if isinstance(found, str):
        return join_lines(found, prompt)
    if st.active and st.flow == "repair":
        form = ctx.form(RepairForm)
        if form.building:
            where = describe_place(form.campus, form.building, form.floor, form.room)
            return join_lines(place_given.TEXT["place_known"].format(place=where), prompt)
        form.fill({"campus": found.campus, "building": found.name, "located": True}, lambda: ctx.register)
        return engine.resume(ctx, place_given.near_text(found, "near_here"))
    if st.active and st.flow is not None:
        title = engine.dialog(st.flow).title
        return join_lines(place_given.TEXT["busy_location"].format(title=title), prompt)
    form = place_given.form_at(ctx, place_given.at_building(found))
    form.set("located", True, lambda: ctx.register)  # a guess: a building named in words wins
    return engine.begin(ctx, "repair", form, say=place_given.near_text(found))


def _key(msg: Incoming) -> str | None:
    if msg.kind == "click":
        return msg.key or ""
    if msg.kind == "text":
        entry = BY_WORD.get(msg.text)
        return entry.key if entry else ("HUMAN" if human.asked(msg.text) else None)
    return None


def _unknown_key(engine: Engine, ctx: Ctx) -> str:
    """A button of an older menu (or a forged key): say what the menu offers now; a dialog going on is
    left as it was, and its question asked again."""
    said = join_lines(TEXT["unknown_key"], help_text())
    return join_lines(said, engine.prompt(ctx)) if ctx.state.active and not ctx.state.pending else said


def _flow(key: str) -> str | None:
    entry = BY_KEY.get(key)
    return entry.dialog.name if entry and entry.dialog else None


def _open(engine: Engine, ctx: Ctx, key: str) -> str | Reply:
    entry = BY_KEY.get(key)
    if entry is None:
        return TEXT["unknown_key"]
    if entry.answer is not None:
        return entry.answer(ctx)
    assert entry.dialog is not None
    return engine.begin(ctx, entry.dialog.name)
