"""The ledger (台账): every ticket and complaint as one flat row, for the console's page and the exports.

One statement per kind builds the rows, the same for a page of fifty and an export of a hundred thousand:
the page reads the newest first by keyset (created_at, id) — an index walk whatever the table's size — and
the export streams the same rows.  Overdue stages and the latest return visit come from correlated
subqueries, one index look-up per row shown, never a pass over their whole tables.

What a viewer may see is decided by the caller (``LedgerQuery.categories``, ``departments``); a phone is
masked unless the caller says the viewer may read it.  No ID-card digits are in any row: the ledger never
reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, or_, select, true, tuple_
from sqlalchemy.engine import Connection, Row

from models.backoffice import STAGE_ZH, STAGES, VISIT_ZH, Overdue, ReturnVisit
from models.clock import LOCAL, local
from models.consult import CONSULT_STATUS_ZH, Consult, ConsultEvent
from models.people import Person, Staff
from models.tickets import OPEN_STATUSES, STATUS_ZH, URGENT, Ticket

if TYPE_CHECKING:
    Rows = Select[*tuple[Any, ...]]  # a statement of many columns

KINDS = ("tickets", "complaints")
PAGE_SIZE = 50
# The ledger counts exactly up to here, then says "more than" (a count of a million rows costs a scan).
COUNT_UP_TO = 10_000

TICKET_COLUMNS = ("单号", "提交时间", "报修人", "联系电话", "维修类型", "故障类别", "具体物品", "校区", "楼栋", "楼层",
                  "房间", "问题描述", "当前状态", "受理时间", "受理人", "指派时间", "维修工", "完成时间", "评价星级",
                  "评价内容", "回访结果", "超时环节", "责任人", "紧急")
COMPLAINT_COLUMNS = ("单号", "提交时间", "类型", "标题", "部门", "内容", "建议", "提交人", "联系电话", "当前状态",
                     "回复时间", "办结时间")
ANONYMOUS = "匿名"
STAFF_PREFIX = "staff:"


@dataclass(frozen=True)
class Viewer:
    """What a staff member may see of the ledger and the figures: categories and complaint departments
    (None: all) and whether phone numbers are shown whole.  The default is the shell's: all, masked."""

    categories: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None
    full_phone: bool = False


def viewer_of(staff: Staff) -> Viewer:
    if staff.role == "admin":
        return Viewer(full_phone=True)
    return Viewer(tuple(staff.categories or ()), tuple(staff.departments or ()))


@dataclass(frozen=True)
class LedgerQuery:
    """What to list.  ``categories``/``departments`` are the viewer's scope (None: all); the rest filters."""

    kind: str = "tickets"
    since: datetime | None = None  # filed at or after (UTC)
    until: datetime | None = None  # filed before (UTC)
    categories: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None
    category: str = ""
    campus: str = ""
    building: str = ""
    status: str = ""  # a status, "open", or "" for any
    worker_id: int | None = None
    q: str = ""
    overdue: bool = False  # only tickets with an overdue stage
    visited: bool = False  # only tickets with a return visit


def start_of(day: date) -> datetime:
    """The first moment of a day on the school's clock, in UTC."""
    return datetime.combine(day, time.min, LOCAL).astimezone(UTC)


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """From the start of `since` to the end of `until` (both days included), for a filter by filing time."""
    return (start_of(since) if since else None, start_of(until + timedelta(days=1)) if until else None)


# -- tickets -------------------------------------------------------------------------------------

def _overdue_list() -> Any:
    """Each overdue record of the row's ticket as stage:holder, joined in one string."""
    return (select(func.aggregate_strings(Overdue.stage + literal(":") + Overdue.holder, ";"))
            .where(Overdue.ticket_id == Ticket.id).scalar_subquery())


def _last_visit() -> Any:
    return (select(ReturnVisit.outcome).where(ReturnVisit.ticket_id == Ticket.id)
            .order_by(ReturnVisit.at.desc(), ReturnVisit.id.desc()).limit(1).scalar_subquery())


def ticket_select() -> Rows:
    """The flat row of a ticket: its own columns, the reporter's and worker's names, visits and overdue stages."""
    t = Ticket
    return (select(t.id, t.no, t.created_at, Person.name.label("reporter"), t.phone, t.category, t.group, t.item,
                   t.campus, t.building, t.floor, t.room, t.description, t.status, t.accepted_at, t.accepted_by,
                   t.assigned_at, Staff.name.label("worker"), t.completed_at, t.rating, t.rating_comment,
                   _last_visit().label("visit"), _overdue_list().label("overdue"), t.priority)
            .outerjoin(Person, Person.id == t.person_id).outerjoin(Staff, Staff.id == t.worker_id))


def ticket_conditions(query: LedgerQuery) -> list[ColumnElement[bool]]:
    t = Ticket
    out = [_scope(t.category, query.categories), *_filed_between(t.created_at, query)]
    if query.status == "open":
        out.append(t.status.in_(OPEN_STATUSES))
    elif query.status in STATUS_ZH:
        out.append(t.status == query.status)
    out += [col == value for col, value in ((t.category, query.category), (t.campus, query.campus)) if value]
    if query.building:
        out.append(t.building.contains(query.building, autoescape=True))
    if query.worker_id is not None:
        out.append(t.worker_id == query.worker_id)
    if query.q:
        out.append(or_(*(col.icontains(query.q, autoescape=True) for col in (
            t.no, t.description, t.building, t.room, t.phone, t.group, t.item))))
    if query.overdue:
        out.append(exists().where(Overdue.ticket_id == t.id))
    if query.visited:
        out.append(exists().where(ReturnVisit.ticket_id == t.id))
    return out


def _scope(column: Any, allowed: tuple[str, ...] | None) -> ColumnElement[bool]:
    if allowed is None:
        return true()
    return column.in_(allowed) if allowed else false()


def _filed_between(column: Any, query: LedgerQuery) -> list[ColumnElement[bool]]:
    out = []
    if query.since is not None:
        out.append(column >= query.since)
    if query.until is not None:
        out.append(column < query.until)
    return out


# -- complaints ----------------------------------------------------------------------------------

def _event_time(kind: str) -> Any:
    return (select(func.min(ConsultEvent.at)).where(ConsultEvent.consult_id == Consult.id, ConsultEvent.kind == kind)
            .scalar_subquery())


def complaint_select() -> Rows:
    c = Consult
    return (select(c.id, c.no, c.created_at, c.kind, c.title, c.department, c.description, c.suggestion,
                   c.anonymous, Person.name.label("sender"), Person.phone, c.status,
                   _event_time("reply").label("replied_at"), _event_time("closed").label("closed_at"))
            .outerjoin(Person, Person.id == c.person_id))


def complaint_conditions(query: LedgerQuery) -> list[ColumnElement[bool]]:
    c = Consult
    out = [_scope(c.department, query.departments), *_filed_between(c.created_at, query)]
    if query.status in CONSULT_STATUS_ZH:
        out.append(c.status == query.status)
    if query.q:
        out.append(or_(*(col.icontains(query.q, autoescape=True) for col in (c.no, c.title, c.description))))
    return out


# -- reading ------------------------------------------------------------------------------------

def _table(query: LedgerQuery) -> Any:
    return Consult if query.kind == "complaints" else Ticket


def statement(query: LedgerQuery) -> Rows:
    """Every row the query selects, newest first."""
    table = _table(query)
    base, conds = ((complaint_select(), complaint_conditions(query)) if table is Consult
                   else (ticket_select(), ticket_conditions(query)))
    return base.where(and_(*conds)).order_by(table.created_at.desc(), table.id.desc())


@dataclass(frozen=True)
class Page:
    """One page of the ledger: its rows, the id to continue after (None at the end) and the count."""

    rows: list[Row[Any]]
    after: int | None
    total: int
    more_than: bool  # the count stopped at COUNT_UP_TO


def page(conn: Connection, query: LedgerQuery, after: int | None = None, size: int | None = None) -> Page:
    """The rows after the row with id ``after`` (keyset: one index walk, however deep the page)."""
    size = size or PAGE_SIZE
    table = _table(query)
    stmt: Rows = statement(query)
    if after is not None:
        mark = conn.execute(select(table.created_at, table.id).where(table.id == after)).first()
        if mark is not None:
            stmt = stmt.where(tuple_(table.created_at, table.id) < tuple_(mark.created_at, mark.id))
    rows = list(conn.execute(stmt.limit(size + 1)))
    nxt = rows[size - 1].id if len(rows) > size else None
    total = count(conn, query)
    return Page(rows[:size], nxt, total, total > COUNT_UP_TO)


def count(conn: Connection, query: LedgerQuery, up_to: int = COUNT_UP_TO) -> int:
    """How many rows the query selects, counted at most to up_to + 1."""
    table = _table(query)
    conds = complaint_conditions(query) if table is Consult else ticket_conditions(query)
    inner = select(table.id).where(and_(*conds)).limit(up_to + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def stream(conn: Connection, query: LedgerQuery, batch: int = 2000) -> Iterator[Row[Any]]:
    """Every row of the query, read from a server-side cursor a batch at a time (flat memory); on PostgreSQL
    the connection must be in a transaction."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(statement(query))
    yield from result


# -- rows as people read them ----------------------------------------------------------------------

def mask_phone(phone: str | None) -> str:
    """138****5678: enough to tell two numbers apart, not enough to call."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def staff_name(by: str | None) -> str:
    return (by or "").removeprefix(STAFF_PREFIX)


def overdue_parts(text: str | None) -> tuple[str, str]:
    """The overdue stages (受理、完成) and who held the ticket then, from the joined stage:holder string."""
    if not text:
        return "", ""
    pairs = sorted((p.partition(":")[::2] for p in (text or "").split(";") if p),
                   key=lambda p: STAGES.index(p[0]) if p[0] in STAGES else len(STAGES))
    stages = list(dict.fromkeys(STAGE_ZH.get(s, s) for s, _ in pairs))
    holders = list(dict.fromkeys(h for _, h in pairs if h))
    return "、".join(stages), "、".join(holders)


def _time(at: datetime | None) -> str:
    """2026-03-10 09:00 on the school's clock (an f-string: strftime costs seconds in a big export)."""
    if at is None:
        return ""
    t = local(at)
    return f"{t.year}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"


def ticket_cells(row: Row[Any], *, full_phone: bool) -> list[Any]:
    """A ticket row in TICKET_COLUMNS' order (unpacked once: reading 24 fields by name costs more)."""
    (_, no, created, reporter, phone, category, group, item, campus, building, floor, room, description, status,
     accepted_at, accepted_by, assigned_at, worker, completed_at, rating, comment, visit, overdue,
     priority) = cast(tuple[Any, ...], row)
    stages, holders = overdue_parts(overdue)
    return [no, _time(created), reporter or "", phone if full_phone else mask_phone(phone), category, group,
            item or "", campus, building, floor or "", room or "", description, STATUS_ZH.get(status, status),
            _time(accepted_at), staff_name(accepted_by), _time(assigned_at), worker or "", _time(completed_at),
            rating or "", comment or "", VISIT_ZH.get(visit or "", ""), stages, holders,
            "是" if priority == URGENT else ""]


def complaint_cells(row: Row[Any], *, full_phone: bool) -> list[Any]:
    """A complaint row in COMPLAINT_COLUMNS' order; an anonymous sender has no name and no phone."""
    sender = ANONYMOUS if row.anonymous else (row.sender or "")
    phone = "" if row.anonymous else (row.phone if full_phone else mask_phone(row.phone))
    return [row.no, _time(row.created_at), row.kind, row.title, row.department, row.description,
            row.suggestion or "", sender, phone or "", CONSULT_STATUS_ZH.get(row.status, row.status),
            _time(row.replied_at), _time(row.closed_at)]


def columns(kind: str) -> Sequence[str]:
    return COMPLAINT_COLUMNS if kind == "complaints" else TICKET_COLUMNS


def cells(kind: str, row: Row[Any], *, full_phone: bool) -> list[Any]:
    if kind == "complaints":
        return complaint_cells(row, full_phone=full_phone)
    return ticket_cells(row, full_phone=full_phone)

