"""The `repairbot` command line."""

from __future__ import annotations

import importlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from core.config import Config
from core.services import Services, use_services
from models.errors import RepairbotError
from models.tickets import STATUS_ZH, local_time


def _services() -> Services:
    svc = Services(Config.from_env())
    use_services(svc)
    return svc


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from exc


def _read_utf8(path: Path) -> str:
    """Read a text file, refusing in one line one that is not UTF-8 (Excel's GBK CSVs, say)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path} is not UTF-8 text; save it as 'CSV UTF-8' (or UTF-8 YAML)") from exc


@click.group()
def main() -> None:
    """Run the logistics office's WeChat repair desk."""


@main.command()
def init() -> None:
    """Create or migrate the database (Alembic)."""
    from models.schema import upgrade

    cfg = Config.from_env()
    upgrade(cfg.database_url)
    click.echo("database is up to date")


# -- register and people -----------------------------------------------------------------

@main.group()
def register() -> None:
    """The school's register of places and repair categories."""


@register.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def register_load(file: Path) -> None:
    """Load a register YAML file and make it the one in force."""
    from models.register import store_register

    svc = _services()
    try:
        with svc.db.session() as s:
            reg = store_register(s, _read_utf8(file), str(file))
    except RepairbotError as exc:
        _fail(exc)
    n_buildings = sum(len(c.buildings) for c in reg.campuses)
    click.echo(f"register loaded: {len(reg.campuses)} campuses, {n_buildings} buildings, "
               f"{len(reg.groups)} groups, {len(reg.categories)} categories")


@main.group()
def roster() -> None:
    """The people directory (campus cards)."""


@roster.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def roster_load(file: Path) -> None:
    """Load card_no,name,id_last6,role,phone rows."""
    from models.people import load_roster

    svc = _services()
    try:
        with svc.db.session() as s:
            report = load_roster(s, _read_utf8(file), pepper=svc.config.id_pepper)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"roster loaded: {report.added} added, {report.updated} updated, {len(report.rejected)} refused")
    for line in report.rejected:
        click.echo(f"  refused {line}", err=True)


@main.group()
def staff() -> None:
    """Console accounts."""


@staff.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "dispatcher", "worker"]), required=True)
@click.option("--category", "categories", multiple=True, help="a repair category this account handles")
@click.option("--phone", default=None)
@click.option("--openid", default=None, help="the WeChat openid to bind (workers then act from WeChat)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def staff_add(name: str, role: str, categories: tuple[str, ...], phone: str | None, openid: str | None,
              password_stdin: bool) -> None:
    """Create or update a console account."""
    from models.people import add_staff, bind_openid

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    svc = _services()
    reg = svc.register()
    unknown = [c for c in categories if reg is None or reg.category(c) is None]
    if unknown:
        _fail(RepairbotError(f"unknown category: {', '.join(unknown)} (load the register first)"))
    try:
        with svc.db.session() as s:
            add_staff(s, name, role, password, list(categories), phone)
            if openid:
                bind_openid(s, name, openid)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"staff account {name} ({role}) saved" + (f", bound to WeChat {openid}" if openid else ""))


@staff.command("bind")
@click.argument("name")
@click.argument("openid")
def staff_bind(name: str, openid: str) -> None:
    """Bind a staff account to a WeChat openid: the worker can then act on their tickets from WeChat."""
    from models.people import bind_openid

    svc = _services()
    try:
        with svc.db.session() as s:
            bind_openid(s, name, openid)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"staff account {name} bound to WeChat {openid}")


@staff.command("duty")
@click.argument("name")
@click.option("--on/--off", "on", required=True, help="on duty now, or off duty")
def staff_duty(name: str, on: bool) -> None:
    """Put a worker on duty or off it: an emergency of their categories reaches the workers on duty at once
    (every worker of the category when none is on duty), with the category's dispatchers."""
    from models.people import set_on_duty

    svc = _services()
    try:
        with svc.db.session() as s:
            set_on_duty(s, name, on)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"staff account {name} is {'on' if on else 'off'} duty")


@staff.command("unbind")
@click.argument("name")
def staff_unbind(name: str) -> None:
    """Unbind a staff account from WeChat."""
    from models.people import bind_openid

    svc = _services()
    try:
        with svc.db.session() as s:
            bind_openid(s, name, None)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"staff account {name} unbound from WeChat")


# -- running ---------------------------------------------------------------------------------

def path_only_handler() -> type:
    """The development server's request handler, logging the path without the query string (WeChat's
    carries a signature, its timestamp and nonce, and the sender's openid)."""
    from urllib.parse import urlsplit

    from werkzeug.serving import WSGIRequestHandler

    class PathOnlyLog(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            self.log("info", '"%s %s" %s %s', self.command, urlsplit(self.path).path, code, size)

    return PathOnlyLog


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host: str, port: int) -> None:
    """Run the webhook and the console (development server)."""
    from werkzeug.serving import run_simple

    from bot import create_app

    cfg = Config.from_env()
    try:
        cfg.require("wechat_token")
    except RepairbotError as exc:
        _fail(exc)
    app = create_app(cfg)
    # SIGTERM (systemd, a script, `make demo` ending) ends the server like Ctrl-C: exit handlers run, and
    # the last user of the embedded Redis stops it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=path_only_handler())


@main.command()
def stop() -> None:
    """Stop the embedded Redis of the instance folder (used when REPAIRBOT_REDIS_URL is not set)."""
    from core.embedded import stop as stop_embedded

    cfg = Config.from_env()
    stopped = stop_embedded(cfg.instance_path)
    click.echo("embedded Redis stopped" if stopped else "no embedded Redis was running")


@main.command()
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
def worker(burst: bool) -> None:
    """Run an RQ worker for all queues, with the scheduler (for retries)."""
    from core.config import use_metrics_dir

    use_metrics_dir()  # before prometheus_client is imported: the web's /metrics adds this worker's counters
    from core.jobs import all_queues
    from core.logs import setup_logging
    from core.metrics import forget_dead_processes
    from workers.queues import LeanSimpleWorker

    forget_dead_processes()
    svc = _services()
    setup_logging(svc.config)
    # Jobs are a few milliseconds each: run them in the worker process, without a fork per job.
    LeanSimpleWorker(all_queues(svc.redis), connection=svc.redis).work(burst=burst, with_scheduler=True,
                                                                 logging_level=svc.config.log_level)


@main.command()
@click.option("--register", "register_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a register YAML file (default: the register loaded in the database)")
@click.option("--explain", is_flag=True, help="add which cues, places and corrections decided each answer")
def parse(register_file: Path | None, explain: bool) -> None:
    """Read free text on stdin; write one JSON object per line."""
    from dialogs.nlu.cli import run_parse
    from models.register import Register

    if register_file is not None:
        reg: Register | None = Register.from_yaml(_read_utf8(register_file))
    else:
        reg = _services().register()
    if reg is None:
        _fail(RepairbotError("no register: pass --register FILE or run `repairbot register load`"))
    assert reg is not None
    sys.exit(run_parse(reg, sys.stdin, sys.stdout, explain=explain))


# -- tickets ------------------------------------------------------------------------------------

@main.group()
def tickets() -> None:
    """List, show and move tickets."""


@tickets.command("list")
@click.option("--status", default=None, type=click.Choice(list(STATUS_ZH)),
              help="only tickets in this status (a mistyped one is refused, not an empty list)")
@click.option("--openid", default=None)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
              help="at most this many (the newest); a cut list says so on stderr")
@click.option("--json", "as_json", is_flag=True)
def tickets_list(status: str | None, openid: str | None, limit: int, as_json: bool) -> None:
    """List tickets, newest first."""
    from models.tickets import count_tickets, list_tickets

    svc = _services()
    with svc.db.session() as s:
        rows = list_tickets(s, status=status, openid=openid, limit=limit)
        total = count_tickets(s, status=status, openid=openid) if len(rows) == limit else len(rows)
        if as_json:
            _echo_json([t.to_json() for t in rows])
        else:
            for t in rows:
                mark = "URGENT  " if t.urgent else ""
                click.echo(f"{t.no}  {t.status:<11} {local_time(t.created_at):%m-%d %H:%M}  "
                           f"{mark}{t.place} · {t.fault}")
            if not rows:
                click.echo("no tickets")
    if total > len(rows):
        click.echo(f"showing the newest {len(rows)} of {total} tickets; use --limit {total} for all", err=True)


@tickets.command("show")
@click.argument("no")
@click.option("--json", "as_json", is_flag=True)
def tickets_show(no: str, as_json: bool) -> None:
    """Show one ticket with its whole timeline."""
    from models.tickets import STATUS_ZH, get_ticket

    svc = _services()
    try:
        with svc.db.session() as s:
            t = get_ticket(s, no)
            if as_json:
                _echo_json(t.to_json())
                return
            click.echo(f"{t.no}  {t.status} ({t.status_zh})  priority {t.priority} ({t.priority_zh})\n"
                       f"{t.category} · {t.fault}\n{t.place}\n"
                       f"{t.description}\nphone {t.phone}  photos {len(t.photos)}")
            for e in t.events:
                note = f"  {e.note}" if e.note else ""
                label = (e.kind if e.kind in ("message", "priority", "visit")
                         else f"{e.status} ({STATUS_ZH[e.status]})")
                click.echo(f"  {local_time(e.at):%Y-%m-%d %H:%M}  {label}  by {e.by}{note}")
    except RepairbotError as exc:
        _fail(exc)


@tickets.command("move")
@click.argument("no")
@click.argument("status")
@click.option("--note", default=None, help="a reason or a note for the reporter")
@click.option("--worker", default=None, help="the worker's staff name (for assigned)")
@click.option("--by", "by", default="shell", help="the staff member acting (a staff account's name)")
def tickets_move(no: str, status: str, note: str | None, worker: str | None, by: str) -> None:
    """Move a ticket to a new status, as staff; the reporter is pushed."""
    from core.actions import move_ticket
    from models.people import get_staff

    svc = _services()
    try:
        if by != "shell":  # a name given must be a staff account's, as it goes into the ticket's history
            with svc.db.session() as s:
                get_staff(s, by)
        t = move_ticket(svc, no, status, by=f"staff:{by}", note=note, worker=worker)
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"{t.no} is now {t.status} ({t.status_zh})")


# -- the ledger (台账) and the statistics (统计) ----------------------------------------------------------

def _day(value: str | None, option: str) -> Any:
    from bot.ids import parse_day

    if value is None:
        return None
    day = parse_day(value)
    if day is None:
        raise click.BadParameter(f"{value!r} is not a day written YYYY-MM-DD", param_hint=option)
    return day


def _viewer(svc: Services, by: str | None) -> Any:
    """Whose view the shell takes (--by): that staff account's scope and phone rights; none given: the whole
    school, phones masked."""
    from models.ledger import Viewer, viewer_of
    from models.people import get_staff

    if by is None:
        return Viewer()
    try:
        with svc.db.session() as s:
            staff = get_staff(s, by)
            if staff.role == "worker":
                raise click.ClickException(f"{by} is a worker: the ledger and the statistics are for admins and "
                                           "dispatchers")
            return viewer_of(staff)
    except RepairbotError as exc:
        _fail(exc)


@main.group()
def ledger() -> None:
    """The ledger (台账): every ticket or complaint, exported."""


@ledger.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), required=True)
@click.option("--from", "since", default=None, help="the first day filed (YYYY-MM-DD, the school's clock)")
@click.option("--to", "until", default=None, help="the last day filed (included)")
@click.option("--category", default=None, help="one repair category")
@click.option("--kind", type=click.Choice(["tickets", "complaints"]), default="tickets", show_default=True)
@click.option("--by", default=None, help="export as this staff account: its categories only, and phone "
                                         "numbers whole only for an admin (default: everything, phones masked)")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def ledger_export(fmt: str, since: str | None, until: str | None, category: str | None, kind: str,
                  by: str | None, out: Path) -> None:
    """Write the ledger to a CSV or XLSX file, with Chinese column headers."""
    from core.exports import write
    from models.ledger import LedgerQuery, cells, columns, day_bounds, stream

    start, end = day_bounds(_day(since, "--from"), _day(until, "--to"))
    svc = _services()
    viewer = _viewer(svc, by)
    query = LedgerQuery(kind=kind, since=start, until=end, categories=viewer.categories,
                        departments=viewer.departments, category=category or "")
    rows = 0

    def counted() -> Any:
        nonlocal rows
        with svc.db.engine.connect() as conn, conn.begin():  # a server-side cursor lives in a transaction
            for row in stream(conn, query):
                rows += 1
                yield cells(kind, row, full_phone=viewer.full_phone)

    write(fmt, out, columns(kind), counted())
    click.echo(f"{rows} rows written to {out}")


@main.group(invoke_without_command=True)
@click.option("--from", "since", default=None, help="the first day (YYYY-MM-DD, the school's clock)")
@click.option("--to", "until", default=None, help="the last day (included)")
@click.option("--category", default=None, help="one repair category")
@click.option("--by", default=None, help="as this staff account (a dispatcher: their categories only)")
@click.option("--json", "as_json", is_flag=True, help="the figures as one JSON object")
@click.pass_context
def stats(ctx: click.Context, since: str | None, until: str | None, category: str | None, by: str | None,
          as_json: bool) -> None:
    """The statistics of tickets filed in a period: counts, times, overdue stages, ratings, hot spots."""
    if ctx.invoked_subcommand is not None:
        return
    if since is None or until is None:
        raise click.UsageError("stats needs --from and --to (or: stats rebuild)")
    _print_stats(since, until, category, by, as_json)


@stats.command("rebuild")
def stats_rebuild() -> None:
    """Add up the statistics' roll-up again from every ticket (after writing tickets around the rules)."""
    from models.rollup import rebuild

    click.echo(f"{rebuild(_services().db.engine)} roll-up rows")


def _print_stats(since: str, until: str, category: str | None, by: str | None, as_json: bool) -> None:
    from models.ledger import day_bounds
    from models.stats import StatsQuery, figures

    start, end = day_bounds(_day(since, "--from"), _day(until, "--to"))
    assert start is not None and end is not None
    if end <= start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    svc = _services()
    viewer = _viewer(svc, by)
    found = figures(svc.db.engine, StatsQuery(start, end, viewer.categories, category or ""))
    if as_json:
        _echo_json(found)
        return
    click.echo(f"tickets {found['tickets']}  accept p50 {found['accept_p50_h']} h  complete p50 "
               f"{found['complete_p50_h']} h  overdue {found['overdue_rate']:.1%}  rating {found['rating_avg']}")


@main.group()
def menu() -> None:
    """The official account's custom menu (REPAIRBOT_MENU_FILE, default: the shipped menu.yaml)."""


@menu.command("show")
def menu_show() -> None:
    """Print the configured menu, checked against WeChat's limits."""
    from bot.menu import load_menu, render_menu

    try:
        click.echo(render_menu(load_menu(Config.from_env().menu_file)))
    except RepairbotError as exc:
        _fail(exc)


@menu.command("push")
def menu_push() -> None:
    """Create the configured menu on the official account through WeChat's API."""
    from bot.menu import load_menu, menu_payload
    from core.wechat_api import WeChatAPI

    svc = _services()
    try:
        buttons = load_menu(svc.config.menu_file)
        result = WeChatAPI(svc.config, svc.redis).call("menu/create", menu_payload(buttons))
    except RepairbotError as exc:
        _fail(exc)
    click.echo(f"menu created: {len(buttons)} buttons (WeChat answered errcode {result.get('errcode', 0)})")


@main.group()
def templates() -> None:
    """Template messages: the account's templates, and the mapping (REPAIRBOT_TEMPLATES_FILE) checked against them."""


def _account_templates() -> tuple[Services, list[dict[str, Any]]]:
    from core.wechat_api import WeChatAPI

    try:
        svc = _services()
        return svc, WeChatAPI(svc.config, svc.redis).private_templates()
    except RepairbotError as exc:
        _fail(exc)
        raise AssertionError("unreachable") from exc


@templates.command("list")
def templates_list() -> None:
    """Show the templates the account has (template/get_all_private_template) and their keywords."""
    from core.templates import describe_account

    _svc, account = _account_templates()
    click.echo("\n".join(describe_account(account)))


@templates.command("check")
def templates_check() -> None:
    """Check the mapping against the account's templates, with a sample of each push; exit 1 on a mismatch."""
    from core.templates import check_templates

    svc, account = _account_templates()
    report = check_templates(svc.config.templates, svc.config, account)
    click.echo("\n".join(report.lines))
    if not report.ok:
        sys.exit(1)


@templates.command("fields")
def templates_fields() -> None:
    """List the fields each kind of push offers a mapping (no call to WeChat)."""
    from core.templates import describe_fields

    click.echo("\n".join(describe_fields()))


@main.group()
def qr() -> None:
    """扫码报修 stickers: permanent QR codes that start a repair at their place."""


@qr.command("make")
@click.option("--building", required=True, help="the building's name (or an alias) in the register")
@click.option("--campus", default=None, help="needed when the name is in more than one campus")
@click.option("--room", default=None, help="one room")
@click.option("--floor", type=click.IntRange(min=1), default=None, help="one floor (a sticker in its corridor)")
@click.option("--all-rooms", is_flag=True, help="one sticker per room of the building")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="the folder for the pages (one SVG per code) and codes.csv")
def qr_make(building: str, campus: str | None, room: str | None, floor: int | None, all_rooms: bool,
            out: Path) -> None:
    """Create the codes through WeChat's API and write a printable page for each."""
    from bot.qr import make, places
    from core.wechat_api import WeChatAPI, WeChatError
    from models.register import current_register

    if sum((room is not None, floor is not None, all_rooms)) > 1:
        raise click.UsageError("choose one of --room, --floor and --all-rooms")
    svc = _services()
    with svc.db.session() as s:
        reg = current_register(s)
    if reg is None:
        raise click.ClickException("no register loaded: run `repairbot register load FILE.yaml`")
    api = WeChatAPI(svc.config, svc.redis)
    try:
        stickers = make(places(reg, building, campus, floor, room, all_rooms), api.create_qrcode, out)
    except (RepairbotError, WeChatError) as exc:
        _fail(exc)
    click.echo(f"{len(stickers)} codes written to {out} (one SVG page each; codes.csv lists them)")


@main.command()
@click.option("--older-than", default=60, show_default=True, help="seconds a push must have waited")
def sweep(older_than: int) -> None:
    """Queue again pushes and photo downloads still pending (e.g. after Redis was lost)."""
    from workers.sweeps import requeue_pending

    report = requeue_pending(_services(), older_than)
    click.echo(f"queued again: {report.pushes} pushes, {report.photos} photo downloads")


@main.group()
def sla() -> None:
    """Time limits (责任追究): late stages, escalation, and the timers after a completion."""


@sla.command("sweep")
def sla_sweep() -> None:
    """Record late stages and push the dispatchers (the admins a limit later); remind to rate; close unrated."""
    from workers.sla import run_sla_sweep

    click.echo(run_sla_sweep(_services()).summary())


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _add_dev_commands() -> None:
    """The development tools (`devtools`: demo, terminal chat) add their commands when they are installed.

    Loaded by name: the product does not depend on its dev tools, they depend on it."""
    try:
        module = importlib.import_module("devtools.cli")
    except ImportError:
        return
    for command in module.COMMANDS:
        main.add_command(command)


_add_dev_commands()
