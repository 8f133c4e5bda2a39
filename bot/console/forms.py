"""The console's forms (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from bot.console.text import ROLE_ZH
from models.backoffice import VISIT_ZH
from models.people import STAFF_ROLES
from models.tickets import STATUS_ZH


def choices(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """Select choices as this WTForms wants them (SelectChoice from 3.3 on, tuples before)."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value=value, label=label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=128)])


class MoveForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    note = TextAreaField("说明", validators=[Optional(), Length(max=500)])
    worker = SelectField("维修工", choices=[], validate_choice=False)


class AcceptAssignForm(FlaskForm):
    """受理并指派: the worker is checked against the ticket's category by the view."""

    note = TextAreaField("说明", validators=[Optional(), Length(max=500)])
    worker = SelectField("维修工", choices=[], validate_choice=False)


class ReplyForm(FlaskForm):
    text = TextAreaField("回复内容", validators=[DataRequired(), Length(max=500)])


class MergeForm(FlaskForm):
    into = StringField("合并到单号", validators=[DataRequired(), Length(max=20)])
    # Set by the second step when the two tickets are in different buildings (a confirmation).
    confirm = HiddenField()


class DowngradeForm(FlaskForm):
    """改为普通: an urgent ticket that was a false alarm; the note is optional."""

    note = StringField("说明", validators=[Optional(), Length(max=200)])


class VisitForm(FlaskForm):
    """A phone return visit (服务回访): its outcome and what the reporter said."""

    # Checked by the action, which says an unknown outcome in Chinese.
    outcome = SelectField("回访结果", choices=choices(VISIT_ZH.items()), validate_choice=False)
    note = TextAreaField("回访记录", validators=[Optional(), Length(max=500, message="最多 500 字")])


class FollowUpDoneForm(FlaskForm):
    """What was done about a follow-up task (after a poor rating)."""

    note = TextAreaField("处理情况", validators=[DataRequired(message="请写明处理情况"),
                                              Length(max=500, message="最多 500 字")])


class ActionForm(FlaskForm):
    """A button that needs nothing but the CSRF token (logout, resend, delete)."""


class StaffForm(FlaskForm):
    name = StringField("姓名", validators=[DataRequired(), Length(max=64)])
    role = SelectField("角色", choices=choices((r, ROLE_ZH[r]) for r in STAFF_ROLES))
    categories = MultiCheckboxField("负责的维修类型", choices=[])
    departments = MultiCheckboxField("负责的咨询部门", choices=[])
    phone = StringField("电话", validators=[Optional(), Regexp(r"^[0-9+\- ]{5,20}$", message="电话格式不对")])
    openid = StringField("微信 openid", validators=[Optional(), Length(max=64)])
    password = PasswordField("初始密码", validators=[DataRequired(), Length(min=8, max=128, message="密码至少 8 位")])
    confirm = PasswordField("再输一次", validators=[EqualTo("password", message="两次输入的密码不一致")])
    update = BooleanField("更新同名账号（重设其密码）")


class CannedForm(FlaskForm):
    status = SelectField("用于状态", choices=choices(STATUS_ZH.items()))
    # "" is every category; the register's categories are set by the view.
    category = SelectField("维修类型", choices=[], validate_choice=False)
    text = TextAreaField("内容", validators=[DataRequired(), Length(max=500)])
    position = IntegerField("排序", default=0, validators=[
        Optional(), NumberRange(min=-9999, max=9999, message="请填 -9999 到 9999 之间的数")])


# -- 网上咨询 and 通知公告 -------------------------------------------------------------------------

class ConsultCloseForm(FlaskForm):
    note = TextAreaField("办结说明", validators=[Optional(), Length(max=500, message="最多 500 字")])


class DepartmentsForm(FlaskForm):
    """One staff account's 网上咨询 departments (prefixed by the account's id on the page)."""

    departments = MultiCheckboxField("负责的咨询部门", choices=[])


class NoticeForm(FlaskForm):
    """A notice; the places, groups and times are checked against the register by the view."""

    title = StringField("标题", validators=[DataRequired(message="请填写标题"), Length(max=100, message="最多 100 字")])
    body = TextAreaField("正文", validators=[DataRequired(message="请填写正文"),
                                            Length(max=5000, message="最多 5000 字")])
    campus = SelectField("校区", choices=[], validate_choice=False)
    buildings = SelectMultipleField("涉及楼栋", choices=[], validate_choice=False)
    groups = MultiCheckboxField("涉及的维修类别", choices=[], validate_choice=False)
    starts_at = StringField("开始时间", validators=[Optional(), Length(max=20)])
    ends_at = StringField("结束时间", validators=[Optional(), Length(max=20)])
