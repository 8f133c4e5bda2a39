"""The ledger page (台账) and its exports (CSV, XLSX): every ticket or complaint a manager may see, filtered.

Admins see everything; a dispatcher the tickets of their categories and the complaints of their
departments; workers have no ledger.  Pages go by keyset (``after`` = the last row's id), so the first
page and the hundredth cost the same.  An export is what the page's filters select, streamed: CSV straight
into the response, XLSX through a temporary file.  Phones are whole for admins only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Response, abort, render_template, request, send_file, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.perms import StaffUser, consult_departments
from bot.ids import parse_day, parse_id
from core.exports import FORMATS, MEDIA_TYPES, csv_chunks, write_xlsx
from models.clock import LOCAL
from models.consult import CONSULT_STATUS_ZH
from models.ledger import KINDS, LedgerQuery, cells, columns, day_bounds, page, stream
from models.people import Staff
from models.tickets import STATUS_ZH


def categories_of(user: StaffUser) -> tuple[str, ...] | None:
    return None if user.is_admin else tuple(user.categories)


def ledger_query(user: StaffUser, args: Any, departments: tuple[str, ...] | None) -> LedgerQuery:
    """The query a request's arguments ask for, inside what the user may see."""
    kind = args.get("kind", "tickets")
    since, until = day_bounds(parse_day(args.get("since")), parse_day(args.get("until")))
    status = args.get("status", "").strip()
    return LedgerQuery(
        kind=kind if kind in KINDS else "tickets", since=since, until=until, categories=categories_of(user),
        departments=departments, category=args.get("category", "").strip()[:64],
        campus=args.get("campus", "").strip()[:64], building=args.get("building", "").strip()[:64],
        status=status if status in ("open", *STATUS_ZH, *CONSULT_STATUS_ZH) else "",
        worker_id=parse_id(args.get("worker")), q=args.get("q", "").strip()[:50],
        overdue=args.get("overdue") in ("1", "on"), visited=args.get("visited") in ("1", "on"))


FILTER_KEYS = ("kind", "since", "until", "category", "campus", "building", "status", "worker", "q", "overdue",
               "visited")


def filter_args(args: Any, **changes: Any) -> dict[str, str]:
    """The request's filters (for links that keep them), with some changed; empty ones left out."""
    values = {k: args.get(k, "") for k in FILTER_KEYS}
    values.update(changes)
    return {k: str(v) for k, v in values.items() if v not in ("", None)}


@bp.app_template_filter("zip_same")
def zip_same(names: list[str]) -> list[tuple[str, str]]:
    """Options whose value is their text."""
    return [(n, n) for n in names]


def _viewer() -> tuple[StaffUser, tuple[str, ...] | None]:
    user = me()
    if not user.manages:
        abort(403)
    with services().db.session() as s:
        return user, consult_departments(s, user)


# The columns the page shows (the export has them all), by name.
PAGE_COLUMNS = {
    "tickets": ("单号", "提交时间", "报修人", "联系电话", "维修类型", "故障类别", "楼栋", "房间", "当前状态",
                "受理时间", "指派时间", "维修工", "完成时间", "评价星级", "回访结果", "超时环节", "责任人"),
    "complaints": ("单号", "提交时间", "类型", "标题", "部门", "提交人", "联系电话", "当前状态", "回复时间",
                   "办结时间"),
}


def shown_columns(kind: str) -> list[tuple[str, int]]:
    """(name, index in the row's cells) of each column the page shows."""
    every = list(columns(kind))
    return [(name, every.index(name)) for name in PAGE_COLUMNS[kind]]


@bp.get("/ledger")
def ledger() -> ResponseReturnValue:
    user, departments = _viewer()
    query = ledger_query(user, request.args, departments)
    after = parse_id(request.args.get("after"))
    reg = services().register()
    with services().db.reading() as conn:
        shown = page(conn, query, after)
    with services().db.session() as s:
        workers = [w for w in s.scalars(select(Staff).where(Staff.role == "worker").order_by(Staff.name))
                   if user.is_admin or set(w.categories or []) & set(user.categories)]
    cats = [c.name for c in reg.categories] if reg else []
    return render_template(
        "console/ledger.html", q=query, shown=shown, args=request.args, filter_args=filter_args,
        full_phone=user.is_admin, cells=cells, shown_columns=shown_columns(query.kind), after=after,
        categories=cats if user.is_admin else [c for c in cats if c in user.categories],
        campuses=[c.name for c in reg.campuses] if reg else [], workers=[(str(w.id), w.name) for w in workers],
        statuses=CONSULT_STATUS_ZH if query.kind == "complaints" else STATUS_ZH,
        export_links={fmt: export_link(fmt, request.args) for fmt in FORMATS})


def export_link(fmt: str, args: Any) -> str:
    values: dict[str, Any] = {"fmt": fmt, **filter_args(args)}
    return url_for("console.ledger_export", **values)


def export_name(query: LedgerQuery, fmt: str) -> str:
    what = "投诉咨询台账" if query.kind == "complaints" else "报修台账"
    return f"{what}-{datetime.now(UTC).astimezone(LOCAL):%Y%m%d-%H%M}.{fmt}"


def export_rows(query: LedgerQuery, full_phone: bool) -> Iterator[list[Any]]:
    """The query's rows as cells, read through a server-side cursor of their own connection."""
    with services().db.engine.connect() as conn, conn.begin():  # a server-side cursor lives in a transaction
        for row in stream(conn, query):
            yield cells(query.kind, row, full_phone=full_phone)


@bp.get("/ledger/export.<fmt>")
def ledger_export(fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    user, departments = _viewer()
    query = ledger_query(user, request.args, departments)
    header = columns(query.kind)
    rows = export_rows(query, user.is_admin)
    name = export_name(query, fmt)
    if fmt == "csv":
        body = stream_with_context(chunk.encode("utf-8") for chunk in csv_chunks(header, rows))
        resp = Response(body, mimetype=MEDIA_TYPES["csv"])
        resp.headers["Content-Disposition"] = _attachment(name)
        return resp
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (send_file closes it once the answer is sent)
    write_xlsx(spool, header, rows)
    spool.seek(0)
    return send_file(spool, mimetype=MEDIA_TYPES["xlsx"], as_attachment=True, download_name=name)


def _attachment(name: str) -> str:
    """An ASCII file name for old browsers, the Chinese one (RFC 5987) for the rest."""
    return f"attachment; filename=ledger.csv; filename*=UTF-8''{quote(name)}"

