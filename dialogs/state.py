"""What the engine and every step share about one user: the message that came in, and the state of their
conversation kept between messages. Apart from the engine, so that the context can name them without
importing the engine that runs the steps."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialogs.forms import Blank, Form, load_form

# -- what comes in ---------------------------------------------------------------

@dataclass(frozen=True)
class Incoming:
    """One message or event from a user, already verified and parsed."""

    kind: str  # text | image | voice | click | subscribe | unsubscribe | event | other
    raw: str = ""
    media_id: str = ""
    pic_url: str = ""
    key: str = ""  # menu key of a click
    msg_key: str = ""  # stable name of the WeChat message (for idempotent side effects)
    heard: bool = False  # a voice message WeChat's speech recognition wrote down: read as if typed

    @property
    def text(self) -> str:
        """Return the text normalised for matching (full-width digits and letters folded)."""
        return normalize(self.raw)


def fold(text: str) -> str:
    """The one normaliser of what people type: full-width digits, letters and punctuation folded (NFKC)."""
    return unicodedata.normalize("NFKC", text or "")


def normalize(text: str) -> str:
    """Folded, with runs of white space made one space: what matching compares."""
    return re.sub(r"\s+", " ", fold(text)).strip()



# -- the state of one user's conversation ------------------------------------------------

@dataclass
class Resume:
    """The dialog to go back to after a nested one (binding before a repair), with its form."""

    flow: str
    step: str | None
    data: Form
    history: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "step": self.step, "data": self.data.to_json(), "history": self.history}

    @classmethod
    def from_dict(cls, d: Any) -> Resume | None:
        if not isinstance(d, Mapping) or not d.get("flow"):
            return None
        return cls(str(d["flow"]), d.get("step"), load_form(d["flow"], d.get("data")), list(d.get("history") or []))


@dataclass
class State:
    flow: str | None = None
    step: str | None = None
    data: Form = field(default_factory=Blank)
    history: list[str] = field(default_factory=list)
    updated: float = 0.0
    resume: Resume | None = None  # the dialog to go back to after a nested one
    pending: dict[str, Any] | None = None  # an engine question awaiting its answer

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "step": self.step, "data": self.data.to_json(), "history": self.history,
                "updated": self.updated, "resume": self.resume.to_dict() if self.resume else None,
                "pending": self.pending}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> State:
        """Read a stored state, of this version or an older one (forms/load_form reads each form's version)."""
        if not d:
            return cls()
        flow = d.get("flow")
        return cls(flow, d.get("step"), load_form(flow, d.get("data")), list(d.get("history") or []),
                   float(d.get("updated") or 0), Resume.from_dict(d.get("resume")), d.get("pending"))

    @property
    def active(self) -> bool:
        return self.flow is not None
