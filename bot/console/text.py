"""Every Chinese string the console's Python code shows (templates hold their own page text)."""

from __future__ import annotations

from core.templates import noted_field
from models.tickets import STATUS_ZH

ROLE_ZH = {"admin": "管理员", "dispatcher": "调度员", "worker": "维修工"}

PUSH_STATUS_ZH = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败",
                  "unknown": "已发出未确认", "skipped": "未发送"}
PUSH_KIND_ZH = {"status": "状态通知", "reply": "回复", "assign": "派单通知", "notice": "公告", "rework": "返修通知",
                "rate_hint": "评价提示", "closed": "办结通知", "urgent": "紧急报修通知",
                "overdue": "超时提醒", "escalate": "超时督办", "rate_remind": "评价提醒"}
# The product's fields a template keyword may show (core/templates.py FIELDS), for a refused push's reason.
FIELD_ZH = {"ticket_no": "工单编号", "status": "状态", "note": "说明", "place": "地点", "fault": "故障",
            "worker": "维修人员", "worker_phone": "维修人员电话", "category": "维修类别", "time": "时间",
            "created": "报修时间", "description": "报修描述", "reporter_phone": "报修人电话", "reply": "回复内容",
            "complaint_no": "咨询编号", "complaint_title": "咨询标题", "department": "承办部门",
            "notice_no": "公告编号", "notice_title": "公告标题", "stage": "超时环节", "holder": "责任人",
            "limit": "时限"}
# Why a push failed, by WeChat's errcode (the English errmsg stays on the row for the operator).
PUSH_ERROR_ZH = {
    40037: "模板 ID 无效：公众号没有这个模板。请管理员核对模板配置（运行 repairbot templates check）。",
    47003: "模板参数不合法。请管理员核对模板配置（运行 repairbot templates check）。",
    43004: "用户已取消关注。",
    40003: "openid 无效。",
    43019: "用户在公众号黑名单中。",
    45009: "接口调用超出限额。",
    45047: "客服消息超出条数限制。",
    -5: "已发出，微信未确认收到。",
}
PUSH_REFUSED_FIELD_ZH = ("微信拒收模板字段 {keyword}（{field}）的内容。请管理员核对模板配置"
                         "（运行 repairbot templates check）。")
PUSH_REFUSED_UNMAPPED_ZH = ("微信拒收模板字段 {keyword}：模板配置没有填这个字段，或模板中没有它。"
                            "请管理员核对模板配置（运行 repairbot templates check）。")
PUSH_FELL_BACK_ZH = "已改用客服消息发出。"
EVENT_KIND_ZH = {"message": "报修人留言", "reply": "工作人员回复", "priority": "紧急改为普通", "visit": "服务回访"}

# The button of a move, by target status; a few read differently from a particular status.
MOVE_LABEL = {
    "accepted": "受理",
    "assigned": "指派",
    "in_progress": "开始维修",
    "on_hold": "暂时无法维修",
    "completed": "维修完成",
    "closed": "销单",
    "rejected": "驳回",
    "cancelled": "撤销",
}
MOVE_LABEL_FROM = {
    ("assigned", "accepted"): "退回待指派",
    ("completed", "accepted"): "返工（重新受理）",
    ("assigned", "assigned"): "改派",
    ("on_hold", "assigned"): "改派",
    ("on_hold", "in_progress"): "恢复",
}
NOTE_PLACEHOLDER = {
    "on_hold": "原因（必填），例如：等待配件到货",
    "rejected": "驳回原因（必填），例如：不属于维修范围",
    "completed": "维修说明，例如：已更换水龙头阀芯",
}

# What a model error says, by its code (models/errors.py): staff never read the English message.
ERROR_ZH = {
    "visit_outcome": "请选择回访结果（满意、基本满意、不满意或未接通）。",
    "visit_too_early": "{no} 当前状态为「{status_zh}」：维修完成后才能回访。",
    "changed": "{no} 刚刚被别人改动过，请刷新页面后再操作。",
    "not_from_here": "{no} 当前状态为「{status_zh}」，不能改为「{to_zh}」。",
    "not_for_role": "{no} 当前状态为「{status_zh}」，您不能把它改为「{to_zh}」。",
    "unknown_status": "未知的状态。",
    "reason_needed": "改为「{to_zh}」需要填写原因。",
    "worker_needed": "请选择一位维修工。",
    "not_a_worker": "{name} 不是维修工。",
    "wrong_category": "{name} 不是负责「{category}」的维修工。",
    "no_ticket": "找不到单号 {no}。",
    "no_consult": "找不到编号 {no}。",
    "no_notice": "找不到这条公告。",
    "reply_empty": "回复内容不能为空。",
    "consult_closed": "{no} 已办结。",
    "consult_kind": "请选择类型。",
    "merge_self": "不能把工单合并到它自己。",
    "merge_merged": "{no} 已合并到 {into}，请合并到 {into}。",
    "merge_closed": "{no} 已结束（{status_zh}），不能合并到该单。",
    "notice_empty": "公告需要标题和正文。",
    "notice_dates": "结束时间要晚于开始时间。",
    "notice_pushed": "这条公告已经推送过了。",
    "staff_role": "请选择角色。",
    "staff_password": "密码至少 8 位。",
    "openid": "微信 openid 格式不对。",
    "not_urgent": "{no} 不是紧急工单。",
}
ERROR_UNKNOWN = "请刷新页面后再试。"


def error_zh(exc: Exception) -> str:
    """Say a model error in Chinese, from its code and details; never its English message."""
    template = ERROR_ZH.get(getattr(exc, "code", ""), ERROR_UNKNOWN)
    params = dict(getattr(exc, "params", {}))
    for key in ("status", "to"):
        if key in params:
            params[f"{key}_zh"] = STATUS_ZH.get(params[key], params[key])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return ERROR_UNKNOWN


# The queue's mark of a ticket late in its stage (models.backoffice.STAGE_ZH: 受理, 指派, 完成).
LATE_MARK = "{stage}超时"

TEXT = {
    "login_needed": "请先登录。",
    "login_failed": "姓名或密码不正确。",
    "login_locked": "登录失败次数过多，请 15 分钟后再试。",
    "login_slow": "登录太频繁了，请稍等一分钟再试。",
    "login_ok": "欢迎，{name}（{role}）。",
    "logged_out": "已退出登录。",
    "expired": "登录已过期，请重新登录。",
    "csrf": "页面已过期或表单无效，请刷新页面后重试。",
    "forbidden": "您没有权限进行此操作。",
    "not_found": "找不到该页面或工单，或您无权查看。",
    "method": "请用页面上的按钮操作。",
    "moved": "{no}：已{label}，当前状态「{status}」。报修人将收到微信通知。",
    "illegal": "{no} 当前状态为「{status}」，不能「{label}」。当前可进行：{allowed}。",
    "illegal_none": "无（工单已结束）",
    "failed": "操作未完成：{reason}",
    "reason_required": "「{label}」需要填写原因。",
    "worker_required": "请选择一位维修工。",
    "worker_wrong": "{worker} 不是负责「{category}」的维修工。",
    "unknown_move": "未知的操作。",
    "replied": "{no}：回复已发送给报修人。",
    "reply_empty": "回复内容不能为空。",
    "merged": "{no} 已合并到 {into}，报修人将收到通知并关注该单。",
    "merge_self": "不能把工单合并到它自己。",
    "merge_missing": "找不到单号 {into}，或您无权查看该单。",
    "merge_finished": "{into} 已结束（{status}），不能合并到该单。",
    "merge_not_allowed": "{no} 当前状态为「{status}」，不能合并。",
    "push_resent": "推送 #{id} 已重新排队发送。",
    "push_not_failed": "推送 #{id} 不是失败状态，无需重发。",
    "staff_added": "已添加账号：{name}（{role}）。",
    "staff_updated": "已更新账号：{name}（{role}），密码已重设。",
    "staff_exists": "已有名为「{name}」的账号；如要覆盖，请勾选“更新同名账号”。",
    "staff_bad": "账号未保存：{reason}",
    "reply_added": "已添加常用回复。",
    "reply_saved": "已保存常用回复。",
    "reply_deleted": "已删除常用回复。",
    "form_invalid": "表单有误：{errors}",
    "worker_option": "{name} {phone}（在办 {open} 单）",
    "no_workers": "没有负责「{category}」的维修工，请管理员先添加账号。",
    "list_sep": "、",
    "downgraded": "{no}：已改为普通工单（误报），已记入进度。",
    "accept_assign": "受理并指派",
    "accepted_assigned": "{no}：已受理并指派给 {worker}，当前状态「指派维修」。报修人将收到微信通知。",
    "reply_moved": "已调整常用回复的顺序。",
    "reply_category_bad": "登记册中没有维修类型「{category}」。",
    "all_categories": "全部类型",
    "visit_recorded": "{no}：已记录回访（{outcome}）。",
    "visit_reopened": "{no}：回访不满意，已退回返修，维修工将收到返修通知。",
    "visit_closed": "{no}：回访{outcome}，已销单。",
    "followup_done": "已记录跟进处理：{no}。",
    "followup_gone": "这条跟进任务已处理过了。",
}
# Why a follow-up task was left for the dispatchers (models.backoffice.FollowUp.reason).
FOLLOWUP_ZH = {"low_rating": "差评", "visit": "回访不满意"}
# Why a ticket was closed (Ticket.close_reason).
CLOSE_REASON_ZH = {"rated": "已评价", "unrated": "未评价，自动销单", "staff": "工作人员销单", "visit": "回访后销单"}


def move_label(src: str, to: str) -> str:
    """The Chinese name of the action that moves a ticket from `src` to `to`."""
    return MOVE_LABEL_FROM.get((src, to)) or MOVE_LABEL.get(to) or STATUS_ZH.get(to, to)


def status_zh(status: str) -> str:
    return STATUS_ZH.get(status, status)


# -- 网上咨询 and 通知公告 -------------------------------------------------------------------------

CONSULT_EVENT_ZH = {"submitted": "提交", "reply": "工作人员回复", "message": "提交人留言", "closed": "办结"}
ANONYMOUS = "匿名"
CONSULT_SENDER = "提交人"
NOTICE_STATE_ZH = {"upcoming": "未开始", "live": "生效中", "ended": "已结束"}
WHOLE_SCHOOL = "全校"

TEXT.update({
    "consult_replied": "{no}：回复已发送给提交人。",
    "consult_closed": "{no}：已办结。",
    "consult_is_closed": "{no} 已办结，不能再回复。",
    "consult_already_closed": "{no} 已经办结。",
    "departments_saved": "已保存 {name} 负责的咨询部门：{departments}。",
    "departments_none": "无",
    "departments_bad": "未知的部门：{departments}",
    "notice_published": "已发布通知「{title}」。",
    "notice_end_before_start": "结束时间必须晚于开始时间（开始 {start}，结束 {end}）。",
    "notice_bad_time": "{field}格式不对，请按“2026-11-28 08:00”填写（北京时间）。",
    "notice_unknown_building": "登记册中没有这些楼栋：{buildings}。",
    "notice_building_campus": "所选楼栋不在「{campus}」：{buildings}。",
    "notice_unknown_campus": "登记册中没有校区「{campus}」。",
    "notice_unknown_group": "登记册中没有这些维修类别：{groups}。",
    "notice_pushed": "已开始推送通知「{title}」：共 {n} 位用户，按每秒 {rate} 条发送。",
    "notice_push_nobody": "没有需要推送的用户：所选楼栋里没有设置了默认房间、仍在关注公众号的用户。",
    "notice_push_twice": "这条通知已经推送过了，不能重复推送。",
    "notice_push_no_buildings": "只有指定了楼栋的通知可以推送给住户。",
    "notice_push_ended": "这条通知已结束，不再推送。",
    "notice_ended_now": "通知「{title}」已结束。",
    "notice_already_ended": "这条通知已经结束了。",
})


def push_error_zh(errcode: int | None, error: str | None, channel: str | None, status: str) -> str:
    """Why a push failed, for staff: the field WeChat refused (the worker notes it on the row: "[thing3 ← note]"),
    and whether a customer-service message went instead."""
    named = noted_field(error) if errcode == 47003 else None
    if named is not None:
        keyword, field = named
        reason = (PUSH_REFUSED_FIELD_ZH.format(keyword=keyword, field=FIELD_ZH.get(field, field))
                  if field and not field.startswith("=") else PUSH_REFUSED_UNMAPPED_ZH.format(keyword=keyword))
    else:
        reason = PUSH_ERROR_ZH.get(errcode, "") if errcode is not None else ""
    if status == "sent" and channel == "custom":
        reason = f"{reason}{PUSH_FELL_BACK_ZH}"
    return reason
