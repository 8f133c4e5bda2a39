"""`repairbot roster load`: the people directory, its refusals, and ID-card digits that are never kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from sqlalchemy import select, text

from core.services import Services
from devtools.chat import WeChatUser
from models.people import Person, find_person, load_roster

HEADER = "card_no,name,id_last6,role,phone\n"
Load = Callable[[str | bytes], Result]


def person(services: Services, card_no: str) -> Person | None:
    with services.db.session() as s:
        return find_person(s, card_no)


def test_rows_added_updated_and_refused(roster_load: Load, services: Services) -> None:
    """New cards are added, known cards updated, bad rows refused with their line and reason."""
    result = roster_load(HEADER + "\n".join([
        "20260101,赵六,45678X,teacher,13900000001",  # line 2: new
        "20260001,张三丰,654321,staff,13900000002",  # line 3: known card, new details
        "2026010,钱七,111111,student,",  # line 4: card too short
        "20260102,,222222,student,",  # line 5: no name
        "20260103,孙八,33333,student,",  # line 6: five ID characters
        "20260104,李九,44444Y,student,",  # line 7: a letter that is not X
        "20260105,周十,555555,professor,",  # line 8: unknown role
        "20260106,吴一,666666,student,12345",  # line 9: not a mobile number
        "20260107,郑二,777777,,",  # line 10: role left empty means student
    ]) + "\n")
    assert result.exit_code == 0, result.output
    assert "roster loaded: 2 added, 1 updated, 6 refused" in result.stdout
    refused = result.stderr.splitlines()
    assert refused == [
        "  refused line 4: card_no must be 8 digits",
        "  refused line 5: name is empty",
        "  refused line 6: id_last6 must be the last six characters of an ID card",
        "  refused line 7: id_last6 must be the last six characters of an ID card",
        "  refused line 8: role must be one of student, teacher, staff",
        "  refused line 9: phone is not a mobile number",
    ]
    zhao = person(services, "20260101")
    assert zhao is not None and (zhao.name, zhao.role, zhao.phone) == ("赵六", "teacher", "13900000001")
    zhang = person(services, "20260001")
    assert zhang is not None and (zhang.name, zhang.role, zhang.phone) == ("张三丰", "staff", "13900000002")
    pepper = services.config.id_pepper
    assert zhang.check_password("654321", pepper=pepper) and not zhang.check_password("12345X", pepper=pepper)
    zheng = person(services, "20260107")
    assert zheng is not None and zheng.role == "student" and zheng.phone is None
    for card in ("20260102", "20260103", "20260104", "20260105", "20260106"):
        assert person(services, card) is None


def test_refusals_never_echo_id_digits(roster_load: Load) -> None:
    """Whatever is wrong with a row, the ID characters in it are not printed back."""
    rows = ["2026011,甲,918273,student,", "20260111,,827364,student,", "20260112,丙,73645,student,",
            "20260113,丁,6453729,student,", "20260114,戊,54637Z,student,", "20260115,己,463728,boss,",
            "20260116,庚,372819,student,999"]
    result = roster_load(HEADER + "\n".join(rows) + "\n")
    assert result.exit_code == 0
    assert "7 refused" in result.stdout
    for secret in ("918273", "827364", "73645", "6453729", "54637Z", "463728", "372819"):
        assert secret not in result.output


def test_stored_secret_is_a_salted_hash(roster_load: Load, services: Services) -> None:
    """The people table keeps no ID digits anywhere, only a slow salted hash that still checks."""
    result = roster_load(HEADER + "20260121,王一,908172,student,\n20260122,王二,908172,student,\n")
    assert result.exit_code == 0, result.output
    with services.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM people WHERE card_no IN ('20260121', '20260122')")).all()
    assert len(rows) == 2
    for row in rows:
        for value in row:
            assert "908172" not in str(value)
    hashes = [str(row._mapping["secret_hash"]) for row in rows]
    assert all(h.startswith("hmac-sha256$pbkdf2:sha256:") for h in hashes)
    assert hashes[0] != hashes[1]  # salted: the same six characters hash differently
    one = person(services, "20260121")
    pepper = services.config.id_pepper
    assert one is not None and one.check_password("908172", pepper=pepper)
    assert not one.check_password("908173", pepper=pepper)


def test_lower_case_x_is_accepted_both_ways(roster_load: Load, services: Services) -> None:
    """An ID ending in x (as typed in a spreadsheet) is accepted, and either case works as the password."""
    result = roster_load(HEADER + "20260131,陈一,10293x,student,\n")
    assert result.exit_code == 0 and "1 added" in result.stdout and "0 refused" in result.stdout
    chen = person(services, "20260131")
    assert chen is not None
    pepper = services.config.id_pepper
    assert all(chen.check_password(typed, pepper=pepper) for typed in ("10293X", "10293x", " 10293x "))
    assert not chen.check_password("102930", pepper=pepper)


def test_excel_csv_with_bom_and_spaces_loads(roster_load: Load, services: Services) -> None:
    """A 'CSV UTF-8' file from Excel (byte-order mark, padded cells, CRLF) loads like a clean one."""
    data = "\ufeffcard_no, name, id_last6, role, phone\r\n 20260141 , 林一 , 564738 , teacher , 13700000001 \r\n"
    result = roster_load(data.encode("utf-8"))
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stdout
    lin = person(services, "20260141")
    assert lin is not None and (lin.name, lin.role, lin.phone) == ("林一", "teacher", "13700000001")


def test_loading_twice_updates_and_does_not_duplicate(roster_load: Load, services: Services) -> None:
    """Loading the same file again updates every row and adds no one."""
    data = HEADER + "20260151,何一,112233,student,\n20260152,何二,223344,student,\n"
    assert "2 added, 0 updated" in roster_load(data).stdout
    assert "0 added, 2 updated" in roster_load(data).stdout
    with services.db.session() as s:
        assert len(s.scalars(select(Person).where(Person.card_no.in_(["20260151", "20260152"]))).all()) == 2


@pytest.mark.parametrize("data", [
    "card,name,id,role,phone\n20260161,许一,123456,student,\n",
    "",
    "card_no,name,role,phone\n20260161,许一,student,\n",
], ids=["wrong-header", "empty-file", "missing-column"])
def test_a_file_that_is_not_a_roster_fails_in_one_line(roster_load: Load, services: Services, data: str) -> None:
    """A file without the roster header is refused as a whole, in one line, and nothing is loaded."""
    result = roster_load(data)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "card_no,name,id_last6,role,phone" in lines[0]
    assert person(services, "20260161") is None


def test_a_roster_saved_as_gbk_fails_in_one_line(roster_load: Load, services: Services) -> None:
    """A CSV saved by Excel in GBK (the Chinese Windows default) gets a one-line error, not a traceback."""
    result = roster_load((HEADER + "20260171,冯一,121212,student,\n").encode("gbk"))
    assert result.exit_code != 0
    assert type(result.exception).__name__ in ("NoneType", "SystemExit")  # a crash would be a traceback
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert person(services, "20260171") is None


def test_load_roster_reports_refusals_without_digits(services: Services) -> None:
    """The model function itself: the report lists line numbers and reasons, nothing from the ID column."""
    with services.db.session() as s:
        report = load_roster(s, HEADER + "20260181,褚一,8X8X8X,student,\n20260182,褚二,192837,student,\n",
                             pepper=services.config.id_pepper)
    assert (report.added, report.updated) == (1, 0)
    assert report.rejected == ["line 2: id_last6 must be the last six characters of an ID card"]
    assert "8X8X8X" not in " ".join(report.rejected)


def test_a_leaked_database_alone_cannot_check_a_password(services: Services) -> None:
    """The stored hash is of the ID digits keyed with a pepper kept outside the database: the slow hash of
    the digits themselves — what an attacker with only the database would try a million of — never matches."""
    from werkzeug.security import check_password_hash

    from models.people import PEPPERED, normalize_password

    zhang = person(services, "20260001")
    assert zhang is not None and zhang.secret_hash.startswith(PEPPERED)
    assert not check_password_hash(zhang.secret_hash.removeprefix(PEPPERED), normalize_password("12345X"))
    assert zhang.check_password("12345X", pepper=services.config.id_pepper)
    assert not zhang.check_password("12345X", pepper="another-pepper")
    assert services.config.id_pepper not in repr(services.config)


def test_an_unpeppered_hash_of_an_older_version_still_binds_and_is_upgraded(
        services: Services, wechat: Callable[..., WeChatUser]) -> None:
    from werkzeug.security import generate_password_hash

    from models.people import HASH_METHOD, PEPPERED

    with services.db.session() as s:
        old = find_person(s, "20260002")
        assert old is not None
        old.secret_hash = generate_password_hash("234567", method=HASH_METHOD)  # as stored before the pepper
    user = wechat("o-old-hash")
    user.text("绑定")
    user.text("20260002")
    assert "绑定成功" in user.text("234567").text
    upgraded = person(services, "20260002")
    assert upgraded is not None and upgraded.secret_hash.startswith(PEPPERED)
