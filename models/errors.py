"""The one exception hierarchy of repairbot.

The message is English, for logs and the shell. `code` names the case and `params` its details, so that
the layers people see (the console, the chat) can say it in Chinese without reading the English.
"""

from typing import Any


class RepairbotError(Exception):
    """Base of every error the product raises on purpose."""

    def __init__(self, message: str = "", *, code: str = "", **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class ConfigError(RepairbotError):
    """The configuration is missing or wrong."""


class RegisterError(RepairbotError):
    """A register document is malformed or inconsistent."""


class RosterError(RepairbotError):
    """A roster file is malformed."""


class IllegalMove(RepairbotError):
    """A ticket cannot move from its status to the one asked for."""


class NotFound(RepairbotError):
    """A ticket, person or staff account does not exist."""


class WeChatError(RepairbotError):
    """WeChat's API answered with an error code."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class DialogDefinitionError(RepairbotError):
    """A dialog is declared wrongly (a step that points nowhere)."""
