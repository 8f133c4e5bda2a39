"""The ledger (台账) and the statistics (统计): exports from the shell and the console, the figures as JSON
and on the page, each staff member seeing what is theirs — on a month of known history
(tests/support/office.py), whose every figure is worked out by hand below."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import Result
from flask import Flask

from core.services import Services
from tests.support.console import Console, text
from tests.support.constants import DORM, JIANPAN
from tests.support.consults import make_consult
from tests.support.office import MARCH, REPORTER_CARD, REPORTER_ID_DIGITS, REPORTER_PHONE, office_history

TICKET_HEADER = ["单号", "提交时间", "报修人", "联系电话", "维修类型", "故障类别", "具体物品", "校区", "楼栋", "楼层",
                 "房间", "问题描述", "当前状态", "受理时间", "受理人", "指派时间", "维修工", "完成时间", "评价星级",
                 "评价内容", "回访结果", "超时环节", "责任人", "紧急"]
MASKED = "138****0001"


@pytest.fixture
def history(services: Services) -> dict[str, str]:
    return office_history(services)


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_text(encoding="utf-8")
    assert raw.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.removeprefix("\ufeff"))))


def read_xlsx(path: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def export(cli: Callable[..., Result], tmp_path: Path, fmt: str, *args: str) -> Path:
    out = tmp_path / f"ledger.{fmt}"
    result = cli("ledger", "export", "--format", fmt, *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def near(hours: float) -> Any:
    return pytest.approx(hours, rel=0.02)


def by_no(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["单号"]: r for r in rows}


# -- the shell's export ----------------------------------------------------------------------------

def test_csv_export_has_the_columns_in_order_with_phones_masked(cli: Callable[..., Result], tmp_path: Path,
                                                                 history: dict[str, str]) -> None:
    path = export(cli, tmp_path, "csv", "--from", MARCH[0], "--to", MARCH[1])
    header = path.read_text(encoding="utf-8").removeprefix("\ufeff").splitlines()[0].split(",")
    assert header == TICKET_HEADER
    rows = by_no(read_csv(path))
    assert set(rows) == {history[k] for k in "ABCD"}, "April's ticket is outside the period"
    b = rows[history["B"]]
    assert b["报修人"] == "张三" and b["联系电话"] == MASKED
    assert (b["维修类型"], b["故障类别"], b["具体物品"], b["楼栋"], b["楼层"], b["房间"]) == (
        DORM, "给水", "水龙头", "学生公寓12栋", "5", "503")
    assert (b["提交时间"], b["受理时间"], b["指派时间"], b["完成时间"]) == (
        "2026-03-10 09:00", "2026-03-10 12:00", "2026-03-10 13:00", "2026-03-12 15:00")
    assert (b["受理人"], b["维修工"], b["当前状态"]) == ("王调度", "李师傅", "已销单")
    assert (b["评价星级"], b["评价内容"], b["回访结果"]) == ("2", "太慢了", "不满意")
    assert (b["超时环节"], b["责任人"]) == ("受理、完成", "王调度、李师傅")
    assert rows[history["D"]]["紧急"] == "是" and rows[history["A"]]["紧急"] == ""
    raw = path.read_text(encoding="utf-8")
    assert REPORTER_PHONE not in raw and REPORTER_ID_DIGITS not in raw and REPORTER_CARD not in raw


def test_xlsx_export_reads_back_and_an_admin_sees_whole_phones(cli: Callable[..., Result], tmp_path: Path,
                                                                history: dict[str, str]) -> None:
    header, rows = read_xlsx(export(cli, tmp_path, "xlsx", "--from", MARCH[0], "--to", MARCH[1], "--by", "管理员"))
    assert header == TICKET_HEADER
    assert by_no(rows)[history["A"]]["联系电话"] == REPORTER_PHONE
    _, masked = read_xlsx(export(cli, tmp_path, "xlsx", "--by", "王调度"))
    assert {r["联系电话"] for r in masked} == {MASKED}


def test_a_dispatcher_exports_only_their_categories(cli: Callable[..., Result], tmp_path: Path,
                                                    history: dict[str, str]) -> None:
    rows = read_csv(export(cli, tmp_path, "csv", "--by", "赵调度"))
    assert [r["单号"] for r in rows] == [history["D"]]
    rows = read_csv(export(cli, tmp_path, "csv", "--by", "赵调度", "--category", DORM))
    assert rows == [], "another category's filter shows nothing, not that category"
    rows = read_csv(export(cli, tmp_path, "csv", "--category", JIANPAN))
    assert [r["单号"] for r in rows] == [history["D"]]


def test_complaints_export_hides_an_anonymous_sender(cli: Callable[..., Result], tmp_path: Path,
                                                     services: Services, history: dict[str, str]) -> None:
    named = make_consult(services)
    hidden = make_consult(services, anonymous=True, openid="o-anon", card_no="20260003")
    header, rows = read_xlsx(export(cli, tmp_path, "xlsx", "--kind", "complaints", "--by", "管理员"))
    assert header[:5] == ["单号", "提交时间", "类型", "标题", "部门"]
    found = by_no(rows)
    assert found[named]["提交人"] == "李四" and found[named]["联系电话"] == "13800000002"
    assert found[hidden]["提交人"] == "匿名" and not found[hidden]["联系电话"]


def test_a_bad_day_is_refused_in_one_line(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("ledger", "export", "--format", "csv", "--from", "2026-02-30", "-o", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


# -- the figures -------------------------------------------------------------------------------------

def test_stats_json_has_the_keys_and_the_month_s_figures(cli: Callable[..., Result],
                                                         history: dict[str, str]) -> None:
    result = cli("stats", "--from", MARCH[0], "--to", MARCH[1], "--json")
    assert result.exit_code == 0, result.output
    f = json.loads(result.output)
    assert {"tickets", "by_category", "by_group", "by_campus", "by_status", "accept_p50_h", "complete_p50_h",
            "overdue_rate", "rating_avg", "by_worker", "hot_spots"} <= set(f)
    assert f["tickets"] == 4
    assert f["by_category"] == {DORM: 3, JIANPAN: 1}
    assert f["by_group"] == {"给水": 2, "照明": 1, "门窗": 1}
    assert f["by_campus"] == {"东环校区": 3, "箭盘校区": 1}
    assert f["by_status"] == {"closed": 3, "in_progress": 1}
    assert f["by_month"] == {"2026-03": 4}
    # Accepted after 0.5, 1, 1 and 3 hours; completed 5, 10 and 54 hours after filing.  Durations are kept
    # in log-scale buckets (models/rollup.py): percentile_cont's answer to within 2 %.
    assert (f["accept_p50_h"], f["accept_p90_h"]) == (near(1.0), near(2.4))
    assert (f["complete_p50_h"], f["complete_p90_h"]) == (near(10.0), near(45.2))
    assert f["overdue_rate"] == 0.25
    assert f["overdue_by_stage"]["accept"] == {"tickets": 1, "rate": 0.25}
    assert f["overdue_by_stage"]["assign"] == {"tickets": 0, "rate": 0.0}
    assert f["rating_avg"] == 3.67 and f["ratings"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert f["by_worker"] == [
        {"worker": "李师傅", "tickets": 2, "complete_p50_h": near(29.0), "rating_avg": 3.5, "reworks": 1},
        {"worker": "孙师傅", "tickets": 1, "complete_p50_h": near(4.0), "rating_avg": 4.0, "reworks": 0},
        {"worker": "钱师傅", "tickets": 1, "complete_p50_h": None, "rating_avg": None, "reworks": 0},
    ]
    assert f["hot_spots"] == [{"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "group": "给水",
                               "tickets": 2, "repeats": 1}]


def test_stats_of_a_dispatcher_and_of_a_category(cli: Callable[..., Result], history: dict[str, str]) -> None:
    mine = json.loads(cli("stats", "--from", MARCH[0], "--to", MARCH[1], "--by", "赵调度", "--json").output)
    assert mine["tickets"] == 1 and mine["by_category"] == {JIANPAN: 1} and mine["overdue_rate"] == 0.0
    dorm = json.loads(cli("stats", "--from", MARCH[0], "--to", "2026-04-30", "--category", DORM, "--json").output)
    assert dorm["tickets"] == 4 and dorm["by_month"] == {"2026-03": 3, "2026-04": 1}
    spot = dorm["hot_spots"][0]
    assert (spot["tickets"], spot["repeats"]) == (3, 2), "April's ticket came 26 days after B: a repeat too"


# -- the console -----------------------------------------------------------------------------------------

@pytest.fixture
def console(app: Flask, history: dict[str, str]) -> Callable[[str], Console]:
    return lambda name: Console.logged_in(app, name)


def test_ledger_page_lists_what_the_dispatcher_may_see(console: Callable[[str], Console],
                                                       history: dict[str, str]) -> None:
    page = text(console("赵调度").get("/console/ledger"))
    assert history["D"] in page and history["A"] not in page
    page = text(console("王调度").get("/console/ledger", query_string={"since": "2026-03-01", "until": "2026-03-31",
                                                                      "overdue": "1"}))
    assert history["B"] in page and history["A"] not in page and "受理、完成" in page and MASKED in page
    assert REPORTER_PHONE not in page


def test_ledger_pages_go_on_after_the_last_row(console: Callable[[str], Console], history: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("models.ledger.PAGE_SIZE", 2)
    admin = console("管理员")
    first = text(admin.get("/console/ledger"))
    assert history["E"] in first and history["D"] in first and history["C"] not in first
    after = first.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    second = text(admin.get(after))
    assert history["C"] in second and history["B"] in second and history["E"] not in second


def test_console_export_follows_the_filters_and_masks_for_a_dispatcher(console: Callable[[str], Console],
                                                                       history: dict[str, str]) -> None:
    resp = console("王调度").get("/console/ledger/export.csv", query_string={"since": "2026-03-01",
                                                                            "until": "2026-03-31"})
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).removeprefix("\ufeff"))))
    assert sorted(r["单号"] for r in rows) == sorted(history[k] for k in "ABC")
    assert {r["联系电话"] for r in rows} == {MASKED}
    resp = console("管理员").get("/console/ledger/export.xlsx", query_string={"category": JIANPAN})
    sheet = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [history["D"]]


def test_workers_have_no_ledger_and_no_statistics(console: Callable[[str], Console]) -> None:
    worker = console("李师傅")
    for url in ("/console/ledger", "/console/ledger/export.csv", "/console/stats"):
        assert worker.get(url).status_code == 403


def test_statistics_page_shows_charts_and_numbers(console: Callable[[str], Console]) -> None:
    page = text(console("管理员").get("/console/stats", query_string={"from": "2026-03-01", "to": "2026-03-31"}))
    assert page.count("<svg") >= 8 and "<script" not in page.split("<main>")[1].split("</main>")[0]
    assert "4 单" in page and "3.67" in page and "25.0%" in page and "学生公寓12栋" in page and "李师傅" in page
    mine = text(console("赵调度").get("/console/stats", query_string={"from": "2026-03-01", "to": "2026-03-31"}))
    assert 'id="fig-tickets">1 单' in mine and DORM not in mine.split("</form>")[1]


def test_statistics_page_takes_bad_days_calmly(console: Callable[[str], Console]) -> None:
    resp = console("管理员").get("/console/stats", query_string={"from": "2026-13-45", "to": "x"})
    assert resp.status_code == 200 and "统计" in text(resp)
