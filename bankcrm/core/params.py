"""Rule parameters: every threshold, deadline, weight and validity period of DOMAIN_RULES.md, with effective dates.

A parameter is declared once here (code, type, default, clause); the default is the value in force until an
administrator records a version through `services.parameter_set`. Code reads ``value(code, at=...)`` — "the value in
force at time T" — and never writes a figure from the rules as a literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed


@dataclass(frozen=True)
class ParameterDef:
    code: str
    kind: str  # int, money_fen, percent, days, working_days, months, hours, minutes, years, age
    default: int
    label: Any
    source: str  # where the figure comes from
    minimum: int = 0
    maximum: int | None = None
    currency: str = ""


DEFINITIONS: dict[str, ParameterDef] = {}

UNITS = {
    "int": "", "money_fen": _("分"), "percent": "%", "days": _("天"), "working_days": _("个工作日"),
    "months": _("个月"), "hours": _("小时"), "minutes": _("分钟"), "years": _("年"), "age": _("岁"),
}


def define(code: str, kind: str, default: int, label: Any, source: str, *, minimum: int = 0,
           maximum: int | None = None, currency: str = "") -> None:
    DEFINITIONS[code] = ParameterDef(code, kind, default, label, source, minimum, maximum, currency)


W = 100  # fen per yuan / cents per dollar

# §3 Anti-money laundering (PBOC Order 2016 No. 3; AML Law 2025)
define("aml.large_cash.cny", "money_fen", 50_000 * W, _("大额现金交易报告标准（人民币）"), "PBOC 2016-3 0501", currency="CNY")
define("aml.large_cash.usd", "money_fen", 10_000 * W, _("大额现金交易报告标准（美元）"), "PBOC 2016-3 0501", currency="USD")
define("aml.large_corp_transfer.cny", "money_fen", 2_000_000 * W, _("非自然人大额转账（人民币）"), "PBOC 2016-3 0502", currency="CNY")
define("aml.large_corp_transfer.usd", "money_fen", 200_000 * W, _("非自然人大额转账（美元）"), "PBOC 2016-3 0502", currency="USD")
define("aml.large_person_domestic.cny", "money_fen", 500_000 * W, _("自然人境内大额转账（人民币）"), "PBOC 2016-3 0503", currency="CNY")
define("aml.large_person_domestic.usd", "money_fen", 100_000 * W, _("自然人境内大额转账（美元）"), "PBOC 2016-3 0503", currency="USD")
define("aml.large_person_crossborder.cny", "money_fen", 200_000 * W, _("自然人跨境大额转账（人民币）"), "PBOC 2016-3 0504", currency="CNY")
define("aml.large_person_crossborder.usd", "money_fen", 10_000 * W, _("自然人跨境大额转账（美元）"), "PBOC 2016-3 0504", currency="USD")
define("aml.large_report_deadline", "working_days", 5, _("大额交易报告时限"), "PBOC 2016-3")
define("aml.suspicious_report_deadline", "working_days", 5, _("可疑交易报告时限（确认后）"), "PBOC 2016-3")
define("aml.suspicious_followup", "months", 3, _("可疑交易持续报告间隔"), "PBOC 2016-3")
define("aml.structuring_band", "percent", 90, _("拆分交易识别下限（阈值百分比）"), "DOMAIN_RULES §3", maximum=100)
define("aml.rapid_out_window", "hours", 48, _("快进快出识别窗口"), "DOMAIN_RULES §3")
define("aml.dormant_period", "months", 12, _("休眠账户认定期"), "DOMAIN_RULES §3")
define("aml.new_customer_rating", "working_days", 10, _("新客户洗钱风险评级时限"), "PBOC rating guidance")
define("aml.review.high", "months", 6, _("高风险客户复评周期"), "PBOC rating guidance", minimum=1)
define("aml.review.medium", "months", 12, _("中风险客户复评周期"), "PBOC rating guidance", minimum=1)
define("aml.review.low", "months", 24, _("低风险客户复评周期"), "PBOC rating guidance", minimum=1)
define("aml.retention", "years", 10, _("身份资料和交易记录保存期限"), "AML Law 2025", minimum=10)
define("aml.due_diligence.cny", "money_fen", 50_000 * W, _("一次性业务尽职调查标准（人民币）"), "PBOC 2026", currency="CNY")
define("aml.due_diligence.usd", "money_fen", 10_000 * W, _("一次性业务尽职调查标准（美元）"), "PBOC 2026", currency="USD")
# §4 Suitability and sales recording
define("suitability.valid_days", "days", 365, _("风险承受能力评估有效期"), "DOMAIN_RULES §4", minimum=1)
define("suitability.elderly_age", "age", 65, _("老年客户年龄标准"), "DOMAIN_RULES §4", minimum=50)
define("suitability.elderly_product_level", "int", 3, _("老年客户需加强告知与双录的最低产品风险等级（R级）"),
       "DOMAIN_RULES §4", minimum=1, maximum=5)
define("suitability.cooling_off", "hours", 24, _("私募产品冷静期"), "DOMAIN_RULES §4")
define("suitability.certified_level", "int", 4, _("需持证销售的最低产品风险等级（R级）"), "DOMAIN_RULES §4", minimum=1, maximum=5)
define("suitability.reminder_days", "days", 30, _("评估到期提前提醒天数"), "DOMAIN_RULES §4")
define("wealth.return_visit_days", "working_days", 5, _("理财销售回访时限"), "DOMAIN_RULES §4")
define("wealth.return_visit_attempts", "int", 3, _("回访无法联系的最多尝试次数"), "DOMAIN_RULES §4", minimum=1, maximum=10)
define("wealth.qualified_valid_days", "days", 365, _("合格投资者认定有效期"), "资管新规", minimum=1)
define("wealth.qualified_experience_years", "years", 2, _("合格投资者最低投资经历"), "资管新规")
define("wealth.tier.affluent", "money_fen", 500_000 * W, _("富裕客户资产标准（AUM）"), "DOMAIN_RULES §1", currency="CNY")
define("wealth.tier.private", "money_fen", 6_000_000 * W, _("私人银行客户资产标准（AUM）"), "DOMAIN_RULES §1",
       currency="CNY")
# §5 Complaints
define("complaints.decision", "days", 15, _("投诉处理决定时限（自然日）"), "CBIRC 2020-3", minimum=1)
define("complaints.extension_1", "days", 15, _("复杂投诉第一次延长（延至30日）"), "CBIRC 2020-3")
define("complaints.extension_2", "days", 30, _("特别复杂投诉再延长（最长60日）"), "CBIRC 2020-3")
define("complaints.acknowledge", "working_days", 1, _("投诉受理回执时限"), "DOMAIN_RULES §5")
# §6 Personal information
define("privacy.guardian_age", "age", 14, _("需监护人同意的年龄（未满）"), "PIPL art. 31")
define("privacy.bulk_view_threshold", "int", 50, _("短时间内查看非管户客户数预警阈值"), "DOMAIN_RULES §7")
define("privacy.bulk_view_window", "minutes", 60, _("非管户客户查看统计窗口"), "DOMAIN_RULES §7", minimum=1)
define("privacy.subject_request_deadline", "working_days", 15, _("个人信息主体请求答复时限"), "PIPL art. 50; GB/T 35273 [U]",
       minimum=1)
define("customers.reverify_period", "months", 12, _("客户信息定期复核周期"), "DOMAIN_RULES §1")
define("customers.document_expiry_warning", "days", 30, _("证件到期提前提醒天数"), "DOMAIN_RULES §1")
# §7 Staff conduct and internal control
define("approvals.money_threshold.cny", "money_fen", 50_000 * W, _("资金交易复核金额标准（人民币）"), "DOMAIN_RULES §7", currency="CNY")
define("approvals.expiry", "hours", 24, _("待复核事项有效时长"), "DOMAIN_RULES §7", minimum=1)
define("staff.dormant_account", "days", 90, _("员工账户长期未登录认定天数"), "DOMAIN_RULES §7", minimum=1)
define("staff.contract_expiry_warning", "days", 14, _("非正式员工合同到期提前提醒天数"), "DOMAIN_RULES §1")
# Surveys and appraisal
define("surveys.min_interval", "days", 90, _("同一客户两次调查最短间隔"), "DOMAIN_RULES §1")
define("appraisal.satisfaction_weight_min", "percent", 40, _("客户满意度在考核中的最低权重"), "DOMAIN_RULES §1", maximum=100)
define("incentives.clawback_window", "months", 24, _("绩效薪酬追索期"), "DOMAIN_RULES §1")
define("surveys.csat_low", "int", 2, _("满意度低分线（1–5分，≤此分自动立反馈案件）"), "DOMAIN_RULES §1", minimum=1, maximum=5)
define("surveys.nps_low", "int", 6, _("推荐意愿低分线（0–10分，≤此分自动立反馈案件）"), "DOMAIN_RULES §1", maximum=10)
define("surveys.link_valid", "days", 14, _("调查链接有效期"), "DOMAIN_RULES §6", minimum=1, maximum=90)


def definition(code: str) -> ParameterDef:
    try:
        return DEFINITIONS[code]
    except KeyError:
        raise KeyError(f"undeclared rule parameter {code!r}") from None


def value(code: str, at: datetime | None = None) -> int:
    """The value of ``code`` in force at ``at`` (default: now)."""
    from .models import ParameterVersion

    d = definition(code)
    at = at or timezone.now()
    row = (
        ParameterVersion.objects.filter(code=code, effective_from__lte=at)
        .order_by("-effective_from", "-id")
        .values_list("value", flat=True)
        .first()
    )
    return d.default if row is None else int(row)


def validate_value(code: str, raw: Any) -> int:
    d = definition(code)
    try:
        val = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed("parameter_not_integer", _("参数值必须是整数"), fields={"value": [_("必须是整数")]}) from None
    if val < d.minimum or (d.maximum is not None and val > d.maximum):
        msg = _("参数值超出允许范围（%(lo)s ~ %(hi)s）") % {"lo": d.minimum, "hi": d.maximum if d.maximum is not None else "∞"}
        raise ValidationFailed("parameter_out_of_range", msg, fields={"value": [msg]})
    return val


def display(code: str, val: int) -> str:
    d = definition(code)
    if d.kind == "money_fen":
        from .money import format_amount

        return f"{format_amount(val, d.currency or 'CNY')} {d.currency}"
    return f"{val}{UNITS.get(d.kind, '')}"
# §5 Service requests (issue #7): response / resolution targets by priority, escalation lead times
define("service.respond.urgent", "hours", 2, _("紧急服务请求响应时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.respond.high", "hours", 4, _("高优先级服务请求响应时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.respond.normal", "hours", 8, _("普通服务请求响应时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.respond.low", "hours", 24, _("低优先级服务请求响应时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.resolve.urgent", "hours", 24, _("紧急服务请求解决时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.resolve.high", "hours", 72, _("高优先级服务请求解决时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.resolve.normal", "hours", 120, _("普通服务请求解决时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.resolve.low", "hours", 240, _("低优先级服务请求解决时限"), "DOMAIN_RULES §1 service SLA", minimum=1)
define("service.escalation_lead", "hours", 2, _("服务请求到期前升级提前量"), "DOMAIN_RULES §1 service SLA")
define("complaints.escalation_lead", "hours", 48, _("投诉时限到期前升级提前量"), "DOMAIN_RULES §5")
define("complaints.ack_escalation_lead", "hours", 12, _("投诉受理回执到期前升级提前量"), "DOMAIN_RULES §5")

# Engagement (issue #9): how far back an interaction may be logged, how early a task reminds
define("engagement.backdate_days", "days", 30, _("客户互动可补记天数"), "issue #9 interactions", minimum=1, maximum=365)
define("engagement.task_remind_lead", "days", 1, _("任务到期前提醒提前量"), "issue #9 tasks", maximum=30)
# §1 Needs analysis and next best action (issue #9, engagement: segments, propensity, recommendations)
define("engagement.cluster_k", "int", 5, _("客户行为分群数（KMeans 簇数）"), "issue #9", minimum=2, maximum=12)
define("engagement.rfm_window", "months", 12, _("RFM 评分统计期"), "issue #9", minimum=1, maximum=36)
define("engagement.large_inflow", "money_fen", 100_000 * W, _("大额资金流入标准（单笔入账）"), "issue #9", currency="CNY")
define("engagement.inflow_window", "days", 30, _("近期大额流入回溯天数"), "issue #9", minimum=1)
define("engagement.idle_balance", "money_fen", 200_000 * W, _("闲置资金标准（活期可用余额）"), "issue #9", currency="CNY")
define("engagement.maturity_window", "days", 14, _("定期存款到期推荐提前天数"), "issue #9", minimum=1)
define("engagement.birthday_window", "days", 7, _("生日关怀提前天数"), "issue #9", maximum=31)
define("engagement.intent_window", "days", 180, _("客户意向（互动记录）回溯天数"), "issue #9", minimum=1)
define("engagement.recommendation_valid", "days", 30, _("推荐有效期"), "issue #9", minimum=1)
define("engagement.decline_cooldown", "days", 30, _("拒绝后同一推荐的冷却期"), "issue #9")
define("engagement.conversion_window", "days", 30, _("推荐转化观察期（推荐后N天内购买）"), "issue #9", minimum=1)
define("engagement.recommendations_max", "int", 5, _("每位客户的推荐条数上限"), "issue #9", minimum=1, maximum=20)
define("engagement.model_floor", "percent", 20, _("模型推荐的最低预测购买概率"), "issue #9", maximum=100)
# §1 The customer manager's workbench on the home page (issue #9, engagement.workbench)
define("engagement.workbench_feedback_days", "days", 30, _("工作台：近期客户反馈回溯天数"), "issue #9", minimum=1,
       maximum=365)
define("engagement.workbench_review_days", "days", 30, _("工作台：反洗钱评级复评提前提醒天数"), "issue #9", maximum=365)
