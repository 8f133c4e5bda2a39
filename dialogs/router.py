"""Route a message, event or menu key to the dialog that answers it."""

from __future__ import annotations

from dialogs import bind, my_tickets, profile, repair
from dialogs.context import Ctx
from dialogs.engine import GLOBAL_WORDS, Engine, Incoming
from dialogs.repair import TEXT as REPAIR_TEXT
from dialogs.understand import echo, form_from_parse
from models.people import set_subscribed
from models.pushes import record_delivery

TEXT = {
    "welcome": ("欢迎关注后勤报修！\n"
                "宿舍、教室、食堂哪里坏了，直接发给我就行，比如「12栋502水龙头一直滴水」，再拍张照片。\n"
                "第一次报修前需要绑定校园卡。回复「报修」开始，回复「帮助」查看全部功能。"),
    "welcome_back": "{name}，欢迎您回来！报修、查进度都可以直接发消息给我，回复「帮助」查看全部功能。",
    "help": ("我可以帮您：\n"
             "· 报修：回复「报修」，按提示选择类型、位置，描述问题并拍照\n"
             "· 我的报修：查看进度、留言、撤销未受理的报修\n"
             "· 个人信息：查看和修改电话、默认房间，解除绑定\n"
             "· 绑定：绑定校园卡（报修前需要）\n"
             "填写过程中随时可以回复：取消、返回（上一步）、重新开始、帮助。"),
    "unknown": ("抱歉，我还没看懂这句话。\n回复「报修」开始报修，「我的报修」查看进度，「帮助」查看全部功能。"),
    "idle_word": "当前没有进行中的操作。回复「报修」开始报修，回复「帮助」查看全部功能。",
    "complaint_soon": ("收到您的意见。网上咨询（投诉、建议、表扬）即将在这里上线，现在请向后勤管理处反映。"
                       "如果是东西坏了需要修，直接描述哪里、什么坏了就行。"),
    "notice_soon": "通知公告即将在这里上线，现在请留意后勤管理处发布的通知。报修请直接描述问题。",
    "greeting": "您好！需要报修请回复「报修」，查看进度请回复「我的报修」。",
    "unsupported": "暂时只能看懂文字和照片。报修请回复「报修」，或直接用文字描述问题。",
    "photo_first": "收到照片！我们来填一张报修单。",
    "unknown_key": "这个菜单暂时不可用，回复「帮助」查看全部功能。",
}

# Menu keys (CLICK events) and the words that do the same in text.
MENU = {
    "REPAIR": ("repair", "我要报修"),
    "MY_TICKETS": ("my_tickets", "我的报修"),
    "PROFILE": ("profile", "个人信息"),
    "BIND": ("bind", "绑定校园卡"),
    "HELP": ("help", "帮助"),
}
WORDS = {
    "报修": "REPAIR", "我要报修": "REPAIR", "维修": "REPAIR",
    "我的报修": "MY_TICKETS", "报修进度": "MY_TICKETS", "查询进度": "MY_TICKETS", "我的维修单": "MY_TICKETS",
    "个人信息": "PROFILE", "我的信息": "PROFILE",
    "绑定": "BIND", "绑定校园卡": "BIND", "用户认证": "BIND",
    "帮助": "HELP", "使用帮助": "HELP", "菜单": "HELP",
}
GREETINGS = frozenset({"你好", "您好", "hi", "hello", "在吗", "在么", "哈喽", "嗨"})

ENGINE_DIALOGS = (repair.DIALOG, bind.DIALOG, my_tickets.DIALOG, profile.DIALOG)


def build_engine(pause_s: int) -> Engine:
    engine = Engine(ENGINE_DIALOGS, pause_s, titles={k: title for k, (_, title) in MENU.items()})
    engine.opener = lambda ctx, key: _open(engine, ctx, key)
    return engine


def route(engine: Engine, ctx: Ctx) -> str:
    """Answer one incoming message; return the reply text ("" means no reply)."""
    msg = ctx.msg
    if msg.kind == "subscribe":
        return _subscribe(ctx)
    if msg.kind == "unsubscribe":
        set_subscribed(ctx.session, ctx.openid, False)
        ctx.state.flow = None
        return ""
    if msg.kind == "delivery":
        record_delivery(ctx.session, msg.key, msg.raw)
        return ""
    if msg.kind == "event":
        return ""
    key = _key(msg)
    if ctx.state.active:
        if msg.kind == "text" and msg.text in GLOBAL_WORDS:
            return engine.handle(ctx, msg)
        if key is not None and MENU.get(key, ("", ""))[0] == ctx.state.flow:
            return engine.prompt(ctx)
        if key is not None:
            return engine.handle(ctx, Incoming("click", key=key, msg_key=msg.msg_key))
        return engine.handle(ctx, msg)
    if key is not None:
        return _open(engine, ctx, key)
    if msg.kind == "image":
        return engine.begin(ctx, "repair", {"photo": {"media_id": msg.media_id, "pic_url": msg.pic_url}},
                            say=TEXT["photo_first"])
    if msg.kind != "text":
        return TEXT["unsupported"]
    text = msg.text
    if text.lower() in GREETINGS:
        user = ctx.user()
        if user.person is not None:
            return TEXT["welcome_back"].format(name=user.person.name)
        return TEXT["greeting"]
    if text in GLOBAL_WORDS:
        return TEXT["help"] if GLOBAL_WORDS[text] == "help" else TEXT["idle_word"]
    return _free_text(engine, ctx)


def _free_text(engine: Engine, ctx: Ctx) -> str:
    """Understand a sentence typed outside any dialog: a repair starts pre-filled; others are routed."""
    p = ctx.understand(ctx.msg.text)
    if p is None or p.intent == "other":
        return TEXT["unknown"]
    if p.intent == "query":
        return _open(engine, ctx, "MY_TICKETS")
    if p.intent in ("complaint", "notice"):
        return TEXT[f"{p.intent}_soon"]
    data = form_from_parse(p, ctx.register)
    raw = ctx.msg.raw.strip()
    if 5 <= len(raw) <= 500:
        data["description"] = raw
    said = echo(data)
    say = REPAIR_TEXT["understood"].format(echo=said) if said else REPAIR_TEXT["start_from_text"]
    return engine.begin(ctx, "repair", data, say=say)


def _key(msg: Incoming) -> str | None:
    if msg.kind == "click":
        return msg.key or ""
    if msg.kind == "text":
        return WORDS.get(msg.text)
    return None


def _open(engine: Engine, ctx: Ctx, key: str) -> str:
    flow = MENU.get(key, ("", ""))[0]
    if flow == "help":
        return TEXT["help"]
    if flow in engine.dialogs:
        return engine.begin(ctx, flow)
    return TEXT["unknown_key"]


def _subscribe(ctx: Ctx) -> str:
    user = set_subscribed(ctx.session, ctx.openid, True)
    if user.person is not None:
        return TEXT["welcome_back"].format(name=user.person.name)
    return TEXT["welcome"]
