"""The `repairbot demo` and `repairbot chat` commands: the product's CLI loads them from here when the dev
tools are installed."""

from __future__ import annotations

import click

from core.config import Config


@click.command()
@click.option("--openid", default="demo-student", show_default=True)
@click.option("--url", default="http://127.0.0.1:5000/wechat", show_default=True)
def chat(openid: str, url: str) -> None:
    """Be a WeChat user in the terminal, talking to a running webhook."""
    from devtools.chat import WeChatUser, run_chat

    cfg = Config.from_env()
    user = WeChatUser(url, cfg.wechat_token, openid, aes_key=cfg.wechat_aes_key, appid=cfg.wechat_appid)
    inbox = _inbox_url(cfg)
    run_chat(user, inbox)


def _inbox_url(cfg: Config) -> str | None:
    """Find the fake WeChat API's push inbox, when pushes go to the loopback fake."""
    base = cfg.wechat_api_base_url
    if base.startswith(("http://127.", "http://localhost")):
        return base.removesuffix("/").removesuffix("/cgi-bin") + "/_inbox"
    return None


@click.command()
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--no-chat", is_flag=True, help="start everything, but do not open the chat")
def demo(port: int, no_chat: bool) -> None:
    """Run everything on the embedded defaults and open a chat."""
    from devtools.demo import run_demo

    run_demo(port, chat=not no_chat)


COMMANDS = (chat, demo)
