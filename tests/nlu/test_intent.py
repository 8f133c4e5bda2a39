"""Intent from cue groups: complaints, queries and notices without their keywords, and why each was chosen."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dialogs.nlu.cli import run_parse
from dialogs.nlu.explain import explain
from dialogs.nlu.intent import CueGroup, Evidence, IntentModel
from dialogs.nlu.lexicon import DEFAULT_LEXICON, Lexicon
from dialogs.nlu.parse import Parser
from models.errors import RegisterError
from models.register import Register


@pytest.mark.parametrize(("text", "intent"), [
    # complaints about the service that mention a repair
    ("单子显示维修完成了但根本没人来，这样糊弄学生合适吗", "complaint"),
    ("这都第四次报修了，马桶还是堵的，你们到底能不能修好", "complaint"),
    ("维修师傅来修了水管 结果比修之前漏得还厉害", "complaint"),
    # food, hot water, cleaning, without 投诉
    ("二饭的菜一天比一天难吃", "complaint"),
    ("热水供应时间太短 晚上打完球回来就没热水了", "complaint"),
    ("澡堂水温忽高忽低", "complaint"),
    ("五教的厕所从来没人打扫 保洁是干什么的", "complaint"),
    # progress questions in any form
    ("上周二报的花洒修好了没有", "query"),
    ("修空调的师傅今天还来不来", "query"),
    ("我前几天报修了下水道堵 现在还没人来", "query"),
    # outages asked about
    ("为啥又停电了", "notice"),
    ("是整个校区都停水了还是只有我们栋", "notice"),
    ("停电到几点能恢复", "notice"),
    # and what stays as it was
    ("宿舍又停电了 插座全没电", "repair"),
    ("15栋的电梯又坏了 天天坏", "repair"),
    ("今天天气不错", "other"),
    ("好的 麻烦了", "other"),
    ("你好 请问怎么绑定校园卡", "other"),
])
def test_intents_beyond_keywords(parser: Parser, text: str, intent: str) -> None:
    assert parser.parse(text).intent == intent


def test_the_cues_that_decided_are_kept(parser: Parser) -> None:
    p = parser.parse("单子显示维修完成了但根本没人来，这样糊弄学生合适吗")
    groups = {(c.intent, c.group) for c in p.intent_cues}
    assert {("complaint", "strong"), ("complaint", "judgement"), ("complaint", "frustration")} <= groups
    assert dict(p.intent_scores)["complaint"] > dict(p.intent_scores).get("query", 0)
    lines = explain(p)
    assert lines[0].startswith("intent complaint: ") and "「糊弄」" in lines[0]


def test_explain_in_the_command(register: Register) -> None:
    out = io.StringIO()
    run_parse(register, io.StringIO("12栋对面操场边上的路灯不亮了\n九栋203老是跳匝\n"), out, explain=True)
    first, second = (json.loads(x) for x in out.getvalue().splitlines())
    assert any("12栋" in line and "对面" in line for line in first["explain"])
    assert any("跳匝" in line and "跳闸" in line for line in second["explain"])
    plain = io.StringIO()
    run_parse(register, io.StringIO("九栋203老是跳匝\n"), plain)
    assert "explain" not in json.loads(plain.getvalue())


# -- the model on its own ---------------------------------------------------------------------

def _model(*groups: CueGroup) -> IntentModel:
    return IntentModel(groups, question_words=["吗", "?"])


def test_needs_and_unless() -> None:
    outage = CueGroup("notice", "outage", 3, ("停电",), needs=("question",))
    request = CueGroup("repair", "request", 2, ("来修",), unless=("own",), otherwise=0)
    own = CueGroup("query", "own", 2, ("报的",))
    m = _model(outage, request, own)
    assert m.decide("停电了吗", Evidence()).intent == "notice"
    assert m.decide("停电了", Evidence(telling_fault=True, fault=True)).intent == "repair"
    asked = m.decide("我报的灯来修", Evidence(thing=True))
    assert not [c for c in asked.cues if c.group == "request"]


def test_ties_go_to_the_repair_and_little_is_other() -> None:
    m = _model(CueGroup("complaint", "judgement", 2, ("太差",)), CueGroup("complaint", "repetition", 1, ("又",)))
    tie = m.decide("灯又坏了 太差", Evidence(fault=True, thing=True))  # complaint 2 + 1, repair 3
    assert (tie.intent, dict(tie.scores)) == ("repair", {"complaint": 3.0, "repair": 3.0})
    assert m.decide("灯又坏了 太差", Evidence(fault=True)).intent == "complaint"  # 3 beats 2
    assert m.decide("又", Evidence()).intent == "other"  # below the minimum score


# -- the lexicon's intent section is checked -----------------------------------------------------

@pytest.mark.parametrize("bad", [
    "intents: {complaint: {judgement: {weight: heavy, words: [差]}}}",
    "intents: {complaint: {judgement: {words: [差], needs: [nothing]}}}",
    "intents: {complaint: {judgement: {patterns: ['(']}}}",
    "intents: {complaint: {judgement: 3}}",
    "place_grammar: {joiners: [的]}",
])
def test_malformed_cue_groups_are_register_errors(register: Register, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(RegisterError):
        Lexicon.load(register, path)


def test_the_bundled_lexicon_loads_its_groups(register: Register) -> None:
    lex = Lexicon.load(register, DEFAULT_LEXICON)
    names = {(g.intent, g.name) for g in lex.cues}
    assert {("complaint", "judgement"), ("complaint", "service"), ("query", "own_report"),
            ("notice", "outage"), ("repair", "request")} <= names


@pytest.mark.parametrize(("text", "intent"), [
    ("报修半个月了都没人来 这还管不管", "complaint"),        # a long wait held against the service
    ("换了水龙头没两天又漏了 什么水平啊", "complaint"),      # a repair that did not hold
    ("保洁员把我放门口的鞋扔了", "complaint"),
    ("维修电话根本打不通", "complaint"),                    # 打不通 is no blocked drain
    ("走廊一个星期没人扫地了", "complaint"),                # a service not done
    ("可不可以在三饭门口装个自动售货机", "complaint"),       # asking for something new
    ("谢谢修电梯的李师傅 来得真快", "complaint"),
    ("是不是在检修水管啊 怎么没水", "notice"),              # works asked about
    ("修灯的到了没", "query"),
    ("有人接了我的单吗", "query"),
    ("报修完一般要多长时间才来修", "query"),
    ("洗衣房几点到几点开", "other"),                        # a span of hours, not a wait
    ("12栋402的水龙头又漏了", "repair"),                   # 又 alone does not make a complaint
])
def test_more_intents_beyond_keywords(parser: Parser, text: str, intent: str) -> None:
    assert parser.parse(text).intent == intent
