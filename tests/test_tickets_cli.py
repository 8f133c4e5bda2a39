"""The `repairbot tickets` and `repairbot staff add` commands, as an operator runs them from the shell."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select

from core.services import Services
from models.people import Staff
from models.pushes import Push
from models.tickets import STATUS_ZH, get_ticket
from tests.support.constants import DORM
from tests.support.jobs import drop_queued, queued_jobs
from tests.support.people import make_staff
from tests.support.tickets import REPORTER, make_ticket

DESIGN_FIELDS = {"no", "status", "category", "group", "item", "campus", "building", "floor", "room",
                 "description", "phone", "photos", "openid", "created_at", "events"}
EVENT_FIELDS = {"status", "at", "by", "note"}


def snapshot(services: Services, no: str) -> tuple[str, int, int | None, int]:
    """What a move could change: status, number of events, worker, pushes owed."""
    with services.db.session() as s:
        t = get_ticket(s, no)
        pushes = s.scalar(select(func.count(Push.id)).where(Push.ticket_id == t.id))
        return t.status, len(t.events), t.worker_id, int(pushes or 0)


@pytest.fixture
def staff(services: Services) -> None:
    """A worker and a dispatcher, as the office would have created them."""
    make_staff(services, "刘师傅", "worker", categories=[DORM], phone="13900000009")
    make_staff(services, "调度员", "dispatcher")


# -- list --------------------------------------------------------------------------------------------

def test_list_empty(cli: Callable[..., Result]) -> None:
    """With no tickets the list says so, in text, and is an empty array in JSON."""
    result = cli("tickets", "list")
    assert result.exit_code == 0 and "no tickets" in result.output
    result = cli("tickets", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


def test_list_newest_first_text_and_json(cli: Callable[..., Result], services: Services) -> None:
    """Tickets come newest first; the JSON carries every field the design names."""
    old = make_ticket(services, building="学生公寓3栋", age=timedelta(hours=5))
    mid = make_ticket(services, building="学生公寓7栋", age=timedelta(hours=2))
    new = make_ticket(services, building="学生公寓12栋")
    result = cli("tickets", "list")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == [new, mid, old]
    assert "submitted" in lines[0] and "学生公寓12栋" in lines[0] and "给水/水龙头" in lines[0]
    rows = json.loads(cli("tickets", "list", "--json").stdout)
    assert [r["no"] for r in rows] == [new, mid, old]
    for row in rows:
        assert set(row) >= DESIGN_FIELDS
        assert row["status"] == "submitted" and row["openid"] == REPORTER and row["photos"] == []
        assert [set(e) >= EVENT_FIELDS for e in row["events"]] == [True]
    assert (rows[0]["campus"], rows[0]["building"], rows[0]["floor"], rows[0]["room"]) == \
        ("东环校区", "学生公寓12栋", "5", "502")
    assert (rows[0]["category"], rows[0]["group"], rows[0]["item"]) == ("东环校区宿舍维修", "给水", "水龙头")
    assert rows[0]["description"] == "水龙头关不紧，一直在滴水" and rows[0]["phone"] == "13800000001"
    assert rows[0]["events"][0]["status"] == "submitted" and rows[0]["events"][0]["by"] == f"user:{REPORTER}"


def test_list_filters(cli: Callable[..., Result], services: Services) -> None:
    """--status and --openid narrow the list, alone and together."""
    a1 = make_ticket(services, "o-a", building="学生公寓1栋")
    a2 = make_ticket(services, "o-a", building="学生公寓2栋")
    b1 = make_ticket(services, "o-b", building="学生公寓3栋")
    assert cli("tickets", "move", a1, "accepted").exit_code == 0

    def nos(*args: str) -> list[str]:
        result = cli("tickets", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [r["no"] for r in json.loads(result.stdout)]

    assert nos("--status", "accepted") == [a1]
    assert nos("--status", "submitted") == [b1, a2]
    assert nos("--openid", "o-b") == [b1]
    assert nos("--openid", "o-a", "--status", "submitted") == [a2]
    assert nos("--openid", "o-nobody") == []


def test_list_refuses_an_unknown_status(cli: Callable[..., Result], services: Services) -> None:
    """A mistyped status is an error naming the real ones, not an empty list that looks like good news."""
    make_ticket(services)
    result = cli("tickets", "list", "--status", "complete")
    assert result.exit_code != 0
    assert "completed" in result.output and "no tickets" not in result.output


# -- show -----------------------------------------------------------------------------------------------

def test_show_text_and_json(cli: Callable[..., Result], services: Services, staff: None) -> None:
    """A ticket with its whole timeline: who did what, with notes, in order."""
    no = make_ticket(services)
    assert cli("tickets", "move", no, "accepted", "--by", "调度员").exit_code == 0
    assert cli("tickets", "move", no, "assigned", "--worker", "刘师傅", "--by", "调度员").exit_code == 0
    assert cli("tickets", "move", no, "on_hold", "--note", "等配件到货", "--by", "刘师傅").exit_code == 0
    result = cli("tickets", "show", no.lower())  # operators type numbers in any case
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"{no}  on_hold (暂时无法维修)")
    assert "东环校区 学生公寓12栋 5楼 502" in out and "水龙头关不紧，一直在滴水" in out and "13800000001" in out
    timeline = [line for line in out.splitlines() if line.startswith("  ")]
    assert [line.split()[2] for line in timeline] == ["submitted", "accepted", "assigned", "on_hold"]
    assert "by staff:调度员" in timeline[1] and "by staff:刘师傅" in timeline[3] and "等配件到货" in timeline[3]
    data = json.loads(cli("tickets", "show", no, "--json").stdout)
    assert set(data) >= DESIGN_FIELDS
    assert data["no"] == no and data["status"] == "on_hold"
    assert [(e["status"], e["by"], e["note"]) for e in data["events"]] == [
        ("submitted", f"user:{REPORTER}", None), ("accepted", "staff:调度员", None),
        ("assigned", "staff:调度员", None), ("on_hold", "staff:刘师傅", "等配件到货")]
    assert all(set(e) >= EVENT_FIELDS for e in data["events"])


def test_show_unknown_ticket(cli: Callable[..., Result]) -> None:
    """An unknown number is a one-line error and a non-zero exit."""
    result = cli("tickets", "show", "R000000999")
    assert result.exit_code != 0
    assert result.stderr.strip().count("\n") == 0 and "R000000999" in result.stderr


# -- move ------------------------------------------------------------------------------------------------

def test_move_reports_the_new_status_and_owes_a_push(cli: Callable[..., Result], services: Services,
                                                     staff: None) -> None:
    """A legal move says where the ticket is now, records who did it and queues the reporter's push."""
    no = make_ticket(services)
    result = cli("tickets", "move", no, "accepted", "--by", "调度员")
    assert result.exit_code == 0
    assert result.output.strip() == f"{no} is now accepted (维修单受理)"
    status, events, _, pushes = snapshot(services, no)
    assert (status, events, pushes) == ("accepted", 2, 1)
    assert queued_jobs(services) == 1


ILLEGAL: list[tuple[str, list[list[str]], list[str], str]] = [
    ("skips steps", [], ["completed"], "can move to: accepted, rejected"),
    ("finished ticket", [["rejected", "--note", "重复报修"]], ["accepted"], "finished"),
    ("reject without a reason", [], ["rejected"], "needs a reason"),
    ("hold without a reason", [["accepted"]], ["on_hold"], "needs a reason"),
    ("hold with a blank reason", [["accepted"]], ["on_hold", "--note", "  "], "needs a reason"),
    ("assign without a worker", [["accepted"]], ["assigned"], "needs a worker"),
    ("assign to a dispatcher", [["accepted"]], ["assigned", "--worker", "调度员"], "is not a worker"),
    ("assign to nobody known", [["accepted"]], ["assigned", "--worker", "王师傅"], "王师傅"),
    ("unknown status", [], ["done"], "unknown status"),
    ("cancel for the reporter", [], ["cancelled"], "may not move"),
]


@pytest.mark.parametrize("why, before, move, message", ILLEGAL, ids=[c[0] for c in ILLEGAL])
def test_illegal_move_changes_nothing(cli: Callable[..., Result], services: Services, staff: None,
                                      why: str, before: list[list[str]], move: list[str], message: str) -> None:
    """An illegal move exits non-zero with one clear line, and the ticket, its timeline and pushes stay as they were."""
    no = make_ticket(services)
    for step in before:
        assert cli("tickets", "move", no, *step).exit_code == 0
    drop_queued(services)
    was = snapshot(services, no)
    result = cli("tickets", "move", no, *move)
    assert result.exit_code != 0
    error = result.stderr.strip()
    assert error.count("\n") == 0 and error.startswith("Error: ") and message in error, error
    assert "Traceback" not in result.output
    assert snapshot(services, no) == was
    assert queued_jobs(services) == 0


def test_move_by_someone_unknown_changes_nothing(cli: Callable[..., Result], services: Services,
                                                 staff: None) -> None:
    """--by names who acted in the ticket's history: a name that is no staff account is refused."""
    no = make_ticket(services)
    was = snapshot(services, no)
    result = cli("tickets", "move", no, "accepted", "--by", "调度原")
    assert result.exit_code != 0 and "调度原" in result.stderr
    assert snapshot(services, no) == was and queued_jobs(services) == 0


def test_a_cut_list_says_so(cli: Callable[..., Result], services: Services) -> None:
    """--limit shows the newest; the rest are not silently dropped: stderr says how many there are."""
    nos = [make_ticket(services, building=f"学生公寓{i}栋", age=timedelta(minutes=10 - i)) for i in range(1, 4)]
    result = cli("tickets", "list", "--limit", "2", "--json")
    assert result.exit_code == 0
    assert [r["no"] for r in json.loads(result.stdout)] == [nos[2], nos[1]]
    assert "showing the newest 2 of 3 tickets" in result.stderr
    whole = cli("tickets", "list", "--limit", "3")
    assert whole.exit_code == 0 and whole.stderr == ""


def test_move_unknown_ticket(cli: Callable[..., Result]) -> None:
    """Moving a number that does not exist is an error, not a crash."""
    result = cli("tickets", "move", "R000000999", "accepted")
    assert result.exit_code != 0 and "R000000999" in result.stderr


# -- staff ------------------------------------------------------------------------------------------------

def staff_row(services: Services, name: str) -> dict[str, Any] | None:
    with services.db.session() as s:
        st = s.scalars(select(Staff).where(Staff.name == name)).first()
        if st is None:
            return None
        return {"role": st.role, "categories": st.categories, "phone": st.phone,
                "password_ok": st.check_password("s3cret-pass")}


def test_staff_add_with_password_stdin(cli: Callable[..., Result], services: Services) -> None:
    """An account is created from the shell with the password piped in, and can then be assigned."""
    result = cli("staff", "add", "刘师傅", "--role", "worker", "--category", "东环校区宿舍维修",
                 "--phone", "13900000009", "--password-stdin", stdin="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "刘师傅" in result.output and "s3cret-pass" not in result.output
    assert staff_row(services, "刘师傅") == {"role": "worker", "categories": ["东环校区宿舍维修"],
                                           "phone": "13900000009", "password_ok": True}
    no = make_ticket(services)
    cli("tickets", "move", no, "accepted")
    assert cli("tickets", "move", no, "assigned", "--worker", "刘师傅").exit_code == 0


def test_staff_add_refuses_an_unknown_category(cli: Callable[..., Result], services: Services) -> None:
    """A category not in the register is refused by name and no account is made."""
    result = cli("staff", "add", "赵师傅", "--role", "worker", "--category", "东环校区宿舍维修",
                 "--category", "火星基地维修", "--password-stdin", stdin="s3cret-pass\n")
    assert result.exit_code != 0
    assert "unknown category" in result.stderr and "火星基地维修" in result.stderr
    assert "东环校区宿舍维修" not in result.stderr.split("category")[1]
    assert staff_row(services, "赵师傅") is None


def test_staff_add_refuses_a_short_password(cli: Callable[..., Result], services: Services) -> None:
    """A console password needs eight characters."""
    result = cli("staff", "add", "钱师傅", "--role", "worker", "--password-stdin", stdin="short\n")
    assert result.exit_code != 0 and "8 characters" in result.stderr
    assert staff_row(services, "钱师傅") is None


def test_status_names_in_show_are_the_designs(cli: Callable[..., Result], services: Services) -> None:
    """Every status shows with its Chinese name as people know it."""
    no = make_ticket(services)
    cli("tickets", "move", no, "rejected", "--note", "不属于报修范围")
    assert f"rejected ({STATUS_ZH['rejected']})" in cli("tickets", "show", no).output
