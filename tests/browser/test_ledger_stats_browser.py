"""The ledger and the statistics in a real browser over real HTTP, on the known month of
tests/support/office.py: an admin filters the ledger by category and downloads what is filtered; the
statistics page reads on a 390 px phone, charts and numbers side by side."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from core.services import Services
from tests.support.console import log_in_page
from tests.support.constants import JIANPAN
from tests.support.office import MARCH, office_history


@pytest.fixture
def history(services: Services) -> dict[str, str]:
    return office_history(services)


def test_the_ledger_filters_by_category_and_exports_what_it_shows(server: str, history: dict[str, str],
                                                                   new_page: Callable[..., Any],
                                                                   shots: Path) -> None:
    page = new_page()
    log_in_page(page, server, "管理员")
    page.get_by_role("link", name="台账").click()
    expect(page.get_by_role("heading", name="台账")).to_be_visible()
    expect(page.locator("table.ledger")).to_contain_text(history["A"])
    page.locator("#ledger-filters").get_by_label("维修类型").select_option(JIANPAN)
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.ledger tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(history["D"])
    link = f"/console/ledger/export.csv?{urlencode({'kind': 'tickets', 'category': JIANPAN})}"
    expect(page.locator("#export-csv")).to_have_attribute("href", link)
    page.screenshot(path=str(shots / "ledger.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body)))
    assert [r["单号"] for r in exported] == [history["D"]]


def test_the_statistics_read_on_a_phone(server: str, history: dict[str, str], new_page: Callable[..., Any],
                                        shots: Path) -> None:
    page = new_page(phone=True)
    log_in_page(page, server, "管理员")
    page.goto(f"{server}/console/stats?from={MARCH[0]}&to={MARCH[1]}")
    expect(page.locator("#fig-tickets")).to_have_text("4 单")
    expect(page.locator("#fig-overdue")).to_have_text("25.0%")
    chart = page.locator("#chart-category svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and 300 <= box["width"] <= 390
    expect(page.locator("#chart-category table.numbers")).to_contain_text("3 单")
    expect(page.locator("#hot-spots")).to_contain_text("学生公寓12栋 5楼")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing wider than the phone"
    page.screenshot(path=str(shots / "stats-phone.png"), full_page=True)
