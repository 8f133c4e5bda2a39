"""Redis holds only what can be rebuilt. Lose all of it (FLUSHALL on a server of its own; here FLUSHDB of the
test's database) with pushes and photo downloads still queued: the sweep finds every one of them in
PostgreSQL and queues it again, and a real RQ worker sends each push once and downloads each photo once."""

from __future__ import annotations

from collections.abc import Callable

import responses
from click.testing import Result
from sqlalchemy import select

from core.actions import move_ticket
from core.services import Services
from devtools.chat import WeChatUser
from models.pushes import Push
from models.tickets import TicketPhoto
from tests.support.chat import file_repair, say
from tests.support.jobs import queued_jobs
from tests.support.tickets import make_ticket
from tests.support.wechat_api import API, SEND, calls_to

MEDIA_GET = API + "media/get"


def statuses(services: Services, model: type[Push] | type[TicketPhoto]) -> list[str]:
    with services.db.session() as s:
        return sorted(s.scalars(select(model.status)))


def test_after_redis_is_lost_the_sweep_requeues_every_push_and_photo_and_each_goes_once(
        services: Services, wechat: Callable[..., WeChatUser], bound: Callable[..., None],
        wechat_api: responses.RequestsMock, cli: Callable[..., Result], run_jobs: Callable[[], int]) -> None:
    bound("o-lost-1")
    filed = [file_repair(wechat("o-lost-1")),  # through the webhook, with a photo
             make_ticket(services, "o-lost-2", media=("MEDIA-LOST-2",)), make_ticket(services, "o-lost-3")]
    for no in filed:
        move_ticket(services, no, "accepted", by="staff:王调度")
    pushes, photos = len(statuses(services, Push)), len(statuses(services, TicketPhoto))
    assert pushes >= 3 and photos == 2 and queued_jobs(services) >= pushes + 1

    services.redis.flushdb()
    assert queued_jobs(services) == 0

    swept = cli("sweep", "--older-than", "0")
    assert swept.exit_code == 0 and f"queued again: {pushes} pushes, {photos} photo downloads" in swept.output
    cli("sweep", "--older-than", "0")  # a second sweep (another worker's, say) queues nothing twice
    assert queued_jobs(services) == pushes + photos
    run_jobs()

    assert statuses(services, Push) == ["sent"] * pushes
    assert statuses(services, TicketPhoto) == ["saved"] * photos
    assert len(calls_to(wechat_api, SEND)) == pushes
    assert len(calls_to(wechat_api, MEDIA_GET)) == photos


def test_after_redis_is_lost_a_user_midway_starts_again_and_files(
        services: Services, wechat: Callable[..., WeChatUser], bound: Callable[..., None],
        wechat_api: responses.RequestsMock) -> None:
    """The unfinished dialog was in Redis: the user is met from the start, and nothing filed is touched."""
    bound("o-lost-mid")
    user = wechat("o-lost-mid")
    assert "维修类型" in say(user, "报修")
    services.redis.flushdb()
    assert file_repair(user)  # the whole dialog again, from its first step, to 报修成功
