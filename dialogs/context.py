"""What a step can reach while it answers one message."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from redis import Redis
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.actions import Done, push_delay
from core.config import Config
from core.jobs import SEND_PUSH
from core.who import Who
from dialogs.forms import Form
from dialogs.state import Incoming, State
from models.errors import DialogDefinitionError, RegisterError
from models.notices import NoticeFacts, unfinished_notices
from models.people import WechatUser, ensure_user
from models.register import Register

if TYPE_CHECKING:
    from dialogs.nlu.parse import Parse

T = TypeVar("T")
F = TypeVar("F", bound=Form)


@dataclass(frozen=True)
class Job:
    """An RQ job to enqueue once the database work of this message is committed."""

    queue: str
    func: str | Callable[..., Any]  # a job's name (core.jobs), so that dialogs need not import the workers
    args: tuple[Any, ...]
    job_id: str | None = None
    fresh: bool = False  # its id names a row this message created: it cannot be queued already
    delay_s: int = 0


@dataclass
class Ctx:
    """The context of one incoming message: who, what, and the connections to use."""

    openid: str
    state: State
    msg: Incoming
    now: float
    redis: Redis
    session_factory: Callable[[], Session]
    register_loader: Callable[[], Register | None]
    config: Config = field(default_factory=Config)
    jobs: list[Job] = field(default_factory=list)
    # The language parser of this process (None: free text is not interpreted).
    parser: Callable[..., Parse] | None = None
    # The profile remembered in Redis when the message arrived (None: not remembered).
    who_remembered: dict[str, Any] | None = None
    # This process's copy of the notices not yet ended (None: read them from the database).
    notices_loader: Callable[[], list[NoticeFacts]] | None = None
    # Opens a connection for reads that need no transaction (None: read through the session).
    reader: Callable[[], AbstractContextManager[Connection]] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)
    _session: Session | None = None
    _user: WechatUser | None = None
    _who: Who | None = None

    def form(self, kind: type[F]) -> F:
        """The form of the dialog going on, as the type its dialog keeps."""
        data = self.state.data
        if not isinstance(data, kind):
            raise DialogDefinitionError(f"dialog {self.state.flow} keeps a {type(data).__name__}, "
                                        f"not a {kind.__name__}")
        return data

    def set(self, name: str, value: Any) -> list[str]:
        """Answer a field of the form; what depended on an earlier answer is dropped (dialogs/forms.py)."""
        return self.state.data.set(name, value, lambda: self.register)

    def forget(self, name: str) -> list[str]:
        """Make a field of the form unknown again, with what depends on it, so that it is asked."""
        return self.state.data.forget(name, lambda: self.register)

    @property
    def session(self) -> Session:
        """Open the database session on first use: most messages never need it."""
        if self._session is None:
            self._session = self.session_factory()
        return self._session

    def read(self, query: Callable[[Connection], T]) -> T:
        """Run a read-only query: inside this message's transaction if it has one, else on its own,
        without the BEGIN and COMMIT a session would send around it."""
        if self._session is not None or self.reader is None:
            return query(self.session.connection())
        with self.reader() as conn:
            return query(conn)

    def once(self, key: str, load: Callable[[], T]) -> T:
        """Load something once for this message: a step's prompt and its choices often need the same rows."""
        if key not in self._memo:
            self._memo[key] = load()
        value: T = self._memo[key]
        return value

    @property
    def opened_session(self) -> Session | None:
        return self._session

    @property
    def register(self) -> Register:
        reg = self.register_loader()
        if reg is None:
            raise RegisterError("no register loaded: run `repairbot register load FILE.yaml`")
        return reg

    def user(self) -> WechatUser:
        """Read (or create) the user's row: for steps that change it or need more than who() gives."""
        if self._user is None:
            self._user = ensure_user(self.session, self.openid)
        return self._user

    def who(self) -> Who:
        """Say who the user is: from their row if this message read it (it may have just changed, as in
        binding), else from Redis when remembered, else from the database."""
        row = self._loaded_user()
        if row is not None:
            return Who.of(row)
        if self._who is None:
            self._who = Who.from_dict(self.who_remembered) or Who.of(self.user())
        return self._who

    def who_to_remember(self) -> Who | None:
        """Return the profile to remember after this message: the row as this message left it, if read."""
        row = self._loaded_user()
        return Who.of(row) if row is not None else None

    def _loaded_user(self) -> WechatUser | None:
        if self._user is not None or self._session is None:
            return self._user
        for obj in (*self._session.identity_map.values(), *self._session.new):
            if isinstance(obj, WechatUser) and obj.openid == self.openid:
                return obj
        return None

    def unfinished_notices(self) -> list[NoticeFacts]:
        return self.notices_loader() if self.notices_loader is not None else unfinished_notices(self.session)

    def understand(self, text: str, *, fuzzy: bool = True) -> Parse | None:
        """Parse free text, using the user's default room when the text names no place; fuzzy=False reads the
        words exactly as typed (no sound-alike corrections)."""
        if self.parser is None:
            return None
        place = self.who().place or {}
        campus, building = place.get("campus"), place.get("building")
        return self.parser(text, user_campus=campus, fuzzy=fuzzy,
                           default_building=(campus, building) if campus and building else None)

    def act(self, action: Callable[..., Done[T]], *args: Any, **kwargs: Any) -> T:
        """Do a ticket action (core.actions) in this message's transaction; the pushes it owes are queued
        after the commit, with the message's other jobs."""
        value, pushes = action(self.session, self.config, *args, **kwargs)
        for push in pushes:
            if push.status == "pending":
                self.enqueue("pushes", SEND_PUSH, push.id, job_id=f"push-{push.id}", fresh=True,
                             delay_s=push_delay(self.config, push))
        return value

    def enqueue(self, queue: str, func: str | Callable[..., Any], *args: Any, job_id: str | None = None,
                fresh: bool = False, delay_s: int = 0) -> None:
        self.jobs.append(Job(queue, func, args, job_id, fresh, delay_s))
