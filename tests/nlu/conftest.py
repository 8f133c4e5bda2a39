"""Fixtures for the NLU tests: the school register and one parser built from it."""

from __future__ import annotations

import pytest

from dialogs.nlu.parse import Parser
from models.register import Register
from tests.nlu.tsv import register_path


@pytest.fixture(scope="session")
def register() -> Register:
    path = register_path()
    if path is None:
        pytest.skip("no register: neither shared/data/register.yaml nor bot/data/register.yaml")
    return Register.from_yaml(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def parser(register: Register) -> Parser:
    return Parser(register)
