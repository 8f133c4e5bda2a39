"""Import every model so the metadata knows every table."""

from models import backoffice, consult, notices, people, pushes, register, replies, rollup, tickets  # noqa: F401
