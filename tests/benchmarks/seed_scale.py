"""Fill PostgreSQL with a whole university's three years (devtools/history.py makes the rows):

    python -m tests.benchmarks.seed_scale --url postgresql+psycopg://postgres@127.0.0.1:5432/NAME --tickets N

``seed(url, *, tickets=1_000_000, users=50_000, complaints=100_000, register_path=None, seed=0) -> dict``
fills an empty (or not yet migrated) database by COPY and returns how many rows each table got.
"""

from __future__ import annotations

from devtools.history import ADMIN, SEED_PASSWORD, AlreadySeeded, main, seed

__all__ = ["ADMIN", "SEED_PASSWORD", "AlreadySeeded", "main", "seed"]

if __name__ == "__main__":
    raise SystemExit(main())
