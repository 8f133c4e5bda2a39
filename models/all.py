"""Import every model so the metadata knows every table."""

from models import people, pushes, register, tickets  # noqa: F401
