"""The lexicon's floorless things (no floor is asked for them) are register groups or items, checked at load."""

from __future__ import annotations

import pytest

from dialogs.nlu.lexicon import Lexicon
from dialogs.nlu.parse import Parser
from models.errors import RegisterError
from models.register import Register


def test_a_floorless_thing_must_be_in_the_register(register: Register) -> None:
    with pytest.raises(RegisterError, match="floorless"):
        Lexicon.from_dict(register, {"floorless": ["飞船"]})


def test_a_group_is_floorless_with_every_item_an_item_alone(parser: Parser) -> None:
    lexicon = parser.lexicon
    assert lexicon.has_no_floor("电梯", None) and lexicon.has_no_floor("绿化", "树木")
    assert lexicon.has_no_floor("照明", "路灯") and not lexicon.has_no_floor("照明", "灯管")
    assert not lexicon.has_no_floor("照明", None)
