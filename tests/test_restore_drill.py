"""The restore drill (deploy/restore-drill.sh) on the PostgreSQL the suite runs against: a dump of the
live database restored into a scratch database, read back by `repairbot`, every counted table as the dump
was taken. Without a PostgreSQL (the SQLite run) there is nothing to dump, and the tests skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.services import Services
from tests.support.cli import environment
from tests.support.database import on_server
from tests.support.tickets import make_ticket

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
pytestmark = pytest.mark.skipif(
    not (os.environ.get("REPAIRBOT_TEST_DATABASE_URL") or "").startswith("postgresql")
    or not all(shutil.which(tool) for tool in ("pg_dump", "pg_restore", "psql")),
    reason="the restore drill needs REPAIRBOT_TEST_DATABASE_URL on PostgreSQL and its client tools")


def drill(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a script of deploy/ as the operator would, with repairbot's settings in the environment."""
    name = make_url(services.config.database_url).database
    env = {**os.environ, **environment(services), "REPAIRBOT": f"{sys.executable} -m bot",
           "RESTORE_DRILL_DB": f"{name}_drill"}
    return subprocess.run([str(DEPLOY / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                          cwd=services.config.instance_path.parent, timeout=120)


@pytest.fixture
def office_in_use(services: Services) -> Iterator[Services]:
    """A database with the rows an office has: tickets at several stages, their timelines, photos and pushes.
    The scratch database a failed drill leaves behind is dropped afterwards."""
    make_ticket(services, "o-drill-1", media=("MEDIA-D1",))
    make_ticket(services, "o-drill-2", moved_to="accepted")
    make_ticket(services, "o-drill-3", moved_to="completed")
    yield services
    url = services.config.database_url
    on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}_drill" WITH (FORCE)')


def test_the_drill_restores_a_fresh_dump_and_finds_every_row(office_in_use: Services) -> None:
    done = drill(office_in_use, "restore-drill.sh")
    assert done.returncode == 0, done.stderr
    counts = done.stdout.split("counts match: ")[1].split()
    assert "tickets=3" in counts and "people=3" in counts
    assert not any(c.endswith("=0") for c in counts if c.split("=")[0] in ("ticket_events", "pushes"))
    assert done.stdout.rstrip().endswith("OK")


def test_the_drill_fails_on_a_dump_that_lost_rows(office_in_use: Services, tmp_path: Path) -> None:
    """Last night's dump, checked against the counts taken with it: one table short, and the drill says so."""
    made = drill(office_in_use, "backup.sh", str(tmp_path))
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip())
    assert "tickets=3" in (dump.parent / (dump.name + ".counts")).read_text().split()
    assert drill(office_in_use, "restore-drill.sh", str(dump)).returncode == 0
    counts = dump.parent / (dump.name + ".counts")
    counts.write_text(counts.read_text().replace("tickets=3", "tickets=4"))
    short = drill(office_in_use, "restore-drill.sh", str(dump))
    assert short.returncode != 0 and "tickets=4" in short.stderr


def test_the_drill_fails_on_a_damaged_dump(office_in_use: Services, tmp_path: Path) -> None:
    dump = Path(drill(office_in_use, "backup.sh", str(tmp_path)).stdout.strip())
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    damaged = drill(office_in_use, "restore-drill.sh", str(dump))
    assert damaged.returncode != 0 and "FAILED" in damaged.stderr
