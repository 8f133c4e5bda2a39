"""Pushes that fit the school's own templates: one formatter per WeChat keyword kind (never a value WeChat
refuses), the mapping file and its checks at load, pushes rendered through a mapping of library-style keyword
ids, `repairbot templates list/check` against the loopback fake, and a refused template explained to staff."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.cli import main
from core.actions import move_ticket, staff_reply
from core.config import Config
from core.services import Services, use_services
from core.templates import (
    DEFAULT_FILE,
    FIELDS,
    FORMATTERS,
    SAMPLE_FIELDS,
    check_templates,
    format_value,
    keyword_kind,
    load_templates,
    parse_templates,
    render_payload,
    template_keywords,
    valid,
)
from devtools.demo import DEMO_TEMPLATES
from devtools.fakewechat import DEMO_ACCOUNT, FakeServer, FakeWeChat, serve_in_thread
from models.errors import ConfigError
from models.pushes import Push
from tests.support.console import Console, text
from tests.support.people import CONSOLE_STAFF, seed_staff
from tests.support.tickets import make_ticket
from tests.support.wechat_api import CUSTOM, SEND, answers, bodies, sent_templates, user_wrote

STAFF = "staff:王调度"
EMOJI = "😀👍🔧☀️✅"

# -- one formatter per keyword kind ------------------------------------------------------------------------

EXAMPLES = [
    # thing: 20 characters, cut with a mark; emoji, control characters and line breaks go
    ("thing3", "配件需要从厂家订购，预计下周三到货后再上门维修", "配件需要从厂家订购，预计下周三到货后再…"),
    ("thing3", "水龙头坏了😭😭 ✅", "水龙头坏了"),
    ("thing3", "第一行\n第二行\t\x07第三行", "第一行 第二行 第三行"),
    ("thing3", "", "无"),
    ("thing3", "x" * 21, "x" * 19 + "…"),
    ("thing3", "x" * 20, "x" * 20),
    # phrase: 5 Chinese characters only — ASCII goes, digits become numerals
    ("phrase2", "维修完成", "维修完成"),
    ("phrase2", "维修单已经受理了", "维修单已经"),
    ("phrase2", "OK了", "了"),
    ("phrase2", "Done!", "已更新"),
    ("phrase2", "第2次返修", "第二次返修"),
    ("phrase2", "第２次👍", "第二次"),
    ("phrase2", "维修 中", "维修中"),
    # character_string: 32 of letters, digits and symbols — full-width forms folded, the rest dropped
    ("character_string1", "Ｒ２０２６１２０１－０００１", "R20261201-0001"),
    ("character_string1", "R20261201-0001 二号楼", "R20261201-0001"),
    ("character_string1", "A" * 40, "A" * 32),
    ("character_string1", "工单", "-"),
    ("character_string1", f"N12{EMOJI}", "N12"),
    # time and date
    ("time4", "2026-12-01 14:05", "2026-12-01 14:05"),
    ("time4", datetime(2026, 12, 1, 9, 3), "2026-12-01 09:03"),
    ("time4", "２０２６-１２-０１ １４:０５", "2026-12-01 14:05"),
    ("date4", "2026-12-03 08:00", "2026年12月3日"),
    # number, amount
    ("number5", "共３５.5元", "35.5"),
    ("number5", "abc", "0"),
    ("number5", "1" * 40, "1" * 32),
    ("amount6", "12.5", "¥12.5"),
    ("amount6", "$3", "$3"),
    ("amount6", "¥123456789012345", "¥1234567890"),
    # name: 10 Chinese characters (no digits), or 20 letters
    ("name7", "张师傅 13700000002", "张师傅"),
    ("name7", "王😀小明", "王小明"),
    ("name7", "欧阳娜娜欧阳娜娜欧阳娜娜", "欧阳娜娜欧阳娜娜欧阳"),
    ("name7", "Alexander Hamilton-Smith Jr", "Alexander Hamilton-S"),
    ("name7", "", "无"),
    # phone_number: 17 digits and symbols
    ("phone_number8", "+86 138-0013-8000", "+86138-0013-8000"),
    ("phone_number8", "１３８００１３８０００", "13800138000"),
    ("phone_number8", "电话：0772-1234567 转 123456789", "0772-123456712345"),
    # car_number: 8; Chinese only first and last
    ("car_number9", "桂B·12345", "桂B12345"),
    ("car_number9", "桂b12345学", "桂B12345学"),
    ("car_number9", "桂B1234567", "桂B123456"),
    # letter, symbol, and the older templates' free keywords
    ("letter10", "abc123DEF", "abcDEF"),
    ("symbol11", "a+b-c*d/e=f", "+-*/="),
    ("keyword1", "长" * 250, "长" * 199 + "…"),
    ("remark", f"谢谢{EMOJI}", "谢谢"),
]


@pytest.mark.parametrize("keyword, raw, expected", EXAMPLES)
def test_each_kind_is_cut_and_reshaped_to_what_wechat_takes(keyword: str, raw: object, expected: str) -> None:
    value = format_value(keyword, raw)
    assert value == expected
    assert valid(keyword, value), (keyword, value)


def test_every_kind_has_examples_and_ids_name_their_kind() -> None:
    assert {keyword_kind(k) for k, _, _ in EXAMPLES} == set(FORMATTERS)
    assert keyword_kind("character_string12") == "character_string"
    assert keyword_kind("phone_number4") == "phone_number"
    assert keyword_kind("first") == "keyword"
    assert keyword_kind("thing") is None and keyword_kind("colour3") is None and keyword_kind("thing3x") is None


def test_what_wechat_refuses_is_not_valid() -> None:
    refused = [("thing3", "x" * 21), ("thing3", "水龙头😭"), ("phrase2", "OK"), ("phrase2", "维修单已经受理"),
               ("character_string1", "Ｒ１"), ("character_string1", "R1 号"), ("character_string1", "A" * 33),
               ("time4", "14点05分"), ("number5", "1.2.3"), ("amount6", "12"), ("name7", "张3"),
               ("phone_number8", "1" * 18), ("car_number9", "桂桂B12345"), ("thing3", "")]
    assert [(k, v) for k, v in refused if valid(k, v)] == []


TEXT = st.text(st.characters(codec="utf-8"), max_size=80) | st.text(
    st.sampled_from(list("ＲＡ０１２３４５６７８９－＋ 年月日水龙头维修😀👍\n\t\u200b\ufe0f🔧☀A1.-+¥$元")), max_size=60)
TEXT_KINDS = sorted(set(FORMATTERS) - {"time", "date"})


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(TEXT_KINDS), raw=TEXT)
def test_no_text_makes_a_value_wechat_refuses(kind: str, raw: str) -> None:
    keyword = "remark" if kind == "keyword" else f"{kind}3"
    value = format_value(keyword, raw)
    assert valid(keyword, value), (keyword, raw, value)
    assert format_value(keyword, value) == value or kind in ("thing", "keyword")  # formatting settles at once


@settings(max_examples=100, deadline=None)
@given(at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
       kind=st.sampled_from(["time", "date"]))
def test_every_time_makes_a_valid_time_and_date(at: datetime, kind: str) -> None:
    for raw in (at, at.strftime("%Y-%m-%d %H:%M")):
        assert valid(f"{kind}4", format_value(f"{kind}4", raw))


# -- the mapping ---------------------------------------------------------------------------------------------

def fields(kind: str, **changes: str) -> dict[str, object]:
    return {"template": kind, "fields": {**SAMPLE_FIELDS[kind], **changes}}


def test_the_default_mapping_fills_the_keywords_it_always_filled() -> None:
    cfg = Config.from_env({"WECHAT_TEMPLATE_TICKET": "T1", "WECHAT_TEMPLATE_REPLY": "T2"}, dotenv=None)
    assert cfg.templates_file == DEFAULT_FILE
    assert {k: cfg.template_id(k) for k in FIELDS} == {
        "ticket_status": "T1", "worker_job": "T1", "urgent": "T1", "ticket_reply": "T2", "complaint_reply": "T2",
        "sla_overdue": "T1", "notice": "T2"}
    assert cfg.override(template_ticket="").template_id("ticket_status") == ""  # the setting, read when asked
    data = render_payload(cfg.templates, fields("ticket_status", note="换了阀芯"))
    assert data == {"character_string1": {"value": "R20261201-0001"}, "phrase2": {"value": "指派维修"},
                    "thing3": {"value": "换了阀芯"}, "time4": {"value": "2026-12-01 14:05"}}
    assert list(render_payload(cfg.templates, fields("notice"))) == ["character_string1", "thing2", "time3"]
    assert list(render_payload(cfg.templates, fields("complaint_reply"))) == ["character_string1", "thing2", "time3"]
    # a row written before the mapping (keyword ids already) goes as it is
    old = {"character_string1": {"value": "R1"}, "thing3": {"value": "x"}}
    assert render_payload(cfg.templates, old) == old


def test_the_demo_mapping_is_library_style() -> None:
    templates = load_templates(DEMO_TEMPLATES)
    data = templates["ticket_status"].render(SAMPLE_FIELDS["ticket_status"])
    assert list(data) == ["character_string2", "thing7", "thing3", "phrase5", "thing9", "time6"]
    assert templates["notice"].render(SAMPLE_FIELDS["notice"])["date4"] == {"value": "2026年12月3日"}
    assert templates.template_id("worker_job", Config()) == "demo-worker-template"


GOOD = DEFAULT_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("change, said", [
    (lambda t: t + "\nemergency:\n  template: X\n", "unknown push kind(s) emergency"),
    (lambda t: t.replace("phrase2: status", "phrase_2: status", 1), "ticket_status.keywords.phrase_2: not a WeChat"),
    (lambda t: t.replace("thing3: note", "thing3: remarks", 1), "ticket_status pushes have no field 'remarks'"),
    (lambda t: t.replace("thing2: notice_title", "thing2: reply"), "notice pushes have no field 'reply'"),
    (lambda t: t.replace("time4: time", "time4: note", 1), "a time keyword needs a time field (time, created)"),
    (lambda t: t.replace("time3: time", "date3: notice_title"), "a date keyword needs a time field (time)"),
    (lambda t: t.replace("template: ${WECHAT_TEMPLATE_TICKET}", "template: ${HOME}", 1),
     "only settings named WECHAT_TEMPLATE_"),
    (lambda t: t.replace("  keywords:\n    character_string1: ticket_no\n    phrase2: status\n    thing3: note\n"
                         "    time4: time\n", "", 1), "ticket_status: a template needs its keywords"),
    (lambda t: t.replace("  template: ${WECHAT_TEMPLATE_REPLY}\n", "  template: [1]\n", 1), "expected a template id"),
    (lambda t: t.replace("notice:", "notice:\n  colour: red", 1), "notice: unknown key(s) colour"),
    (lambda t: "- a\n- b\n", "expected a mapping of push kinds"),
    (lambda t: "ticket_status: [\n", "not valid YAML"),
])
def test_a_wrong_mapping_is_refused_at_load_saying_what_and_where(change: Callable[[str], str], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_templates(change(GOOD), "my.yaml", {})
    assert str(caught.value).startswith("my.yaml: ") and said in str(caught.value)


def test_a_kind_left_out_of_the_file_goes_as_text_and_the_check_says_so() -> None:
    """A mapping written before a kind existed still loads (an upgrade must not stop the service)."""
    templates = parse_templates(GOOD.split("notice:")[0], "old.yaml", {})
    cfg = Config(template_reply="T2")
    assert templates.template_id("notice", cfg) == "" and templates.template_id("ticket_reply", cfg) == "T2"
    report = check_templates(templates, cfg, [])
    assert "notice: not in the mapping file; sent as a customer-service text only" in report.problems[-1]


def test_an_emergency_left_out_borrows_the_worker_job_entry() -> None:
    """A mapping written before emergencies existed sends them with its worker-job template."""
    start, end = GOOD.index("urgent:"), GOOD.index("ticket_reply:")
    templates = parse_templates(GOOD[:start] + GOOD[end:], "old.yaml", {})
    cfg = Config(template_ticket="T1")
    assert templates.template_id("urgent", cfg) == "T1"
    assert templates["urgent"].keywords == templates["worker_job"].keywords
    data = templates["urgent"].render(SAMPLE_FIELDS["urgent"])
    assert data["phrase2"] == {"value": "紧急报修"} and data["thing3"] == {"value": "第二教学楼 电梯困人，3楼和4楼之间"}
    content = "{{character_string1.DATA}}{{phrase2.DATA}}{{thing3.DATA}}{{time4.DATA}}"
    report = check_templates(templates, cfg, [{"template_id": "T1", "title": "t", "content": content}])
    assert report.ok and "urgent: not in the mapping file — uses worker_job's entry (add it to choose)" in report.lines


def test_a_setting_and_fixed_text_in_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(GOOD.replace("template: ${WECHAT_TEMPLATE_TICKET}", "template: ${WECHAT_TEMPLATE_REPAIR}", 1)
                    .replace("thing3: note", "thing3: note\n    thing8: =宿舍报修", 1), encoding="utf-8")
    cfg = Config.from_env({"REPAIRBOT_TEMPLATES_FILE": str(path), "WECHAT_TEMPLATE_REPAIR": "TPL-R"}, dotenv=None)
    assert cfg.template_id("ticket_status") == "TPL-R"
    assert cfg.templates["ticket_status"].render(SAMPLE_FIELDS["ticket_status"])["thing8"] == {"value": "宿舍报修"}


def test_a_missing_or_broken_mapping_file_stops_the_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"REPAIRBOT_TEMPLATES_FILE: cannot read .*nowhere\.yaml"):
        Config.from_env({"REPAIRBOT_TEMPLATES_FILE": str(tmp_path / "nowhere.yaml")}, dotenv=None)
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("thing3: note", "thing3: nothing", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: ticket_status\.keywords\.thing3"):
        Config.from_env({"REPAIRBOT_TEMPLATES_FILE": str(bad)}, dotenv=None)


# -- pushes sent through a mapping of the account's own keyword ids -------------------------------------------

@pytest.fixture
def demo_mapped(services: Services) -> Iterator[Services]:
    """The services (the worker's too) with the demo's library-style mapping."""
    cfg = services.config.override(templates=load_templates(DEMO_TEMPLATES), templates_file=DEMO_TEMPLATES,
                                   template_ticket="demo-ticket-template", template_reply="demo-reply-template")
    mapped = Services(cfg, redis_conn=services.redis)
    use_services(mapped)
    try:
        yield mapped
    finally:
        use_services(services)
        mapped.close()


def test_pushes_fill_the_account_keywords(demo_mapped: Services, run_jobs: Callable[[], int],
                                          wechat_api: responses.RequestsMock) -> None:
    no = make_ticket(demo_mapped, "o-map-1")
    move_ticket(demo_mapped, no, "accepted", by=STAFF)
    move_ticket(demo_mapped, no, "on_hold", by=STAFF, note="配件需要从厂家订购，预计下周三到货后再上门维修🔧")
    staff_reply(demo_mapped, no, "师傅明天上午到", by=STAFF)
    run_jobs()
    sent = sent_templates(wechat_api)
    assert [m["template_id"] for m in sent] == ["demo-ticket-template"] * 2 + ["demo-reply-template"]
    held = sent[1]["data"]
    assert list(held) == ["character_string2", "thing7", "thing3", "phrase5", "thing9", "time6"]
    assert held["character_string2"]["value"] == no and held["phrase5"]["value"] == "暂缓维修"
    assert held["thing9"]["value"] == "配件需要从厂家订购，预计下周三到货后再…"
    assert all(valid(k, v["value"]) for m in sent for k, v in m["data"].items())
    assert sent[2]["data"]["thing3"]["value"] == "师傅明天上午到"


def test_the_demo_pushes_every_kind_through_the_fake_without_a_refusal(
        services: Services, run_jobs: Callable[[], int], fake: tuple[FakeWeChat, FakeServer]) -> None:
    """The demo's setup: its mapping, the loopback fake (which refuses what WeChat refuses) — every template
    push of a ticket's life goes out as a template, none falls back to a text."""
    wechat, server = fake
    cfg = services.config.override(templates=load_templates(DEMO_TEMPLATES), templates_file=DEMO_TEMPLATES,
                                   template_ticket="demo-ticket-template", template_reply="demo-reply-template",
                                   wechat_api_base_url=f"http://127.0.0.1:{server.port}/cgi-bin/")
    demo = Services(cfg, redis_conn=services.redis)
    use_services(demo)
    try:
        seed_staff(demo, CONSOLE_STAFF)
        no = make_ticket(demo, "o-demo-1")
        move_ticket(demo, no, "accepted", by=STAFF)
        move_ticket(demo, no, "assigned", by=STAFF, worker="李师傅")
        move_ticket(demo, no, "on_hold", by=STAFF, note="等配件😓，预计下周三到货后再上门维修（约 3 天）")
        staff_reply(demo, no, "师傅明天上午到，请留人开门", by=STAFF)
        run_jobs()
    finally:
        use_services(services)
        demo.close()
    sent = [m for m in wechat.sent if m["kind"] == "template"]
    assert {m["template_id"] for m in sent} == {"demo-ticket-template", "demo-reply-template"}
    assert len(sent) == 4 and not [m for m in wechat.sent if m["kind"] == "text"]
    with services.db.session() as s:
        assert {(p.status, p.channel) for p in s.scalars(select(Push))} == {("sent", "template")}


# -- `repairbot templates list` and `check` against the loopback fake ----------------------------------------

@pytest.fixture
def fake() -> Iterator[tuple[FakeWeChat, FakeServer]]:
    wechat = FakeWeChat()
    server = serve_in_thread(wechat)
    try:
        yield wechat, server
    finally:
        server.shutdown()
        server.server_close()


def run(args: list[str], server: FakeServer, tmp_path: Path, mapping: Path | None) -> tuple[int, str]:
    env = {"WECHAT_APPID": "wxcheck", "WECHAT_SECRET": "s", "REPAIRBOT_INSTANCE_PATH": str(tmp_path / "instance"),
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{server.port}/cgi-bin/",
           "WECHAT_TEMPLATE_TICKET": "demo-ticket-template", "WECHAT_TEMPLATE_REPLY": "demo-reply-template",
           "REPAIRBOT_TEMPLATES_FILE": str(mapping) if mapping else "", "REPAIRBOT_REDIS_URL": ""}
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_the_check_passes_on_the_demo_mapping(fake: tuple[FakeWeChat, FakeServer], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run(["templates", "check"], fake[1], tmp_path, DEMO_TEMPLATES)
    assert code == 0, out
    assert "ticket_status: template demo-ticket-template (from WECHAT_TEMPLATE_TICKET) 「报修进度通知」" in out
    assert "phrase5              ← status           处理进度: 指派维修" in out
    assert "thing9               ← note             处理说明: 张师傅 13700000002，今天下…" in out
    assert "date4                ← time             开始日期: 2026年12月3日" in out
    assert out.rstrip().endswith("every keyword is filled")
    code, out = run(["templates", "list"], fake[1], tmp_path, DEMO_TEMPLATES)
    assert code == 0 and "demo-worker-template  派单提醒  (教育/院校)" in out
    assert "phone_number4          联系电话" in out


def test_the_check_fails_on_a_mapping_that_does_not_fit(fake: tuple[FakeWeChat, FakeServer], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run(["templates", "check"], fake[1], tmp_path, None)  # the default mapping: other keyword ids
    assert code == 1
    assert "ticket_status: character_string1 is mapped but template demo-ticket-template has no such keyword" in out
    assert "ticket_status: keyword thing7 (报修地点) of template demo-ticket-template is left unfilled" in out
    assert "notice: template" not in out or "time3 is mapped" in out
    mapping = tmp_path / "m.yaml"
    mapping.write_text(DEMO_TEMPLATES.read_text(encoding="utf-8").replace("demo-notice-template", "gone-template"),
                       encoding="utf-8")
    code, out = run(["templates", "check"], fake[1], tmp_path, mapping)
    assert code == 1 and "notice: template gone-template is not on the account" in out


def test_check_reports_every_kind_of_mismatch() -> None:
    templates = parse_templates(GOOD.replace("${WECHAT_TEMPLATE_REPLY}", "\"\""), "m.yaml", {})
    account = [{"template_id": "T1", "title": "报修进度",
                "content": "{{first.DATA}}\n单号：{{character_string1.DATA}}\n进度：{{phrase2.DATA}}\n"
                           "时间：{{time4.DATA}}\n地点：{{thing5.DATA}}\n{{remark.DATA}}"}]
    report = check_templates(templates, Config().override(template_ticket="T1"), account)
    assert not report.ok
    assert sorted(report.problems) == sorted([
        "ticket_status: thing3 is mapped but template T1 has no such keyword",
        "ticket_status: keyword thing5 (地点) of template T1 is left unfilled",
        "worker_job: thing3 is mapped but template T1 has no such keyword",
        "worker_job: keyword thing5 (地点) of template T1 is left unfilled",
        "urgent: thing3 is mapped but template T1 has no such keyword",
        "urgent: keyword thing5 (地点) of template T1 is left unfilled",
        "sla_overdue: thing3 is mapped but template T1 has no such keyword",
        "sla_overdue: keyword thing5 (地点) of template T1 is left unfilled"])
    assert any(line.startswith("notice: no template") for line in report.lines)
    assert template_keywords(account[0]["content"])[:2] == [("first", ""), ("character_string1", "单号")]


def test_the_fake_refuses_what_wechat_refuses_naming_the_keyword(fake: tuple[FakeWeChat, FakeServer]) -> None:
    wechat, _ = fake
    token = json.loads(wechat.handle("GET", "/cgi-bin/token", b"")[2])["access_token"]

    def send(data: dict[str, object]) -> dict[str, object]:
        body = json.dumps({"touser": "o-1", "template_id": "demo-notice-template", "data": data}).encode()
        return dict(json.loads(wechat.handle("POST", f"/cgi-bin/message/template/send?access_token={token}", body)[2]))

    good = load_templates(DEMO_TEMPLATES)["notice"].render(SAMPLE_FIELDS["notice"])
    assert send(good)["errcode"] == 0
    assert send({**good, "thing2": {"value": "x" * 21}}) == {
        "errcode": 47003, "errmsg": "argument invalid! data.thing2.value invalid rid: fake"}
    assert send({**good, "thing9": {"value": "x"}})["errcode"] == 47003
    assert {t["template_id"] for t in DEMO_ACCOUNT} >= {
        load_templates(DEMO_TEMPLATES).template_id(k, Config(template_ticket="demo-ticket-template",
                                                              template_reply="demo-reply-template")) for k in FIELDS}


# -- a refused template: the reason on the row, in the console, and the text instead -------------------------

def test_a_refused_keyword_is_recorded_shown_to_staff_and_the_text_goes_instead(
        services: Services, app: object, run_jobs: Callable[[], int], wechat_api: responses.RequestsMock) -> None:
    seed_staff(services, CONSOLE_STAFF)
    answers(wechat_api, SEND, {"errcode": 47003, "errmsg": "argument invalid! data.thing3.value invalid rid: 1"})
    user_wrote(services.redis, "o-refused", ago_s=3600)
    no = make_ticket(services, "o-refused")
    move_ticket(services, no, "accepted", by=STAFF)
    silent = make_ticket(services, "o-refused-silent")
    move_ticket(services, silent, "accepted", by=STAFF)
    run_jobs()
    assert [b["touser"] for b in bodies(wechat_api, CUSTOM)] == ["o-refused"]
    with services.db.session() as s:
        rows = {p.openid: p for p in s.scalars(select(Push))}
        fell_back, failed = rows["o-refused"], rows["o-refused-silent"]
        assert (fell_back.status, fell_back.channel, fell_back.errcode) == ("sent", "custom", 47003)
        assert "data.thing3.value invalid rid: 1 [thing3 ← note]" in (fell_back.error or "")
        assert (failed.status, failed.errcode) == ("failed", 47003)
        assert failed.error == "argument invalid! data.thing3.value invalid rid: 1 [thing3 ← note]"
    page = text(Console.logged_in(app, "管理员").get("/console/pushes/failed"))  # type: ignore[arg-type]
    assert "<small>1 条，另有 1 条模板被拒后改用客服消息发出</small>" in page
    assert page.count("微信拒收模板字段 thing3（说明）的内容") == 2
    assert "已改用客服消息发出" in page and no in page and silent in page
    page = text(Console.logged_in(app, "管理员").get(f"/console/tickets/{silent}"))  # type: ignore[arg-type]
    assert "微信拒收模板字段 thing3（说明）的内容" in page


def test_plain_text_is_cleaned_the_quick_way_with_the_same_result() -> None:
    """`_clean` skips its look at each character for text of _PLAIN's characters: none of them is one it drops."""
    from core.templates import _PLAIN, _clean

    plain = [chr(c) for c in range(0x10000) if _PLAIN.fullmatch(chr(c))]
    assert len(plain) > 20000
    slow = [c for c in plain if _clean(f"a{c}\U0001f600b") != " ".join(f"a{c}b".split())]  # the emoji forces the loop
    assert slow == []
