"""人工: someone who asks for a person is told who answers the phone, and where a written word reaches the
office, instead of "not understood" (this desk has no live agent to hand the chat to)."""

from __future__ import annotations

import re

from dialogs.context import Ctx

TEXT = {
    "phone": ("这里是自动回复，暂时不能转人工。着急的话请打后勤 24 小时值班电话 {phone}；"
              "不急的事可以回复「投诉建议」留言，工作人员会回复您。"),
    "no_phone": "这里是自动回复，暂时不能转人工。可以回复「投诉建议」留言，工作人员会回复您。",
    "writing": "这里是自动回复，暂时不能转人工。您正在写的意见建议提交后，工作人员会在这里回复您。",
    "writing_phone": ("这里是自动回复，暂时不能转人工。着急的话请打后勤 24 小时值班电话 {phone}；"
                      "您正在写的意见建议提交后，工作人员会在这里回复您。"),
}
# The dialog whose sending is the written way to the office: inside it, it is not pointed to again.
WRITING = "consult"

# A short request for a person in other words (「帮我转人工」「有没有人工客服」「找个真人」); a longer sentence
# that mentions one (「人工费怎么算」), or a place (人工湖), is not.
ASKED = re.compile(r"人工(?!费|湖|草|智能)|真人")
ASKED_MAX = 12


def asked(text: str) -> bool:
    """Whether a short message asks for a person."""
    return len(text) <= ASKED_MAX and ASKED.search(text) is not None


def reply(ctx: Ctx) -> str:
    """The school's duty phone, and the written way to the office."""
    phone = ctx.register.duty_phone
    key = "writing" if ctx.state.flow == WRITING else ""
    if phone:
        return TEXT[f"{key}_phone" if key else "phone"].format(phone=phone)
    return TEXT[key or "no_phone"]
