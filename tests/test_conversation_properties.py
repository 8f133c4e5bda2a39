"""Random walks over every dialog, through the real webhook: nobody gets stuck, nothing is filed unasked.

A hypothesis state machine plays one WeChat user per example (a new openid each time, on one app served
for the whole test): it types words drawn from a vocabulary (global words, numbers in and out of range,
free-text reports and complaints, card numbers and passwords, corrections, commands, emoji, 600 characters,
nothing at all), sends photos, clicks every menu key (and one of an older menu), follows and unfollows,
sends voice and locations; now and then staff complete one of its tickets, or the user comes back after a
pause.  After every step:

- the webhook answers 200, and every message the user sent gets a reply they can see;
- 取消 from anywhere leaves the user idle, with no form kept;
- a menu click on a read-only screen (a step declaring ``read_only``) never asks 「要离开吗」;
- 帮助 always answers;
- nothing is logged at ERROR;
- a ticket or a complaint appears only with the reply that confirms it, one at a time;
- the user's dialog state in Redis stays under STATE_LIMIT_BYTES.

`make test` runs a fixed, small set of walks (the "ci" profile, derandomized); `make fuzz` runs many more
(REPAIRBOT_HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator

import pytest
import responses
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from core.actions import move_ticket
from core.services import Services
from devtools.chat import Answer
from models.people import bind, find_person
from tests.support import conversation as conv
from tests.support.chat import wechat_user
from tests.support.people import make_staff
from tests.support.tickets import MOVED_BY, make_ticket

settings.register_profile(
    "ci", max_examples=15, stateful_step_count=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("REPAIRBOT_FUZZ_EXAMPLES", "400")), stateful_step_count=60,
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
PROFILE = os.environ.get("REPAIRBOT_HYPOTHESIS_PROFILE", "ci")

WORKER = "随机师傅"
# From a status, the next staff move on the way to 维修完成.
TOWARDS_COMPLETED = {"submitted": "accepted", "accepted": "assigned", "assigned": "in_progress",
                     "on_hold": "in_progress", "in_progress": "completed"}
PAUSE_S = 25 * 60  # longer than the 20 minutes after which the user is asked whether to go on

_openids = itertools.count(1)
# What the walks reached (dialog steps, filings, ratings, state sizes): printed after a `make fuzz` run.
REACHED: collections.Counter[str] = collections.Counter()


class ErrorRecords(logging.Handler):
    """Every record of the process (the server's threads too) at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def conversation_machine(services: Services, server: str, errors: ErrorRecords) -> type[RuleBasedStateMachine]:
    """The state machine, bound to the one app served for every example."""

    class Conversation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.openid = f"o-fuzz-{os.getpid()}-{next(_openids)}"
            self.user = wechat_user(server, self.openid)
            self.tickets = 0
            self.consults = 0
            self.categories: set[str] = set()
            # Wrong passwords of earlier walks must not lock the roster's cards for this one.
            for key in services.redis.scan_iter("bindfail:card:*"):
                services.redis.delete(key)
            del errors.records[:]

        # -- how the walk begins ----------------------------------------------------------------

        @initialize(bound=st.sampled_from((None, "20260001", "20260002", "20260003")))
        def begin(self, bound: str | None) -> None:
            """Some users are bound already (binding through the chat is one of the rules' words too)."""
            if bound is not None:
                with services.db.session() as s:
                    person = find_person(s, bound)
                    assert person is not None
                    bind(s, self.openid, person)

        # -- what the user does -----------------------------------------------------------------

        def _sent(self, answer: Answer, said: str, before: dict | None, *, must_reply: bool = True) -> Answer:
            assert answer.status == 200, f"{said}: HTTP {answer.status} {answer.body[:200]}"
            REACHED[f"a message at {_brief(before).split(' ')[0]}"] += 1
            if must_reply:
                assert conv.replied(answer), f"{said}: empty reply (state before: {_brief(before)})"
            tickets, consults = conv.counts(services, self.openid)
            if _brief(before) == "repair/confirm":
                REACHED[f"at the summary, {said} answered {answer.text[:12]!r}"] += 1
            assert tickets - self.tickets in (0, 1), f"{said}: {tickets - self.tickets} tickets filed at once"
            if tickets > self.tickets:
                assert conv.FILED_TICKET in answer.text, \
                    f"{said}: a ticket was filed, but the reply was {answer.text!r}"
            assert consults - self.consults in (0, 1), f"{said}: {consults - self.consults} complaints filed"
            if conv.FILED_TICKET in answer.text:
                assert tickets > self.tickets, f"{said}: the reply says 报修成功, but no ticket was filed"
            if consults > self.consults:
                assert conv.FILED_CONSULT in answer.text, \
                    f"{said}: a complaint was filed, but the reply was {answer.text!r}"
            if tickets > self.tickets or consults > self.consults:
                REACHED["filed a ticket" if tickets > self.tickets else "filed a complaint"] += 1
            if "谢谢您的评价" in answer.text:
                REACHED["rated a ticket"] += 1
            self.tickets, self.consults = tickets, consults
            return answer

        @rule(text=st.sampled_from(conv.VOCABULARY))
        def say(self, text: str) -> None:
            before = conv.state(services, self.openid)
            answer = self._sent(self.user.text(text), f"text {text[:40]!r}", before)
            if text == "取消":
                after = conv.state(services, self.openid)
                assert after is None or not after.get("flow"), \
                    f"取消 left a dialog (before: {_brief(before)}; after: {_brief(after)}; reply {answer.text!r})"
                if before and before.get("flow"):
                    assert conv.CANCELLED in answer.text, f"取消 in {_brief(before)} answered {answer.text!r}"
            if text == "帮助":
                assert answer.text.strip(), f"帮助 in {_brief(before)} got no answer"

        @rule(text=st.sampled_from(conv.GLOBAL))
        def say_a_global_word(self, text: str) -> None:
            """The global words often, wherever the walk is (the vocabulary has them too, but rarely)."""
            self.say(text)

        @rule(which=st.integers(min_value=0, max_value=8))
        def do_as_asked(self, which: int) -> None:
            """Do what the bot just asked: a photo when it wants one, one of the numbers it offers, else an
            answer a form may want (so the walks get deep into the forms, as well as off their paths)."""
            last = self.user.last_reply
            numbers = conv.offered(last)
            if "照片" in last and ("拍" in last or "发" in last) and not numbers:
                self.photo(None)
            elif numbers:
                self.say(numbers[which % len(numbers)])
            else:
                answers = (*conv.FORM_WORDS, *conv.REPORTS, *conv.COMPLAINTS)
                self.say(answers[(which * 7 + len(last)) % len(answers)])

        @rule(key=st.sampled_from(conv.MENU_KEYS))
        def click(self, key: str) -> None:
            before = conv.state(services, self.openid)
            answer = self._sent(self.user.click(key), f"click {key}", before)
            step = conv.current_step(before)
            if getattr(step, "read_only", False):  # active once dialogs.engine.Step declares read-only steps
                assert conv.LEAVE_QUESTION not in answer.text, \
                    f"click {key} on the read-only {_brief(before)} asked: {answer.text!r}"

        @rule(media=st.sampled_from(("MEDIA-A", "MEDIA-B", None)))
        def photo(self, media: str | None) -> None:
            before = conv.state(services, self.openid)
            self._sent(self.user.image(media_id=media), "image", before)

        @rule()
        def voice(self) -> None:
            before = conv.state(services, self.openid)
            self._sent(self.user.voice(), "voice", before)

        @rule()
        def send_location(self) -> None:
            before = conv.state(services, self.openid)
            self._sent(conv.location(self.user), "location", before)

        @rule()
        def location_report(self) -> None:
            """WeChat's own position report: not something the user said, so no reply is owed."""
            before = conv.state(services, self.openid)
            self._sent(conv.location_event(self.user), "LOCATION event", before, must_reply=False)

        @rule()
        def follow(self) -> None:
            before = conv.state(services, self.openid)
            self._sent(self.user.event("subscribe"), "subscribe", before)

        @rule()
        def unfollow(self) -> None:
            """Unfollowing is answered with nothing (the user cannot see it) and ends any dialog."""
            before = conv.state(services, self.openid)
            self._sent(self.user.event("unsubscribe"), "unsubscribe", before, must_reply=False)
            after = conv.state(services, self.openid)
            assert after is None or not after.get("flow"), f"unsubscribe left {_brief(after)}"

        @rule()
        def come_back_later(self) -> None:
            """The user leaves the chat for longer than a pause: the stored state was last touched 25 min ago."""
            stored = conv.state(services, self.openid)
            if stored and stored.get("flow"):
                stored["updated"] = float(stored.get("updated") or time.time()) - PAUSE_S
                key = f"dlg:{self.openid}"
                ttl = services.redis.ttl(key)
                services.redis.set(key, json.dumps(stored, ensure_ascii=False), ex=ttl if ttl > 0 else None)

        # -- what staff do meanwhile --------------------------------------------------------------

        @rule()
        def staff_move_towards_completed(self) -> None:
            """Staff move the user's newest open ticket one step on towards 维修完成, the real way."""
            tickets = conv.open_tickets(services, self.openid)
            if not tickets:
                return
            no, status, category = tickets[0]
            to = TOWARDS_COMPLETED[status]
            worker = None
            if to == "assigned":
                if category not in self.categories:
                    self.categories.add(category)
                    make_staff(services, WORKER, "worker", categories=sorted(self.categories),
                               phone="13900000008")
                worker = WORKER
            move_ticket(services, no, to, by=MOVED_BY, worker=worker, note="换了零件" if to == "completed" else None)

        @rule()
        def staff_completed_an_earlier_ticket(self) -> None:
            """A ticket of the user's that staff have just completed (filed before this walk began)."""
            if self.tickets < 3:
                make_ticket(services, self.openid, moved_to="completed")
                self.tickets += 1

        # -- after every step -------------------------------------------------------------------------

        @invariant()
        def nothing_logged_at_error(self) -> None:
            if errors.records:
                first = errors.records[0]
                text = first.getMessage()
                if first.exc_info:
                    text += "\n" + logging.Formatter().formatException(first.exc_info)
                raise AssertionError(f"logged at {first.levelname} by {first.name}: {text}")

        @invariant()
        def state_stays_small(self) -> None:
            raw = conv.raw_state(services, self.openid)
            size = len(raw) if raw else 0
            REACHED[f"a dialog state of {size // 1024} KB"] += 1
            assert size < conv.STATE_LIMIT_BYTES, \
                f"the dialog state is {size} bytes: {_brief(json.loads(raw or b'{}'))}"

    return Conversation


def _brief(stored: dict | None) -> str:
    if not stored or not stored.get("flow"):
        return "idle"
    pending = stored.get("pending")
    return f"{stored['flow']}/{stored.get('step')}" + (f" (asking {pending.get('kind')})" if pending else "")


def test_random_conversations_keep_every_promise(services: Services, server: str, errors: ErrorRecords,
                                                 wechat_api: responses.RequestsMock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Random walks from idle through every dialog keep the invariants above after every step."""
    # The signing client's nonces come from `random`, which hypothesis seeds the same for every example:
    # two messages signed in one second would share a nonce, and the webhook rightly refuses the second.
    monkeypatch.setattr("devtools.chat.new_nonce", lambda: secrets.token_urlsafe(8))
    machine = conversation_machine(services, server, errors)
    try:
        run_state_machine_as_test(machine, settings=settings.get_profile(PROFILE))
    finally:
        if PROFILE != "ci":
            print("\nreached:\n" + "\n".join(f"{n:7d}  {what}" for what, n in sorted(REACHED.items())))

