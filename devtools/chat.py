"""A WeChat user in a terminal: messages signed exactly as WeChat signs them, sent over HTTP."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.wechat import new_nonce, signature
from dialogs.registry import ENTRIES

_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


@dataclass
class Answer:
    """The webhook's answer as a WeChat client would see it."""

    status: int
    body: str
    text: str = ""
    articles: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Request:
    params: dict[str, str]
    body: bytes


class WeChatUser:
    """Send messages to a webhook as WeChat's servers would, for one openid."""

    def __init__(self, url: str, token: str, openid: str, *, aes_key: str = "", appid: str = "",
                 account: str = "gh_repairbot", http: requests.Session | None = None) -> None:
        self.url = url
        self.token = token
        self.openid = openid
        self.aes_key = aes_key
        self.appid = appid
        self.account = account
        self.http = http or requests.Session()
        self.last: Request | None = None
        self.last_reply = ""
        self.clock = int(time.time())

    # -- messages -----------------------------------------------------------------

    def text(self, content: str) -> Answer:
        return self.send("text", f"<Content>{_cdata(content)}</Content>", msg_id=next(_ids))

    def image(self, media_id: str | None = None, pic_url: str = "") -> Answer:
        media_id = media_id or f"media-{uuid.uuid4().hex[:16]}"
        pic_url = pic_url or f"http://mmbiz.qpic.cn/{media_id}"
        return self.send("image", f"<PicUrl>{_cdata(pic_url)}</PicUrl><MediaId>{_cdata(media_id)}</MediaId>",
                         msg_id=next(_ids))

    def voice(self, recognition: str | None = None) -> Answer:
        """A voice message; with `recognition`, as WeChat sends it when the account's 语音识别 is on."""
        heard = "" if recognition is None else f"<Recognition>{_cdata(recognition)}</Recognition>"
        return self.send("voice", f"<MediaId><![CDATA[v1]]></MediaId><Format><![CDATA[amr]]></Format>{heard}",
                         msg_id=next(_ids))

    def location(self, lat: float, lng: float, label: str = "") -> Answer:
        """A shared location (位置), as WeChat sends it: Location_X is the latitude, Location_Y the longitude."""
        return self.send("location", f"<Location_X>{lat}</Location_X><Location_Y>{lng}</Location_Y>"
                         f"<Scale>16</Scale><Label>{_cdata(label)}</Label>", msg_id=next(_ids))

    def click(self, key: str) -> Answer:
        return self.event("CLICK", key)

    def event(self, name: str, key: str = "") -> Answer:
        return self.send("event", f"<Event>{_cdata(name)}</Event><EventKey>{_cdata(key)}</EventKey>")

    def send(self, msg_type: str, fields: str, msg_id: int | None = None) -> Answer:
        # WeChat's CreateTime has one-second resolution; keep events of a fast test distinct.
        self.clock = max(self.clock + 1, int(time.time()))
        xml = (f"<xml><ToUserName>{_cdata(self.account)}</ToUserName><FromUserName>{_cdata(self.openid)}"
               f"</FromUserName><CreateTime>{self.clock}</CreateTime><MsgType>{_cdata(msg_type)}</MsgType>"
               f"{fields}" + (f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else "") + "</xml>")
        return self.post_xml(xml)

    # -- transport ------------------------------------------------------------------

    def post_xml(self, xml: str) -> Answer:
        self.last = self.sign(xml)
        return self.deliver(self.last)

    def retry(self) -> Answer:
        """Send the last request again, byte for byte, as WeChat does when no answer came in time."""
        assert self.last is not None
        return self.deliver(self.last)

    def sign(self, xml: str) -> Request:
        ts, nonce = str(int(time.time())), new_nonce()
        params = {"timestamp": ts, "nonce": nonce, "signature": signature(self.token, ts, nonce),
                  "openid": self.openid}
        if not self.aes_key:
            return Request(params, xml.encode("utf-8"))
        enc = xmltodict.parse(WeChatCrypto(self.token, self.aes_key, self.appid).encrypt_message(xml, nonce, ts))
        encrypt = enc["xml"]["Encrypt"]
        params.update(encrypt_type="aes", msg_signature=signature(self.token, ts, nonce, encrypt))
        body = f"<xml><ToUserName>{_cdata(self.account)}</ToUserName><Encrypt>{_cdata(encrypt)}</Encrypt></xml>"
        return Request(params, body.encode("utf-8"))

    def deliver(self, req: Request) -> Answer:
        resp = self.http.post(self.url, params=req.params, data=req.body,
                              headers={"Content-Type": "text/xml"}, timeout=30)
        answer = self.read(resp.status_code, resp.text)
        self.last_reply = answer.text
        return answer

    def read(self, status: int, body: str) -> Answer:
        answer = Answer(status, body)
        if status != 200 or not body.startswith("<xml"):
            return answer
        doc = xmltodict.parse(body)["xml"]
        if "Encrypt" in doc:
            crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
            doc = xmltodict.parse(crypto._decrypt_message(doc, doc["MsgSignature"], doc["TimeStamp"],
                                                          doc["Nonce"], _prp()))["xml"]
        answer.text = doc.get("Content") or ""
        if doc.get("MsgType") == "news":
            items = doc["Articles"]["item"]
            answer.articles = items if isinstance(items, list) else [items]
        return answer


def _prp() -> Any:
    from wechatpy.crypto import PrpCrypto

    return PrpCrypto


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# -- the terminal ----------------------------------------------------------------------

def _menu_keys() -> str:
    """Every key a menu click can send, with its title: the registry is the one list of them."""
    return "\n".join(f"        {e.key:<16}{e.title}" for e in ENTRIES)


HELP = f"""命令：/photo 发一张照片  /click KEY 点菜单，KEY 是：
{_menu_keys()}
      /subscribe 关注  /unsubscribe 取消关注  /voice 文字 发语音（微信听成的文字）  /help 本说明  /quit 退出
      /scan 场景 扫一张报修码（场景见 repairbot qr make 写的 codes.csv）  /location 纬度 经度 发位置
其余输入都作为文字消息发送。"""


def watch_pushes(inbox_url: str, openid: str, show: Callable[[str], None], stop: threading.Event) -> None:
    """Poll the fake WeChat API's record of what was pushed to this user, and show it."""
    seen = 0
    while not stop.wait(1.0):
        try:
            items = requests.get(f"{inbox_url}/{openid}", params={"after": seen}, timeout=5).json()
        except (requests.RequestException, ValueError):
            continue
        for item in items:
            seen = max(seen, int(item["seq"]))
            show(format_push(item))


def format_push(item: dict[str, Any]) -> str:
    if item.get("kind") == "template":
        data = item.get("data", {})
        values = " · ".join(str(v.get("value", "")) for v in data.values() if isinstance(v, dict))
        link = f"\n        详情：{item['url']}" if item.get("url") else ""
        return f"\n[推送] {values}{link}\n> "
    return f"\n[客服消息] {item.get('content', '')}\n> "


def run_chat(user: WeChatUser, inbox_url: str | None, read: Callable[[str], str] = input,
             write: Callable[[str], None] = print) -> None:
    """Talk to the webhook until /quit or end of input."""
    stop = threading.Event()
    if inbox_url:
        threading.Thread(target=watch_pushes, args=(inbox_url, user.openid, lambda s: write(s), stop),
                         daemon=True).start()
    write(HELP)
    try:
        while True:
            try:
                line = read("> ")
            except EOFError:
                break
            if line.strip() == "/help":
                write(HELP)
                continue
            answer = _dispatch(user, line.strip())
            if answer is None:
                break
            if answer.status != 200:
                write(f"[HTTP {answer.status}] {answer.body[:200]}")
            elif answer.articles:
                for a in answer.articles:
                    write(f"📰 {a.get('Title')}  {a.get('Url')}")
            elif answer.text:
                write(answer.text)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


def _dispatch(user: WeChatUser, line: str) -> Answer | None:
    if line in ("/quit", "/exit"):
        return None
    if line.startswith("/photo"):
        return user.image()
    if line.startswith("/click"):
        return user.click(line.removeprefix("/click").strip() or "HELP")
    if line == "/subscribe":
        return user.event("subscribe")
    if line == "/unsubscribe":
        return user.event("unsubscribe")
    if line.startswith("/location"):
        lat, _, lng = line.removeprefix("/location").strip().partition(" ")
        try:
            return user.location(float(lat), float(lng))
        except ValueError:
            return Answer(200, "", "用法：/location 纬度 经度，例如 /location 24.3264 109.4281")
    if line.startswith("/scan"):
        return user.event("SCAN", line.removeprefix("/scan").strip())
    if line.startswith("/voice"):
        return user.voice(line.removeprefix("/voice").strip() or None)
    return user.text(line)
