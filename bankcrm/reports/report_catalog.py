"""The management reports as pure definitions (no database): each report's tables and their columns, the headline
figures, the charts and the definitions (口径) printed under it. `report_selectors` fills the rows; the page, the
Excel and PDF files and the API all render from the same definition, so they cannot disagree.

A column names the **metric** whose records stand behind its figures (None for derived shares), so every figure can
be clicked through to those records (`report_selectors.records`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

INT, MONEY, PCT, SCORE, DAYS = "int", "money", "pct", "score", "days"
BRANCH, MONTH, TIER, CATEGORY, CAUSE, AML, SUIT, COURSE = (
    "branch", "month", "tier", "category", "cause", "aml", "suit", "course")


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    kind: str = INT
    metric: str | None = None  # the records behind the figure (drill-through); None: a derived share


@dataclass(frozen=True)
class Table:
    key: str
    title: Any
    dimension: str
    columns: tuple[Column, ...]
    total: bool = True


@dataclass(frozen=True)
class Chart:
    """A chart of one table: one series per column; ``kind`` bar | stack | line | bar_line | pie."""

    key: str
    title: Any
    table: str
    columns: tuple[str, ...]
    kind: str = "bar"
    line_columns: tuple[str, ...] = ()  # bar_line: these columns are lines on the right-hand axis
    colors: tuple[str, ...] = ()  # one per column where the colour means something (risk red, done green…)


@dataclass(frozen=True)
class Report:
    code: str
    title: Any
    description: Any
    icon: str
    default_period: str
    tables: tuple[Table, ...]
    headline: tuple[tuple[str, str], ...]  # (table key, column key) read from the table's total row
    headline_labels: dict[str, Any] = field(default_factory=dict)  # "table.column" → label where the column's is vague
    charts: tuple[Chart, ...] = ()
    notes: tuple[Any, ...] = field(default_factory=tuple)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def column(self, table: str, key: str) -> Column:
        return next(c for c in self.table(table).columns if c.key == key)


# ---- Columns shared by several reports ---------------------------------------------------------------------------------
def _complaint_cols(*, open_: bool = True, median: bool = True) -> tuple[Column, ...]:
    cols = [Column("received", _("收到投诉"), INT, "complaints_received"),
            Column("closed", _("办结"), INT, "complaints_closed"),
            Column("overdue", _("逾期"), INT, "complaints_overdue")]
    if open_:
        cols.append(Column("open", _("未办结"), INT, "complaints_open"))
    if median:
        cols.append(Column("median_days", _("办结用时中位数（天）"), DAYS, "complaints_closed"))
    return tuple(cols)


_SATISFACTION = (Column("responses", _("答卷"), INT, "responses"), Column("csat", _("满意度 CSAT"), PCT, "csat"),
                 Column("nps", _("净推荐值 NPS"), SCORE, "nps"), Column("negative", _("负面评价"), INT, "negative"),
                 Column("followups", _("需跟进"), INT, "followups"))
_TRAINING = (Column("total", _("应完成"), INT, "training_due"), Column("completed", _("已完成"), INT, "training_completed"),
             Column("on_time", _("按期完成"), INT, "training_on_time"),
             Column("overdue", _("逾期未完成"), INT, "training_overdue"),
             Column("open", _("进行中"), INT, "training_open"), Column("waived", _("已免除"), INT, "training_waived"),
             Column("rate", _("完成率"), PCT, "training_due"))

REPORTS: dict[str, Report] = {}


def register(report: Report) -> None:
    REPORTS[report.code] = report


register(Report(
    code="branch_performance", title=_("分支机构经营情况"), icon="building",
    description=_("各机构客户数、新增客户、客户资产与存款、交易、投诉、满意度与培训完成率"),
    default_period="quarter",
    tables=(Table("branches", _("按机构"), BRANCH, (
        Column("customers", _("客户数"), INT, "customers"),
        Column("new_customers", _("新增客户"), INT, "new_customers"),
        Column("aum", _("客户资产（万元）"), MONEY, "aum"),
        Column("deposits", _("存款余额（万元）"), MONEY, "aum"),
        Column("txn_count", _("交易笔数"), INT, "transactions"),
        Column("txn_amount", _("交易金额（万元）"), MONEY, "transactions"),
        Column("complaints", _("投诉"), INT, "complaints_received"),
        Column("csat", _("满意度 CSAT"), PCT, "csat"),
        Column("training", _("培训完成率"), PCT, "training_due"),
    )),),
    headline=(("branches", "customers"), ("branches", "new_customers"), ("branches", "aum"),
              ("branches", "txn_count"), ("branches", "complaints"), ("branches", "csat")),
    charts=(Chart("aum", _("客户资产与存款（万元）"), "branches", ("aum", "deposits")),
            Chart("growth", _("新增客户与投诉"), "branches", ("new_customers", "complaints")),
            Chart("quality", _("满意度与培训完成率（%）"), "branches", ("csat", "training"))),
    notes=(_("客户数：期末仍为正常状态的客户（按客户归属机构）；新增客户：期内登记的客户。"),
           _("客户资产、存款余额：期内最后一个客户资产快照日（期末或今天之前最近一日）的存款余额（外币按当日汇率折人民币）与理财市值之和；期内没有快照时不显示。"),
           _("交易：期内会计日期的客户交易（现金存取、转账、开户存入、销户结清、理财申购赎回），不含冲正交易与已被冲正的交易；外币金额按期末汇率折人民币。"),
           _("投诉：期内收到的投诉（不含满意度调查产生的客户反馈）；满意度 CSAT：期内答卷中满意度为 4–5 分的比例。"),
           _("培训完成率：完成期限在期内的培训任务中已完成的比例（已免除的不计入）。")),
))

register(Report(
    code="customer_growth", title=_("客户增长与资产"), icon="graph-up-arrow",
    description=_("按月新增与流失客户、月末客户资产，以及客户价值分层"),
    default_period="year",
    tables=(
        Table("months", _("按月"), MONTH, (
            Column("new_customers", _("新增客户"), INT, "new_customers"),
            Column("lost_customers", _("流失客户"), INT, "lost_customers"),
            Column("net", _("净增"), INT, None),
            Column("customers", _("月末有资产快照的客户"), INT, "aum"),
            Column("aum", _("月末客户资产（万元）"), MONEY, "aum"),
            Column("deposits", _("其中：存款（万元）"), MONEY, "aum"),
            Column("wealth", _("其中：理财（万元）"), MONEY, "aum"),
        ), total=False),
        Table("tiers", _("客户价值分层（期末）"), TIER, (
            Column("customers", _("客户数"), INT, "aum"),
            Column("customer_share", _("客户数占比"), PCT, None),
            Column("aum", _("客户资产（万元）"), MONEY, "aum"),
            Column("aum_share", _("资产占比"), PCT, None),
        )),
        Table("branches", _("按机构"), BRANCH, (
            Column("new_customers", _("新增客户"), INT, "new_customers"),
            Column("lost_customers", _("流失客户"), INT, "lost_customers"),
            Column("net", _("净增"), INT, None),
            Column("aum", _("期末客户资产（万元）"), MONEY, "aum"),
        )),
    ),
    headline=(("branches", "new_customers"), ("branches", "lost_customers"), ("branches", "net"),
              ("branches", "aum"), ("tiers", "customers")),
    headline_labels={"tiers.customers": _("期末客户数（资产快照）")},
    charts=(Chart("months", _("按月新增、流失客户与月末客户资产（右轴，万元）"), "months", ("new_customers", "lost_customers", "aum"),
                  kind="bar_line", line_columns=("aum",)),
            Chart("tiers", _("客户价值分层（客户数）"), "tiers", ("customers",), kind="pie")),
    notes=(_("新增客户：期内登记的客户，按登记时间计入月份；流失客户：全部客户账户均已销户的客户，按最后一个账户的销户时间计入月份。"),
           _("月末客户资产：该月最后一个客户资产快照日的存款与理财市值；该月没有快照时不显示。"),
           _("客户价值分层按快照日的客户资产总额与规则参数中的富裕客户、私人银行客户标准划分（大众、富裕、私人银行）。")),
))

register(Report(
    code="satisfaction", title=_("客户满意度趋势"), icon="emoji-smile",
    description=_("按月、按机构的满意度（CSAT）与净推荐值（NPS）"),
    default_period="year",
    tables=(Table("months", _("按月"), MONTH, _SATISFACTION), Table("branches", _("按机构"), BRANCH, _SATISFACTION)),
    headline=(("months", "responses"), ("months", "csat"), ("months", "nps"), ("months", "followups")),
    charts=(Chart("trend", _("满意度与净推荐值趋势"), "months", ("csat", "nps"), kind="line"),
            Chart("branches", _("各机构满意度与净推荐值"), "branches", ("csat", "nps"))),
    notes=(_("数据来自满意度调查的答卷，按答卷时间计入月份，按调查邀请的机构统计。"),
           _("CSAT：满意度题 4–5 分的答卷占有效答卷的比例；NPS：推荐意愿 9–10 分的比例减去 0–6 分的比例。"),
           _("需跟进：低分或负面评价、已转为客户反馈处理的答卷。")),
))

register(Report(
    code="complaints", title=_("投诉情况"), icon="chat-left-dots",
    description=_("投诉收到、办结、逾期，按类别、原因、机构与月份，办结用时中位数"),
    default_period="quarter",
    tables=(
        Table("branches", _("按机构"), BRANCH, _complaint_cols()),
        Table("categories", _("按业务类别"), CATEGORY, _complaint_cols(open_=False, median=False)),
        Table("causes", _("按根本原因"), CAUSE, (Column("received", _("收到投诉"), INT, "complaints_received"),)),
        Table("months", _("按月"), MONTH, (Column("received", _("收到投诉"), INT, "complaints_received"),
                                          Column("closed", _("办结"), INT, "complaints_closed")), total=False),
    ),
    headline=(("branches", "received"), ("branches", "closed"), ("branches", "overdue"), ("branches", "open"),
              ("branches", "median_days")),
    charts=(Chart("months", _("按月收到与办结"), "months", ("received", "closed"), colors=("#1d4e7a", "#4f8a5b")),
            Chart("categories", _("按业务类别"), "categories", ("received",), kind="pie"),
            Chart("branches", _("各机构投诉与逾期"), "branches", ("received", "overdue"),
                  colors=("#1d4e7a", "#b42318"))),
    notes=(_("收到投诉：期内收到的投诉；办结：期内办结的投诉（不论何时收到）；未办结：期内收到、目前仍未办结的投诉。"),
           _("逾期：期内收到的投诉中，处理决定晚于处理期限的，或至期末（进行中的期间为今天）仍未作出决定且已超过期限的。"),
           _("办结用时：期内办结的投诉从收到到办结的自然日数，取中位数（偶数个取中间两个的平均）。"),
           _("根本原因按一级分类统计，尚未作出决定的投诉计入“未定”。")),
))

register(Report(
    code="risk_profile", title=_("客户风险概况"), icon="shield-exclamation",
    description=_("客户洗钱风险等级、风险承受能力分布，监测预警与调查案件"),
    default_period="quarter",
    tables=(
        Table("branches", _("按机构"), BRANCH, (
            Column("customers", _("客户数"), INT, "customers_now"),
            Column("aml_high", _("高风险"), INT, "aml_high"),
            Column("aml_medium", _("中风险"), INT, "aml_medium"),
            Column("aml_low", _("低风险"), INT, "aml_low"),
            Column("aml_unrated", _("未评级"), INT, "aml_unrated"),
            Column("suit_expired", _("风险测评过期"), INT, "suit_expired"),
            Column("alerts_open", _("未结预警"), INT, "alerts_open"),
            Column("alerts_new", _("期内新增预警"), INT, "alerts_new"),
            Column("cases_open", _("在办案件"), INT, "cases_open"),
            Column("cases_new", _("期内立案"), INT, "cases_new"),
        )),
        Table("aml", _("洗钱风险等级"), AML, (Column("customers", _("客户数"), INT, "customers_now"),
                                           Column("share", _("占比"), PCT, None))),
        Table("suitability", _("风险承受能力"), SUIT, (Column("customers", _("客户数"), INT, "customers_now"),
                                                   Column("share", _("占比"), PCT, None))),
    ),
    headline=(("branches", "aml_high"), ("branches", "aml_unrated"), ("branches", "suit_expired"),
              ("branches", "alerts_open"), ("branches", "alerts_new"), ("branches", "cases_open")),
    charts=(Chart("aml", _("各机构洗钱风险等级"), "branches", ("aml_high", "aml_medium", "aml_low", "aml_unrated"),
                  kind="stack", colors=("#b42318", "#d97706", "#4f8a5b", "#9aa5b1")),
            Chart("suitability", _("风险承受能力分布"), "suitability", ("customers",), kind="pie")),
    notes=(_("风险等级、风险承受能力与未结预警、在办案件为当前状态（今天），统计正常状态的客户；期内新增预警、期内立案按期间统计。"),
           _("风险测评过期：风险承受能力评估已超过有效期的客户，须重新评估后才能购买有风险等级的产品。")),
))

register(Report(
    code="training", title=_("培训完成情况"), icon="mortarboard",
    description=_("培训任务完成、逾期情况，按机构与课程"),
    default_period="quarter",
    tables=(Table("branches", _("按机构"), BRANCH, _TRAINING), Table("courses", _("按课程"), COURSE, _TRAINING)),
    headline=(("branches", "total"), ("branches", "completed"), ("branches", "overdue"), ("branches", "rate")),
    charts=(Chart("branches", _("各机构培训完成情况"), "branches", ("completed", "overdue", "open"), kind="stack",
                  colors=("#4f8a5b", "#b42318", "#1d4e7a")),
            Chart("courses", _("各课程完成率（%）"), "courses", ("rate",))),
    notes=(_("统计完成期限在期内的培训任务（已取消的除外），按员工所属机构。"),
           _("逾期未完成：至今仍未完成且已过完成期限；完成率：已完成 ÷（应完成 − 已免除）。")),
))

AML_LEVELS = (("high", _("高风险")), ("medium", _("中风险")), ("low", _("低风险")), ("unrated", _("未评级")))
SUIT_LEVELS = (("1", "C1"), ("2", "C2"), ("3", "C3"), ("4", "C4"), ("5", "C5"), ("expired", _("测评已过期")),
               ("none", _("未测评")))


def get(code: str) -> Report | None:
    return REPORTS.get(code)
