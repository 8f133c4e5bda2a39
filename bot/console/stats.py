"""The statistics page (统计): the figures of models/stats.py, with charts drawn on the server as SVG.

Admins see the whole school, a dispatcher their categories; workers have no statistics.  Each chart is
pygal's SVG put into the page (no script: the console allows none inline), sized to read on a 390 px
phone, with its numbers in a table beside it.  The default period is the last twelve months.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pygal
from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from pygal.style import Style
from redis.exceptions import RedisError

from bot.console.auth import me
from bot.console.blueprint import bp, services
from bot.console.ledger import categories_of
from bot.ids import parse_day
from models.backoffice import STAGE_ZH
from models.clock import LOCAL
from models.ledger import day_bounds
from models.stats import StatsQuery, figures
from models.tickets import STATUS_ZH

CHART_STYLE = Style(background="transparent", plot_background="transparent", font_family="sans-serif",
                    colors=("#2f6fb3", "#e08a1e", "#3a9a5b", "#c0392b", "#7d5ba6"), label_font_size=13,
                    major_label_font_size=13, value_font_size=12, title_font_size=15, tooltip_font_size=12)
CHART_WIDTH = 390
LABEL_CHARS = 8  # longer labels are cut (the table beside the chart has them whole)
MOST_BARS = 12
# The figures of one page's query, kept this long (the page says how fresh they are).
STATS_KEY = "stats:figures:{digest}"
CACHE_S = 600
SCRIPT_RE = re.compile(r"<script\b.*?</script>", re.S)


def _chart(kind: Any, title: str, height: int, **options: Any) -> Any:
    settings = {"print_values": True, **options}
    return kind(style=CHART_STYLE, width=CHART_WIDTH, height=height, title=title, show_legend=False, js=[],
                disable_xml_declaration=True, truncate_label=LABEL_CHARS, margin=8, explicit_size=False,
                **settings)


def bars(title: str, counts: dict[str, Any]) -> Markup:
    """A horizontal bar per key (the largest MOST_BARS), values printed on the bars."""
    items = list(counts.items())[:MOST_BARS]
    chart = _chart(pygal.HorizontalBar, title, 60 + 28 * max(len(items), 1))
    chart.x_labels = [k for k, _ in reversed(items)]
    chart.y_labels = whole_ticks(max((v for _, v in items), default=0))
    chart.add(title, [v for _, v in reversed(items)])
    return svg(chart)


def whole_ticks(top: float, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 past `top`, at a round step (1, 2 or 5 times a power of ten)."""
    rough = max(1.0, top / most)
    power = 10 ** math.floor(math.log10(rough))
    step = next(int(m * power) for m in (1, 2, 5, 10) if m * power >= rough)
    return list(range(0, int(top) + step, step))


def svg(chart: Any) -> Markup:
    """The chart's SVG without pygal's script of settings (the page runs no inline script)."""
    return Markup(SCRIPT_RE.sub("", chart.render(is_unicode=True)))


def columns(title: str, counts: dict[str, Any], value_format: str = "{:.0f}") -> Markup:
    """Upright bars in the keys' order (months, stars)."""
    chart = _chart(pygal.Bar, title, 260, x_label_rotation=45 if len(counts) > 6 else 0,
                   formatter=lambda v: value_format.format(v), print_values=len(counts) <= 12)
    chart.x_labels = list(counts)
    if value_format == "{:.0f}":
        chart.y_labels = whole_ticks(max(counts.values(), default=0))
    chart.add(title, list(counts.values()))
    return svg(chart)


def default_period(today: datetime) -> tuple[str, str]:
    """The last twelve months, to today (days on the school's clock)."""
    end = today.astimezone(LOCAL).date()
    return (end - timedelta(days=364)).isoformat(), end.isoformat()


def charts(f: dict[str, Any]) -> dict[str, Markup]:
    stage = {STAGE_ZH[s]: round(v["rate"] * 100, 1) for s, v in f["overdue_by_stage"].items()}
    return {
        "category": bars("按维修类型", f["by_category"]),
        "group": bars("按故障类别", f["by_group"]),
        "campus": bars("按校区", f["by_campus"]),
        "building": bars("按楼栋（前 12）", {f"{b['building']}": b["tickets"] for b in f["by_building"]}),
        "month": columns("按月", {m[2:]: n for m, n in f["by_month"].items()}),
        "status": bars("按状态", {STATUS_ZH.get(s, s): n for s, n in f["by_status"].items()}),
        "rating": columns("评价分布", {f"{s}星": n for s, n in f["ratings"].items()}),
        "overdue": columns("各环节超时率（%）", stage, "{:.1f}"),
    }


def cached_figures(query: StatsQuery) -> dict[str, Any]:
    """The figures of a query, kept CACHE_S in Redis: the office reads the same page many times a day (adding
    up a year's roll-up takes a few hundred milliseconds on a busy machine).  Without Redis they are
    computed each time."""
    key = STATS_KEY.format(digest=hashlib.sha1(repr(query).encode()).hexdigest())
    redis = services().redis
    try:
        raw = cast(bytes | None, redis.get(key))
    except RedisError:
        raw = None
    if raw:
        found: dict[str, Any] = json.loads(raw)
        return found
    found = figures(services().db.engine, query)
    with contextlib.suppress(RedisError):
        redis.set(key, json.dumps(found, ensure_ascii=False), ex=CACHE_S)
    return found


def named(f: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The tables beside the charts whose keys people read in Chinese."""
    return {
        "status": {STATUS_ZH.get(s, s): n for s, n in f["by_status"].items()},
        "rating": {f"{s} 星": n for s, n in f["ratings"].items()},
        "overdue": {STAGE_ZH[s]: f"{v['tickets']} 单（{v['rate'] * 100:.1f}%）"
                    for s, v in f["overdue_by_stage"].items()},
    }


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    user = me()
    if not user.manages:
        abort(403)
    first, last = default_period(datetime.now(UTC))
    since_day = parse_day(request.args.get("from")) or parse_day(first)
    until_day = parse_day(request.args.get("to")) or parse_day(last)
    assert since_day is not None and until_day is not None
    if until_day < since_day:
        since_day, until_day = until_day, since_day
    since, until = day_bounds(since_day, until_day)
    assert since is not None and until is not None
    category = request.args.get("category", "").strip()[:64]
    f = cached_figures(StatsQuery(since, until, categories_of(user), category))
    reg = services().register()
    cats = [c.name for c in reg.categories] if reg else []
    return render_template("console/stats.html", f=f, charts=charts(f), named=named(f), since=since_day,
                           until=until_day, category=category, fresh_minutes=CACHE_S // 60,
                           categories=cats if user.is_admin else [c for c in cats if c in user.categories])
