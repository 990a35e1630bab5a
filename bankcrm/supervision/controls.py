"""The registry of control checks (控制检查) that implement the regulation's clauses, and the run that measures them.

A ``Control`` is code: ``population(scope)`` counts the records it looks at, ``exceptions(scope, only)`` yields the
records that break the rule as ``Exc`` tuples (key, target type and id, masked label, branch, staff, detail). Each
check is one or a few set-based queries over the owning apps' tables, read only; per-row Python touches exceptions
only, never the whole bank. ``scope`` is a branch path prefix (None = every branch); ``only`` narrows to one target
id (the "raise finding" button on an exception).

Manual controls (inspections, access reviews …) have no population: the matrix shows them as carried out by people.

``controls_run`` runs the automated checks: a ``ControlRun`` per control with its population and exceptions; a keyed
finding (``control:type:id``) for each exception that has no live finding; findings whose exception disappeared are
marked resolved by the data (``auto_resolved_at``) for compliance to close, and un-marked if it comes back. One
audit event per run. Runs are bank-wide whoever starts them (figures only; exceptions are read through scoped
findings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, masking, params, sequences

from . import finding_rules as fr


class Exc(NamedTuple):
    key: str
    target_type: str
    target_id: str
    target_repr: str  # masked
    branch_id: int
    staff_id: int | None
    detail: str


@dataclass(frozen=True)
class Control:
    code: str
    label: Any
    clause_codes: tuple[str, ...]
    severity: str
    description: Any = ""
    population: Callable[[str | None], int] | None = None
    exceptions: Callable[..., Iterable[Exc]] | None = None
    measure_label: Any = ""  # the matrix text: "<measure_label>：97.3%（41 例外）"
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def automated(self) -> bool:
        return self.population is not None and self.exceptions is not None

    def key(self, target_type: str, target_id: Any) -> str:
        return f"{self.code}:{target_type}:{target_id}"


REGISTRY: dict[str, Control] = {}


def register(control: Control) -> Control:
    REGISTRY[control.code] = control
    return control


def get(code: str) -> Control | None:
    return REGISTRY.get(code)


def automated() -> list[Control]:
    return [c for c in REGISTRY.values() if c.automated]


# ---- Helpers ----------------------------------------------------------------------------------------------------------
def _today() -> date:
    return timezone.localdate()


def _scoped(qs: QuerySet, path_field: str, scope: str | None) -> QuerySet:
    return qs if scope is None else qs.filter(**{f"{path_field}__startswith": scope})


def _only(qs: QuerySet, only: Any) -> QuerySet:
    return qs if only is None else qs.filter(pk=only)


def _customer_repr(no: str, name: str) -> str:
    return f"{no} {masking.mask_name(name)}"


def _staff_repr(no: str, name: str) -> str:
    return f"{no} {masking.mask_name(name)}"


def _branch_ids_by_path() -> dict[str, int]:
    from bankcrm.org.models import Branch

    return dict(Branch.objects.values_list("path", "id"))


def _customers(scope: str | None) -> QuerySet:
    from bankcrm.customers.models import Customer

    return _scoped(Customer.objects.filter(status=Customer.Status.ACTIVE), "branch__path", scope)


def _customer_excs(code: str, qs: QuerySet, detail: Callable[[dict], str]) -> Iterator[Exc]:
    for r in qs.values("id", "customer_no", "name", "branch_id", *_DETAIL_FIELDS.get(code, ())).order_by("id"):
        yield Exc(f"{code}:customers.Customer:{r['id']}", "customers.Customer", str(r["id"]),
                  _customer_repr(r["customer_no"], r["name"]), r["branch_id"], None, detail(r))


_DETAIL_FIELDS: dict[str, tuple[str, ...]] = {}


# ---- 1. Customer information complete (CRM principle: accurate customer information) -------------------------------
REQUIRED = {
    # kind: [(field, label, "missing" condition)]
    "person": [("mobile_last4", _("手机号码")), ("occupation", _("职业"))],
    "company": [("mobile_last4", _("联系电话")), ("legal_representative", _("法定代表人")), ("industry", _("行业"))],
}


def _incomplete_q() -> Q:
    q = Q()
    for kind, fields in REQUIRED.items():
        missing = Q()
        for f, _label in fields:
            missing |= Q(**{f: ""})
        q |= Q(kind=kind) & missing
    return q


def _incomplete_detail(r: dict) -> str:
    names = [str(label) for f, label in REQUIRED.get(r["kind"], []) if not r[f]]
    return str(_("缺少必填信息：%(f)s")) % {"f": "、".join(names)}


_DETAIL_FIELDS["customer_info_incomplete"] = ("kind", "mobile_last4", "occupation", "legal_representative", "industry")

register(Control(
    "customer_info_incomplete", _("客户信息完整"), ("crm-accurate-information", "system-customer-information"), "medium",
    _("正常状态客户的必填信息（个人：手机号码、职业；企业：联系电话、法定代表人、行业）齐全。"),
    population=lambda scope: _customers(scope).count(),
    exceptions=lambda scope, only=None: _customer_excs("customer_info_incomplete",
                                                       _only(_customers(scope).filter(_incomplete_q()), only),
                                                       _incomplete_detail),
    measure_label=_("客户信息完整")))

# ---- 2. Identity documents valid -----------------------------------------------------------------------------------------
_DETAIL_FIELDS["id_document_expired"] = ("id_expires_on",)

register(Control(
    "id_document_expired", _("身份证件在有效期内"), ("crm-accurate-information", "principle-privacy"), "high",
    _("登记了证件有效期的正常客户，证件未过期。"),
    population=lambda scope: _customers(scope).filter(id_expires_on__isnull=False).count(),
    exceptions=lambda scope, only=None: _customer_excs(
        "id_document_expired", _only(_customers(scope).filter(id_expires_on__lt=_today()), only),
        lambda r: str(_("证件已于 %(d)s 过期")) % {"d": r["id_expires_on"]}),
    measure_label=_("证件有效")))


# ---- 3. Periodic re-verification --------------------------------------------------------------------------------------
def _reverify_cutoff() -> datetime:
    return timezone.now() - relativedelta(months=params.value("customers.reverify_period"))


_DETAIL_FIELDS["reverify_overdue"] = ("verified_at",)


def _reverify_detail(r: dict) -> str:
    if r["verified_at"] is None:
        return str(_("从未核实客户信息"))
    return str(_("最近核实于 %(d)s，超过复核周期（%(n)s 个月）")) % {
        "d": timezone.localdate(r["verified_at"]), "n": params.value("customers.reverify_period")}


register(Control(
    "reverify_overdue", _("客户信息定期复核"), ("crm-accurate-information",), "low",
    _("正常客户在复核周期（规则参数 customers.reverify_period）内核实过信息。"),
    population=lambda scope: _customers(scope).count(),
    exceptions=lambda scope, only=None: _customer_excs(
        "reverify_overdue",
        _only(_customers(scope).filter(Q(verified_at__isnull=True) | Q(verified_at__lt=_reverify_cutoff())), only),
        _reverify_detail),
    measure_label=_("按期复核")))


# ---- 4. Suitability assessment valid for holders of risk-rated products ----------------------------------------------
def _holders(scope: str | None) -> QuerySet:
    from bankcrm.wealth.models import Holding

    risk = Holding.objects.filter(customer_id=OuterRef("pk"), status=Holding.Status.ACTIVE, product__risk_level__gte=1)
    return _customers(scope).filter(Exists(risk))


def _suitability_missing_q() -> Q:
    today = _today()
    return (Q(risk_profile__isnull=True) | Q(risk_profile__suitability_valid_until__isnull=True)
            | Q(risk_profile__suitability_valid_until__lt=today))


_DETAIL_FIELDS["suitability_expired"] = ("risk_profile__suitability_valid_until",)


def _suitability_detail(r: dict) -> str:
    d = r["risk_profile__suitability_valid_until"]
    return str(_("风险承受能力评估已于 %(d)s 过期，客户仍持有风险等级产品")) % {"d": d} if d else \
        str(_("客户持有风险等级产品但没有风险承受能力评估"))


register(Control(
    "suitability_expired", _("风险承受能力评估有效"), ("norm-risk-assessment", "process-risk-assessment",
                                                        "cm-wealth-solutions"), "high",
    _("持有风险等级（R1–R5）理财产品的客户，风险承受能力评估在有效期内。"),
    population=lambda scope: _holders(scope).count(),
    exceptions=lambda scope, only=None: _customer_excs(
        "suitability_expired", _only(_holders(scope).filter(_suitability_missing_q()), only), _suitability_detail),
    measure_label=_("有效风险测评")))


# ---- 5. AML risk rating and reviews on time ---------------------------------------------------------------------------
def _aml_overdue_q() -> Q:
    today = _today()
    return (Q(risk_profile__aml_level="", risk_profile__aml_rating_due_on__lt=today)
            | Q(risk_profile__aml_review_due_on__lt=today))


_DETAIL_FIELDS["aml_review_overdue"] = ("risk_profile__aml_level", "risk_profile__aml_rating_due_on",
                                        "risk_profile__aml_review_due_on")


def _aml_detail(r: dict) -> str:
    if not r["risk_profile__aml_level"]:
        return str(_("首次洗钱风险评级逾期（应于 %(d)s 前完成）")) % {"d": r["risk_profile__aml_rating_due_on"]}
    return str(_("洗钱风险复评逾期（应于 %(d)s 前复评）")) % {"d": r["risk_profile__aml_review_due_on"]}


register(Control(
    "aml_review_overdue", _("洗钱风险评级与复评按期"), ("process-risk-assessment", "rm-risk-control"), "high",
    _("新客户按期完成首次洗钱风险评级；已评级客户按等级对应的周期复评。"),
    population=lambda scope: _customers(scope).filter(risk_profile__isnull=False).count(),
    exceptions=lambda scope, only=None: _customer_excs(
        "aml_review_overdue", _only(_customers(scope).filter(_aml_overdue_q()), only), _aml_detail),
    measure_label=_("评级按期")))


# ---- 6. Consent to process financial account data (PIPL: sensitive personal information, separate consent) --------
def _account_holders(scope: str | None) -> QuerySet:
    from bankcrm.ledger.models import Account

    accounts = Account.objects.filter(customer_id=OuterRef("pk"), kind=Account.Kind.CUSTOMER).exclude(
        status=Account.Status.CLOSED)
    return _customers(scope).filter(kind="person").filter(Exists(accounts))


def _no_consent_q() -> Q:
    from bankcrm.customers.models import Consent

    live = Consent.objects.filter(customer_id=OuterRef("pk"), purpose=Consent.Purpose.SENSITIVE,
                                  withdrawn_at__isnull=True)
    return ~Q(Exists(live))


register(Control(
    "consent_missing", _("敏感个人信息处理授权"), ("principle-privacy",), "high",
    _("持有本行账户的个人客户，有有效的“处理敏感个人信息（金融账户等）”单独同意（个人信息保护法第29条）。"),
    population=lambda scope: _account_holders(scope).count(),
    exceptions=lambda scope, only=None: _customer_excs(
        "consent_missing", _only(_account_holders(scope).filter(_no_consent_q()), only),
        lambda r: str(_("持有账户但没有有效的敏感个人信息处理授权（未授权或已撤回）"))),
    measure_label=_("授权齐全")))


# ---- 7. Complaints decided within the legal deadline -------------------------------------------------------------------
def _complaints(scope: str | None) -> QuerySet:
    from bankcrm.service.models import Complaint

    since = timezone.now() - timedelta(days=params.value("supervision.complaint_window"))
    qs = Complaint.objects.filter(Q(status__in=Complaint.OPEN_STATUSES) | Q(received_at__gte=since))
    return _scoped(qs, "branch_path", scope)


def _complaint_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from bankcrm.service.models import Complaint

    today = _today()
    qs = _only(_complaints(scope).filter(status__in=Complaint.OPEN_STATUSES, decision_due_on__lt=today), only)
    for r in qs.values("id", "number", "kind", "branch_id", "handler_id", "decision_due_on", "customer__customer_no",
                       ).order_by("id"):
        yield Exc(f"complaint_overdue:service.Complaint:{r['id']}", "service.Complaint", str(r["id"]),
                  f"{r['number']}（{r['customer__customer_no']}）", r["branch_id"], r["handler_id"],
                  str(_("处理决定时限 %(d)s 已过，尚未作出决定（逾期 %(n)d 天）")) % {
                      "d": r["decision_due_on"], "n": (today - r["decision_due_on"]).days})


register(Control(
    "complaint_overdue", _("投诉在法定时限内处理"), ("norm-feedback", "norm-service-prompt"), "high",
    _("未办结的投诉与客户反馈不超过处理决定时限（15日，经批准可延长）。检查范围：统计期内受理的及仍未处理完毕的投诉。"),
    population=lambda scope: _complaints(scope).count(),
    exceptions=_complaint_excs,
    measure_label=_("投诉按时处理")))


# ---- 8. Money movements at or above the approval threshold were approved by a second person ---------------------------
MAKER_CHECKER_KINDS = ("cash_in", "cash_out", "internal", "outward")


def _threshold_q(at: datetime | None = None) -> Q:
    """Entries at or above the approval threshold: CNY by amount, foreign currency by its latest rate to CNY (one
    threshold per currency, so the filter stays one indexed range per currency)."""
    from bankcrm.ledger.models import FxRate

    t = params.value("approvals.money_threshold.cny", at)
    q = Q(currency="CNY", amount_fen__gte=t)
    latest: dict[str, int] = {}
    for cur, rate in FxRate.objects.order_by("currency", "-effective_date").values_list("currency", "rate_micro"):
        latest.setdefault(cur, rate)
    for cur, rate in latest.items():
        if rate > 0:
            q |= Q(currency=cur, amount_fen__gte=-(-t * 1_000_000 // rate))  # ceiling: never below the threshold
    return q


def _entries(scope: str | None) -> QuerySet:
    from bankcrm.ledger.models import JournalEntry

    since = _today() - timedelta(days=params.value("supervision.money_lookback"))
    qs = JournalEntry.objects.filter(business_date__gte=since).filter(
        Q(kind__in=MAKER_CHECKER_KINDS) & _threshold_q() | Q(kind="reversal"))
    return _scoped(qs, "branch_path", scope)


def _unapproved_q() -> Q:
    """No second person on the entry, the maker approving their own, or an approval reference that was never executed
    by that checker. (Entries carry their checker; batch and history loads record the checker without a pending
    action, which counts as approved — the approvals inbox is one way, not the only way, to record dual control.)"""
    from bankcrm.approvals.models import PendingAction

    executed = PendingAction.objects.filter(pk=OuterRef("approval_id"), status=PendingAction.Status.EXECUTED,
                                            checker_id=OuterRef("checker_id"))
    return (Q(checker__isnull=True) | Q(checker_id=F("maker_id"))
            | (Q(approval_id__isnull=False) & ~Q(Exists(executed))))


def _money_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from bankcrm.core.money import format_amount
    from bankcrm.ledger.models import JournalEntry, txn_no

    branches = _branch_ids_by_path()
    labels = dict(JournalEntry.Kind.choices)
    qs = _only(_entries(scope).filter(_unapproved_q()), only)
    for r in qs.values("id", "kind", "currency", "amount_fen", "business_date", "branch_path", "maker_id",
                       "approval_id", "checker_id").order_by("id"):
        why = (_("没有复核人") if not r["checker_id"]
               else _("复核人与经办人相同") if r["checker_id"] == r["maker_id"] else _("复核事项未通过执行"))
        yield Exc(f"money_unapproved:ledger.JournalEntry:{r['id']}", "ledger.JournalEntry", str(r["id"]),
                  f"{txn_no(r['business_date'], r['id'])} {labels.get(r['kind'], r['kind'])}",
                  branches.get(r["branch_path"]) or _root_branch_id(), r["maker_id"],
                  str(_("%(k)s %(c)s %(a)s 达到复核标准，%(why)s")) % {
                      "k": labels.get(r["kind"], r["kind"]), "c": r["currency"],
                      "a": format_amount(r["amount_fen"], r["currency"]), "why": why})


def _root_branch_id() -> int:
    from bankcrm.org.models import Branch

    return Branch.objects.filter(parent__isnull=True).order_by("path").values_list("id", flat=True).first()


register(Control(
    "money_unapproved", _("大额资金交易经复核"), ("norm-transaction", "principle-integrity", "process-transaction",
                                                   "om-safe-transactions"), "critical",
    _("达到复核金额标准（规则参数 approvals.money_threshold.cny）的现金存取、转账、汇款及全部冲正，均经第二人复核通过后记账。"
      "应当为零。"),
    population=lambda scope: _entries(scope).count(),
    exceptions=_money_excs,
    measure_label=_("大额交易经复核")))


# ---- 9. Required training completed on time ---------------------------------------------------------------------------
def _staff(scope: str | None) -> QuerySet:
    from bankcrm.org.models import Staff

    return _scoped(Staff.objects.filter(is_active=True), "branch__path", scope)


def _training_overdue_q() -> Q:
    from bankcrm.people.models import Assignment

    late = Assignment.objects.filter(staff_id=OuterRef("pk"), status=Assignment.Status.OPEN, due_on__lt=_today())
    return Q(Exists(late))


def _training_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from bankcrm.people.models import Assignment

    rows = list(_only(_staff(scope).filter(_training_overdue_q()), only)
                .values("id", "staff_no", "name", "branch_id").order_by("id"))
    courses: dict[int, list[str]] = {}
    for a in (Assignment.objects.filter(staff_id__in=[r["id"] for r in rows], status=Assignment.Status.OPEN,
                                        due_on__lt=_today()).values("staff_id", "course__title", "due_on")
              .order_by("due_on")):
        courses.setdefault(a["staff_id"], []).append(f"{a['course__title']}（{a['due_on']}）")
    for r in rows:
        yield Exc(f"training_overdue:org.Staff:{r['id']}", "org.Staff", str(r["id"]),
                  _staff_repr(r["staff_no"], r["name"]), r["branch_id"], r["id"],
                  str(_("必修培训逾期未完成：%(c)s")) % {"c": "；".join(courses.get(r["id"], []))})


register(Control(
    "training_overdue", _("必修培训按期完成"), ("capability-training", "scope-all-staff"), "medium",
    _("在岗员工没有逾期未完成的必修培训任务（培训与认证模块的培训任务）。"),
    population=lambda scope: _staff(scope).count(),
    exceptions=_training_excs,
    measure_label=_("培训按期完成")))


# ---- 10. Non-employee accounts end on their contract end date ---------------------------------------------------------
def _non_employees(scope: str | None) -> QuerySet:
    from bankcrm.org.models import Staff

    return _scoped(Staff.objects.exclude(employment_type=access.EmploymentType.EMPLOYEE), "branch__path", scope)


def _contract_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    qs = _only(_non_employees(scope).filter(is_active=True, contract_end__lt=_today(),
                                            role_assignments__isnull=False).distinct(), only)
    for r in qs.values("id", "staff_no", "name", "branch_id", "employment_type", "contract_end").order_by("id"):
        label = access.EMPLOYMENT_LABELS.get(access.EmploymentType(r["employment_type"]), "")
        yield Exc(f"expired_contract_active:org.Staff:{r['id']}", "org.Staff", str(r["id"]),
                  _staff_repr(r["staff_no"], r["name"]), r["branch_id"], r["id"],
                  str(_("%(t)s合同已于 %(d)s 到期，账户仍启用并持有角色")) % {"t": label, "d": r["contract_end"]})


register(Control(
    "expired_contract_active", _("非正式员工账户到期停用"), ("scope-all-staff",), "critical",
    _("顾问、实习生、临时工的合同结束后，账户已停用（不再持有可用的角色）。"),
    population=lambda scope: _non_employees(scope).count(),
    exceptions=_contract_excs,
    measure_label=_("到期账户已停用")))


# ---- 11. Every customer has an active primary customer manager ---------------------------------------------------------
def _no_manager_q() -> Q:
    from bankcrm.customers.models import ManagerAssignment

    active = ManagerAssignment.objects.filter(customer_id=OuterRef("pk"), role="primary", ended_at__isnull=True,
                                              staff__is_active=True)
    return ~Q(Exists(active))


def _manager_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from bankcrm.customers.models import ManagerAssignment

    rows = list(_only(_customers(scope).filter(_no_manager_q()), only)
                .values("id", "customer_no", "name", "branch_id").order_by("id"))
    inactive = dict(ManagerAssignment.objects.filter(customer_id__in=[r["id"] for r in rows], role="primary",
                                                     ended_at__isnull=True).values_list("customer_id", "staff_id"))
    for r in rows:
        staff_id = inactive.get(r["id"])
        yield Exc(f"customer_without_manager:customers.Customer:{r['id']}", "customers.Customer", str(r["id"]),
                  _customer_repr(r["customer_no"], r["name"]), r["branch_id"], staff_id,
                  str(_("主管客户经理已离岗，客户尚未移交")) if staff_id else str(_("没有主管客户经理")))


register(Control(
    "customer_without_manager", _("客户有在岗的主管客户经理"), ("cm-relationships", "principle-customer-centred"),
    "medium", _("每位正常客户都有一名在岗的主管客户经理；客户经理离岗时客户已移交。"),
    population=lambda scope: _customers(scope).count(),
    exceptions=_manager_excs,
    measure_label=_("有主管客户经理")))


# ---- 12. Dormant staff accounts -----------------------------------------------------------------------------------------
def _dormant_q() -> Q:
    cutoff = timezone.now() - timedelta(days=params.value("staff.dormant_account"))
    return Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff)


def _dormant_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    qs = _only(_staff(scope).filter(_dormant_q()), only)
    for r in qs.values("id", "staff_no", "name", "branch_id", "last_login").order_by("id"):
        detail = (_("最近登录 %(d)s，超过 %(n)s 天未登录") % {"d": timezone.localdate(r["last_login"]),
                                                           "n": params.value("staff.dormant_account")}
                  if r["last_login"] else _("账户启用后从未登录"))
        yield Exc(f"dormant_staff:org.Staff:{r['id']}", "org.Staff", str(r["id"]),
                  _staff_repr(r["staff_no"], r["name"]), r["branch_id"], r["id"], str(detail))


register(Control(
    "dormant_staff", _("长期未使用的员工账户"), ("principle-integrity", "scope-all-staff"), "low",
    _("启用的员工账户在规则参数 staff.dormant_account 规定的天数内登录过；长期不用的账户应停用。"),
    population=lambda scope: _staff(scope).count(),
    exceptions=_dormant_excs,
    measure_label=_("账户在用")))

# ---- 12. Quarterly access reviews done on time ------------------------------------------------------------------------
def _review_items(scope: str | None) -> QuerySet:
    from .models import AccessReviewItem

    today = _today()
    return _scoped(AccessReviewItem.objects.filter(review__due_on__lt=today,
                                                   review__due_on__gte=today - relativedelta(years=1)),
                   "review__branch_path", scope)


def _access_review_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from .access_review_selectors import access_review_overdue_items

    qs = _only(_scoped(access_review_overdue_items(), "review__branch_path", scope), only)
    for r in qs.values("id", "role", "staff__staff_no", "staff__name", "review__period", "review__due_on",
                       "review__branch_id", "review__reviewer_id"):
        yield Exc(f"access_review:supervision.AccessReviewItem:{r['id']}", "supervision.AccessReviewItem", str(r["id"]),
                  f"{_staff_repr(r['staff__staff_no'], r['staff__name'])} · {access.ROLE_LABELS.get(r['role'], r['role'])}",
                  r["review__branch_id"], r["review__reviewer_id"],
                  str(_("%(p)s 权限复核已于 %(d)s 到期，该角色仍未确认或撤销")) % {
                      "p": r["review__period"], "d": r["review__due_on"]})


register(Control(
    "access_review", _("季度权限复核"), ("scope-all-staff", "principle-integrity", "compliance-manager"), "medium",
    _("每季度由负责人在复核期限前确认或撤销下属员工的每一项角色（过去 12 个月内到期的复核）。"),
    population=lambda scope: _review_items(scope).count(),
    exceptions=_access_review_excs,
    measure_label=_("角色按期复核")))


# ---- 13. Mandatory leave of key posts ------------------------------------------------------------------------------------
def _key_posts(scope: str | None) -> QuerySet:
    from .conduct_selectors import conduct_key_post_staff

    return _scoped(conduct_key_post_staff(), "branch__path", scope)


def _leave_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from .conduct_selectors import conduct_leave_overdue

    qs = _only(_scoped(conduct_leave_overdue(), "branch__path", scope), only)
    detail = str(_("过去 %(m)s 个月内没有连续 %(d)s 天以上的强制休假记录")) % {
        "m": params.value("conduct.mandatory_leave_period"), "d": params.value("conduct.mandatory_leave_days")}
    for r in qs.values("id", "staff_no", "name", "branch_id"):
        yield Exc(f"mandatory_leave_overdue:org.Staff:{r['id']}", "org.Staff", str(r["id"]),
                  _staff_repr(r["staff_no"], r["name"]), r["branch_id"], r["id"], detail)


register(Control(
    "mandatory_leave_overdue", _("关键岗位强制休假"), ("principle-integrity", "rm-risk-control"), "medium",
    _("运营、风控等关键岗位员工在规则参数 conduct.mandatory_leave_period 个月内休过连续 conduct.mandatory_leave_days "
      "天以上的强制休假（关键岗位由设置 BANKCRM_KEY_POST_ROLES 规定）。"),
    population=lambda scope: _key_posts(scope).count(),
    exceptions=_leave_excs,
    measure_label=_("按期强制休假")))


# ---- 14. Key-post rotation --------------------------------------------------------------------------------------------------
def _rotation_excs(scope: str | None, only: Any = None) -> Iterator[Exc]:
    from .conduct_selectors import conduct_rotation_overdue

    qs = _only(_scoped(conduct_rotation_overdue(), "branch__path", scope), only)
    detail = str(_("在同一关键岗位任职超过 %(n)s 年，未轮岗")) % {"n": params.value("conduct.rotation_years")}
    for r in qs.values("id", "staff_no", "name", "branch_id"):
        yield Exc(f"rotation_overdue:org.Staff:{r['id']}", "org.Staff", str(r["id"]),
                  _staff_repr(r["staff_no"], r["name"]), r["branch_id"], r["id"], detail)


register(Control(
    "rotation_overdue", _("关键岗位定期轮岗"), ("principle-integrity", "rm-risk-control"), "low",
    _("关键岗位员工在同一岗位任职不超过规则参数 conduct.rotation_years 年。"),
    population=lambda scope: _key_posts(scope).count(),
    exceptions=_rotation_excs,
    measure_label=_("按期轮岗")))

# ---- Manual controls: carried out by people, evidenced by inspections and reviews ------------------------------------
for _code, _label, _clauses, _desc in (
    ("periodic_inspection", _("定期检查（现场/非现场）"), ("supervision-periodic-checks", "compliance-manager"),
     _("按计划对各机构开展检查，抽样核查客户、交易、投诉，发现问题限期整改。")),
    ("audit_trail", _("审计日志与完整性校验"), ("principle-integrity", "compliance-manager"),
     _("所有状态变更、个人信息查看与导出留痕，审计链可校验、可导出签名摘要。")),
    ("conduct_signals", _("员工行为监测"), ("principle-privacy", "principle-integrity"),
     _("查看非管户客户过多、批量查看完整信息、非工作时间操作等异常行为自动预警。")),
):
    register(Control(_code, _label, _clauses, "medium", _desc))


# ---- The run -------------------------------------------------------------------------------------------------------------
def controls_run(*, actor: Any, codes: Iterable[str] | None = None) -> list[Any]:
    """Run the automated checks (all, or ``codes``) and record each run; see the module docstring. ``actor`` is the
    compliance manager who pressed "run now", or None for the nightly job. Returns the ControlRun rows."""

    if actor is not None:
        access.require(actor, "supervision.run_controls")
    chosen = [c for c in automated() if codes is None or c.code in set(codes)]
    runs = []
    with transaction.atomic():
        for control in chosen:
            runs.append(_run_one(control, actor))
        summary = {r.control: {"status": r.status, "population": r.population, "exceptions": r.exceptions,
                               "new": r.new_findings, "resolved": r.resolved_findings} for r in runs}
        audit.record(actor=actor, verb="supervision.controls_run", target_type="supervision.ControlRun",
                     target_id=runs[-1].pk if runs else "", target_repr=f"{len(runs)} controls", after=summary)
    return runs


def _run_one(control: Control, actor: Any) -> Any:
    """One control in its own savepoint: a failing check is recorded as failed and does not stop the others."""
    from .finding_services import default_owners, finding_number
    from .models import Clause, ControlRun, Finding

    now = timezone.now()
    run = ControlRun.objects.create(control=control.code, started_at=now,
                                    triggered_by=actor if getattr(actor, "pk", None) else None)
    try:
        with transaction.atomic():
            assert control.population is not None and control.exceptions is not None
            population = control.population(None)
            excs = {e.key: e for e in control.exceptions(None)}
            live = {f.key: f for f in Finding.objects.filter(control=control.code, source=Finding.Source.CONTROL)
                    .exclude(status=Finding.Status.CLOSED).exclude(key="").only("id", "key", "auto_resolved_at")}
            new = [e for k, e in excs.items() if k not in live]
            gone = [f.pk for k, f in live.items() if k not in excs and f.auto_resolved_at is None]
            back = [f.pk for k, f in live.items() if k in excs and f.auto_resolved_at is not None]
            created = 0
            if new:
                created = _bulk_raise(control, new, run, now, default_owners, finding_number, Clause)
            resolved = Finding.objects.filter(pk__in=gone).update(auto_resolved_at=now) if gone else 0
            if back:
                Finding.objects.filter(pk__in=back).update(auto_resolved_at=None)
            run.population, run.exceptions = population, len(excs)
            run.new_findings, run.resolved_findings = created, resolved
            run.status, run.finished_at = ControlRun.Status.DONE, timezone.now()
            run.save()
    except Exception as exc:
        run.status, run.finished_at, run.error = ControlRun.Status.FAILED, timezone.now(), f"{type(exc).__name__}: {exc}"[:2000]
        run.save(update_fields=["status", "finished_at", "error"])
    return run


def _bulk_raise(control: Control, new: list[Exc], run: Any, now: datetime, default_owners: Any, finding_number: Any,
                Clause: Any) -> int:
    """Findings for new exceptions in one insert: numbers reserved as a block, owners resolved once per branch. A
    concurrent run that raised the same key first wins (the partial unique constraint; conflicts are skipped)."""
    from bankcrm.org.models import Branch

    from .models import Finding

    paths = dict(Branch.objects.filter(pk__in={e.branch_id for e in new}).values_list("id", "path"))
    owners = default_owners(set(paths.values()))
    clause = _primary_clause(control, Clause)
    due = fr.due_on_for(control.severity, timezone.localdate(now))
    numbers = iter(sequences.reserve("supervision.finding", len(new)))
    rows = []
    for e in new:
        path = paths[e.branch_id]
        rows.append(Finding(
            number=finding_number(next(numbers), timezone.localdate(now)), source=Finding.Source.CONTROL,
            control=control.code, clause=clause, key=e.key[:120], severity=control.severity,
            title=str(control.label)[:200], detail=e.detail, target_type=e.target_type, target_id=e.target_id,
            target_repr=e.target_repr[:200], branch_id=e.branch_id, branch_path=path, staff_id=e.staff_id,
            owner_id=owners.get(path), status=Finding.Status.OPEN, due_on=due, raised_at=now, run=run))
    before = Finding.objects.filter(run=run).count()
    Finding.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return Finding.objects.filter(run=run).count() - before


def _primary_clause(control: Control, Clause: Any) -> Any:
    """The first of the control's clauses (the registry lists the most specific first) that is installed."""
    found = {c.code: c for c in Clause.objects.filter(code__in=control.clause_codes)}
    return next((found[c] for c in control.clause_codes if c in found), None)


def raise_for_exception(*, actor: Any, code: str, target_id: Any) -> Any:
    """The "raise finding" button on a live exception that appeared since the last run: re-checks the exception now
    (in the actor's scope) and raises its keyed finding (or returns the live one)."""
    from bankcrm.core.errors import NotFound

    from .finding_services import finding_raise
    from .models import Clause

    access.require(actor, "supervision.findings")
    control = get(code)
    if control is None or not control.automated:
        raise NotFound("control_not_found", _("控制不存在"))
    assert control.exceptions is not None
    exc = next(iter(control.exceptions(access.scope_root(actor), only=target_id)), None)
    if exc is None:
        raise NotFound("exception_not_found", _("该例外已不存在（数据已更正）"))
    clause = _primary_clause(control, Clause)
    return finding_raise(actor=actor, source="control", title=str(control.label), severity=control.severity,
                         branch_id=exc.branch_id, target_type=exc.target_type, target_id=exc.target_id,
                         target_repr=exc.target_repr, staff_id=exc.staff_id, clause_code=clause.code if clause else "",
                         control=control.code, key=exc.key, detail=exc.detail)


def nightly() -> list[Any]:
    """The nightly job: every automated control, as the system."""
    return controls_run(actor=None)
