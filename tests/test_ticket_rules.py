"""The ticket status rules in models.tickets: who may move a ticket where, and what each move records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models.db import Database
from models.errors import IllegalMove
from models.people import add_staff
from models.tickets import (
    REASON_REQUIRED,
    STATUS_ZH,
    TRANSITIONS,
    Ticket,
    TicketEvent,
    TicketPhoto,
    file_ticket,
    move,
    next_number,
)
from tests.support.tickets import add_ticket, ticket_fields

LEGAL = [(frm, to, role) for frm, targets in TRANSITIONS.items() for to, roles in targets.items()
         for role in sorted(roles)]
ILLEGAL = [(frm, to) for frm in STATUS_ZH for to in STATUS_ZH if to not in TRANSITIONS[frm]]


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[Database]:
    """The test database (SQLite, or CI's PostgreSQL), without the register and roster the dialogs need."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session whose work is rolled back at the end, leaving the database as it found it."""
    s = db.sessionmaker()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def ticket_in(session: Session) -> Callable[[str], Ticket]:
    """File a ticket and put it straight into a status (as earlier moves would have)."""

    def make(status: str) -> Ticket:
        return add_ticket(session, "o-rules", status=status)

    return make


def _events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id)))


def test_every_status_has_a_rule_and_a_chinese_name() -> None:
    """The table covers exactly the statuses people are shown."""
    assert set(TRANSITIONS) == set(STATUS_ZH)
    assert all(to in STATUS_ZH for targets in TRANSITIONS.values() for to in targets)


@pytest.mark.parametrize("frm, to, role", LEGAL)
def test_legal_move_changes_status_and_records_who_and_why(
        session: Session, ticket_in: Callable[[str], Ticket], frm: str, to: str, role: str) -> None:
    """A move the table allows succeeds and adds one timeline event with the actor and the note."""
    ticket = ticket_in(frm)
    worker = add_staff(session, "刘师傅", "worker", "worker-pass-1", [], "13900000009") if to == "assigned" else None
    before = len(_events(session, ticket))
    event = move(session, ticket, to, by=f"{role}:someone", role=role, note="  现场查看过  ", worker=worker)
    session.expire_all()
    stored = session.get(Ticket, ticket.id)
    assert stored is not None and stored.status == to
    events = _events(session, ticket)
    assert len(events) == before + 1
    assert (events[-1].id, events[-1].kind, events[-1].status, events[-1].by, events[-1].note) == \
        (event.id, "status", to, f"{role}:someone", "现场查看过")
    if to == "assigned":
        assert stored.worker is not None and stored.worker.name == "刘师傅"


@pytest.mark.parametrize("frm, to", ILLEGAL)
def test_illegal_move_is_refused_naming_the_allowed_moves(
        session: Session, ticket_in: Callable[[str], Ticket], frm: str, to: str) -> None:
    """A move the table does not allow raises IllegalMove, says where the ticket can go, and changes nothing."""
    ticket = ticket_in(frm)
    before = len(_events(session, ticket))
    with pytest.raises(IllegalMove) as err:
        move(session, ticket, to, by="staff:tester", note="理由")
    message = str(err.value)
    assert ticket.no in message and frm in message
    allowed = [s for s, roles in TRANSITIONS[frm].items() if "staff" in roles]
    for s in allowed:
        assert s in message
    if not allowed:
        assert "finished" in message
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == frm  # type: ignore[union-attr]
    assert len(_events(session, ticket)) == before


def test_unknown_status_is_refused_with_the_list(session: Session, ticket_in: Callable[[str], Ticket]) -> None:
    """A typo in a status names the real statuses."""
    ticket = ticket_in("submitted")
    with pytest.raises(IllegalMove, match=r"unknown status 'acepted'.*accepted"):
        move(session, ticket, "acepted", by="staff:tester")


@pytest.mark.parametrize("frm, to", [(f, t) for f, targets in TRANSITIONS.items() for t, roles in targets.items()
                                     if t in REASON_REQUIRED and "staff" in roles])
@pytest.mark.parametrize("note", [None, "", "   "])
def test_reason_required(session: Session, ticket_in: Callable[[str], Ticket], frm: str, to: str,
                         note: str | None) -> None:
    """on_hold and rejected need a reason; blank does not count."""
    assert {"on_hold", "rejected"} == REASON_REQUIRED
    ticket = ticket_in(frm)
    with pytest.raises(IllegalMove, match="needs a reason"):
        move(session, ticket, to, by="staff:tester", note=note)
    assert ticket.status == frm


def test_assign_needs_a_worker_who_is_a_worker(session: Session, ticket_in: Callable[[str], Ticket]) -> None:
    """Assigning without a worker, or to a dispatcher, is refused."""
    ticket = ticket_in("accepted")
    with pytest.raises(IllegalMove, match="needs a worker"):
        move(session, ticket, "assigned", by="staff:tester")
    dispatcher = add_staff(session, "调度员", "dispatcher", "dispatch-pass", [], None)
    with pytest.raises(IllegalMove, match="调度员 is not a worker"):
        move(session, ticket, "assigned", by="staff:tester", worker=dispatcher)
    assert ticket.status == "accepted" and ticket.worker_id is None


REPORTER_MAY = {("submitted", "cancelled"), ("completed", "accepted"), ("completed", "closed")}


@pytest.mark.parametrize("frm, to", [(f, t) for f in STATUS_ZH for t in STATUS_ZH])
def test_reporter_may_only_cancel_a_submitted_ticket_or_answer_a_completed_one(
        session: Session, ticket_in: Callable[[str], Ticket], frm: str, to: str) -> None:
    """The reporter withdraws before acceptance, and sends back (rework) or closes a completed repair."""
    ticket = ticket_in(frm)
    if (frm, to) in REPORTER_MAY:
        event = move(session, ticket, to, by="user:o-rules", role="reporter", note="还是漏水")
        assert (ticket.status, event.by) == (to, "user:o-rules")
        return
    with pytest.raises(IllegalMove) as err:
        move(session, ticket, to, by="user:o-rules", role="reporter", note="还是漏水")
    assert ticket.status == frm
    if TRANSITIONS[frm]:
        # The ticket is not finished; it is only the reporter who may not move it.
        assert "finished" not in str(err.value)


def test_staff_may_not_cancel_for_the_reporter(session: Session, ticket_in: Callable[[str], Ticket]) -> None:
    """Cancelling is the reporter's own act; staff reject instead."""
    ticket = ticket_in("submitted")
    with pytest.raises(IllegalMove, match=r"a staff may not move .* from submitted to cancelled"):
        move(session, ticket, "cancelled", by="staff:tester")


def test_a_stale_move_loses_to_the_one_that_happened(session: Session, ticket_in: Callable[[str], Ticket]) -> None:
    """Two people acting on the same ticket: the second, reading an old status, is refused."""
    ticket = ticket_in("submitted")
    # Someone else accepts it meanwhile: the database changes, the object this session read does not.
    session.execute(update(Ticket).where(Ticket.id == ticket.id).values(status="accepted"),
                    execution_options={"synchronize_session": False})
    # The object still says "submitted": the reporter's cancel must not overwrite the acceptance.
    with pytest.raises(IllegalMove, match="changed by someone else"):
        move(session, ticket, "cancelled", by="user:o-rules", role="reporter")
    session.expire_all()
    assert session.get(Ticket, ticket.id).status == "accepted"  # type: ignore[union-attr]


def test_ticket_numbers_are_sequential_per_day(session: Session) -> None:
    """Numbers count up within a day and start again at 001 the next day."""
    day1 = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    day2 = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    first = [next_number(session, day1) for _ in range(3)]
    assert first == ["R260309001", "R260309002", "R260309003"]
    assert next_number(session, day2) == "R260310001"
    assert next_number(session, day1) == "R260309004"


def test_filed_tickets_get_unique_numbers(session: Session, ticket_in: Callable[[str], Ticket]) -> None:
    """Every filed ticket has its own number, one after the other."""
    numbers = [ticket_in("submitted").no for _ in range(12)]
    assert len(set(numbers)) == 12
    assert [int(n[-3:]) for n in numbers] == list(range(int(numbers[0][-3:]), int(numbers[0][-3:]) + 12))
    assert {n[:7] for n in numbers} == {numbers[0][:7]}


def test_ticket_numbers_count_days_on_china_time(session: Session) -> None:
    """A ticket filed at 01:30 in Beijing (17:30 UTC the day before) carries Beijing's date."""
    assert next_number(session, datetime(2026, 3, 9, 17, 30, tzinfo=UTC)) == "R260310001"
    assert next_number(session, datetime(2026, 3, 9, 15, 59, tzinfo=UTC)) == "R260309001"


def test_filing_writes_the_ticket_its_first_event_and_its_photos(session: Session) -> None:
    """A filed ticket is submitted, says who filed it, and waits for its photos to be fetched."""
    filed = file_ticket(session, ticket_fields("o-file", media_ids=(("MEDIA-1", "http://pic/1"), ("MEDIA-2", None))))
    ticket = session.get_one(Ticket, filed.id)
    assert (filed.no, filed.category) == (ticket.no, "东环校区宿舍维修")
    assert ticket.status == "submitted" and ticket.created_at is not None
    assert [(e.kind, e.status, e.by) for e in _events(session, ticket)] == [("status", "submitted", "user:o-file")]
    photos = list(session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)
                                  .order_by(TicketPhoto.id)))
    assert [p.id for p in photos] == list(filed.photo_ids)
    assert [(p.media_id, p.pic_url, p.status, p.attempts) for p in photos] == [
        ("MEDIA-1", "http://pic/1", "pending", 0), ("MEDIA-2", None, "pending", 0)]


def test_a_repeated_confirmation_files_once(session: Session) -> None:
    """The same WeChat message filing twice (a late retry) gives back the first ticket, not a second one."""
    new = ticket_fields("o-again", item=None, media_ids=(("MEDIA-A", None),), source_key="msg:7001")
    first = file_ticket(session, new)
    again = file_ticket(session, new)
    assert (again.id, again.no, again.repeated, again.photo_ids) == (first.id, first.no, True, ())
    assert session.scalar(select(func.count(Ticket.id)).where(Ticket.openid == "o-again")) == 1
    assert session.scalar(select(func.count(TicketPhoto.id)).where(TicketPhoto.ticket_id == first.id)) == 1
