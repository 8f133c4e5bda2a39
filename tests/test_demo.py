"""`repairbot demo` as a newcomer runs it: the banner says how to reach the console and as whom, a busy port
is said at once with what to do, and the chat's help lists every menu key."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from core.config import Config
from devtools.chat import WeChatUser, run_chat

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_RE = re.compile(r"(http://127\.0\.0\.1:\d+/console/login)")
DISPATCHER_RE = re.compile(r"dispatcher: (\S+) / (\S+)")
SCENE_RE = re.compile(r"/scan (\S+)")
TOKEN_RE = re.compile(r'name="(?:[\w-]*-)?csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env() -> dict[str, str]:
    """A newcomer's shell: none of the test run's settings, the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPAIRBOT_", "WECHAT_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def demo(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", "demo", "--no-chat", "--port", str(port)],
                            cwd=tmp_path, env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def read_until(proc: subprocess.Popen[str], marker: str, seconds: float = 90) -> str:
    """What the demo printed up to the line with `marker` (or until it exited or the time ran out)."""
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                found.set()
                return
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    found.wait(seconds)
    return "".join(lines)


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = demo(tmp_path, port)
    try:
        yield read_until(proc, "/scan"), port
    finally:
        proc.send_signal(signal.SIGTERM)  # as `kill`: the demo stops its server and worker
        proc.wait(timeout=30)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)


def test_the_banner_gives_the_console_and_a_dispatcher_who_can_log_in(running_demo: tuple[str, int]) -> None:
    banner, port = running_demo
    url, staff = CONSOLE_RE.search(banner), DISPATCHER_RE.search(banner)
    assert url and staff, banner
    assert url.group(1) == f"http://127.0.0.1:{port}/console/login"
    browser = requests.Session()
    token = TOKEN_RE.search(browser.get(url.group(1), timeout=10).text)
    assert token
    page = browser.post(url.group(1), data={"name": staff.group(1), "password": staff.group(2),
                                            "csrf_token": token.group(1)}, timeout=10)
    assert f"欢迎，{staff.group(1)}" in page.text


def test_the_demo_s_statistics_show_a_year_of_history(running_demo: tuple[str, int]) -> None:
    banner, _ = running_demo
    url, staff = CONSOLE_RE.search(banner), DISPATCHER_RE.search(banner)
    assert url and staff, banner
    browser = requests.Session()
    token = TOKEN_RE.search(browser.get(url.group(1), timeout=10).text)
    assert token
    browser.post(url.group(1), data={"name": staff.group(1), "password": staff.group(2),
                                     "csrf_token": token.group(1)}, timeout=10)
    page = browser.get(url.group(1).replace("/login", "/stats"), timeout=30).text
    tickets = re.search(r'id="fig-tickets">(\d+) 单', page)
    assert tickets and int(tickets.group(1)) > 300 and page.count("<svg") >= 8


def test_a_sticker_a_location_and_a_voice_start_repairs_in_the_demo(running_demo: tuple[str, int]) -> None:
    banner, port = running_demo
    scene = SCENE_RE.search(banner)
    assert scene, banner
    student = WeChatUser(f"http://127.0.0.1:{port}/wechat", "demo-token", "o-demo-scan")
    for line in ("绑定", "20260001", "12345X"):
        student.text(line)
    assert "502" in student.event("SCAN", scene.group(1)).text
    student.text("取消")
    assert "附近" in student.location(24.3264, 109.4281).text  # the sample register is on the map
    student.text("取消")
    assert "听到" in student.voice("12栋502水龙头一直滴水").text


def test_a_busy_port_is_said_at_once_with_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = demo(tmp_path, port)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"port {port} is already in use" in out
    assert f"--port {port + 1}" in out


def test_the_chat_help_lists_every_key_of_the_menu() -> None:
    shown: list[str] = []
    typed = iter(["/help", "/quit"])
    run_chat(None, None, read=lambda _: next(typed), write=shown.append)  # type: ignore[arg-type]
    assert shown[0] == shown[1]  # shown at the start, and again on /help
    menu = yaml.safe_load(Config().menu_file.read_text(encoding="utf-8"))
    keys = [b["key"] for top in menu["buttons"] for b in top.get("sub_buttons", [])]
    assert len(keys) == 9
    for key in keys:
        assert key in shown[0]
