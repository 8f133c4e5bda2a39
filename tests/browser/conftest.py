"""Playwright on Debian's Chromium: one browser per module, a fresh context (cookies, viewport) per test.

Playwright's own browser download cannot work here, so the system's /usr/bin/chromium is driven; the
tests are skipped, saying why, when it is missing.  Screenshots go to a temporary folder, or to
docs/screenshots/ when REPAIRBOT_SCREENSHOTS=1 (to refresh the ones in the repository).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("REPAIRBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package to run the browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a new context (its own cookies): new_page(phone=True) for a phone-sized one."""
    contexts: list[Any] = []

    def make(phone: bool = False) -> Any:
        ctx = browser.new_context(viewport=PHONE if phone else DESKTOP, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ with REPAIRBOT_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("REPAIRBOT_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path
