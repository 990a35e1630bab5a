"""The access policy: one readable table of who may do what, and to which records.

Three layers, each checked by `require`:
1. **Capability → roles** (POLICY). A member of staff holds one or more roles.
2. **Ceilings by employment type** (CEILINGS): tags a type can never exercise, whatever its roles say. Interns and
   temporary workers never unmask personal data, approve, export or sell high-risk products; consultants are
   read-mostly (no approvals, exports, money movement or administration).
3. **Row scope** (`branch_scope_q`): supervisors see their branch subtree; other staff see their own branch (and
   later features narrow further, e.g. customer managers to the customers they manage); head-office risk and
   compliance managers and administrators see every branch.

Denials raise `errors.PermissionDenied` and are written to the security log by the caller's entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .errors import PermissionDenied


class Role(StrEnum):
    CUSTOMER_MANAGER = "customer_manager"
    OPERATIONS_MANAGER = "operations_manager"
    RISK_MANAGER = "risk_manager"
    COMPLIANCE_MANAGER = "compliance_manager"
    BRANCH_SUPERVISOR = "branch_supervisor"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.CUSTOMER_MANAGER: _("客户经理"),
    Role.OPERATIONS_MANAGER: _("运营经理"),
    Role.RISK_MANAGER: _("风控经理"),
    Role.COMPLIANCE_MANAGER: _("合规经理"),
    Role.BRANCH_SUPERVISOR: _("网点负责人"),
    Role.ADMIN: _("系统管理员"),
}


class EmploymentType(StrEnum):
    EMPLOYEE = "employee"
    CONSULTANT = "consultant"
    INTERN = "intern"
    TEMPORARY = "temporary"


EMPLOYMENT_LABELS = {
    EmploymentType.EMPLOYEE: _("正式员工"),
    EmploymentType.CONSULTANT: _("顾问"),
    EmploymentType.INTERN: _("实习生"),
    EmploymentType.TEMPORARY: _("临时工"),
}

# Tags name what a capability exposes; ceilings are written in tags so a new capability is capped by declaring them.
APPROVE, UNMASK, EXPORT, ADMIN, MONEY, HIGH_RISK_SALE, COMPLIANCE, WRITE = (
    "approve", "unmask", "export", "admin", "money", "high_risk_sale", "compliance", "write",
)

CEILINGS: dict[EmploymentType, frozenset[str]] = {
    EmploymentType.EMPLOYEE: frozenset(),
    EmploymentType.CONSULTANT: frozenset({APPROVE, EXPORT, ADMIN, MONEY, HIGH_RISK_SALE}),
    EmploymentType.INTERN: frozenset({APPROVE, UNMASK, EXPORT, ADMIN, HIGH_RISK_SALE}),
    EmploymentType.TEMPORARY: frozenset({APPROVE, UNMASK, EXPORT, ADMIN, HIGH_RISK_SALE}),
}

# Capabilities whose holders must use TOTP at every login (approvers, compliance, administrators).
PRIVILEGED_TAGS = frozenset({APPROVE, ADMIN, COMPLIANCE})

R = Role
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Capability:
    code: str
    roles: frozenset[Role]
    tags: frozenset[str] = field(default_factory=frozenset)
    label: Any = ""


POLICY: dict[str, Capability] = {}


def capability(code: str, roles: Iterable[Role], tags: Iterable[str] = (), label: Any = "") -> None:
    """Declare a capability. Later apps declare theirs from their `access.py`, imported in AppConfig.ready."""
    POLICY[code] = Capability(code, frozenset(roles), frozenset(tags), label)


# ---- The foundation's capabilities ------------------------------------------------------------------------------
capability("core.home", ALL_ROLES, label=_("工作台"))
capability("core.view_parameters", ALL_ROLES, label=_("查看规则参数"))
capability("core.manage_parameters", {R.ADMIN}, {ADMIN, WRITE}, _("修改规则参数"))
capability("core.view_calendar", ALL_ROLES, label=_("查看工作日历"))
capability("core.manage_calendar", {R.ADMIN}, {ADMIN, WRITE}, _("维护工作日历"))
capability("core.view_audit", {R.COMPLIANCE_MANAGER, R.ADMIN}, {COMPLIANCE}, _("查看审计日志"))
capability("core.verify_audit", {R.COMPLIANCE_MANAGER, R.ADMIN}, {COMPLIANCE}, _("校验审计链"))
capability("core.view_security_log", {R.COMPLIANCE_MANAGER, R.ADMIN}, {COMPLIANCE}, _("查看安全日志"))
capability("core.view_access_log", {R.COMPLIANCE_MANAGER}, {COMPLIANCE}, _("查看个人信息访问日志"))
capability(
    "core.unmask_personal_data",
    {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR},
    {UNMASK},
    _("查看完整个人信息（需填写事由）"),
)
capability("org.view_branches", ALL_ROLES, label=_("查看机构"))
capability("org.manage_branches", {R.ADMIN}, {ADMIN, WRITE}, _("管理机构"))
capability("org.view_staff", {R.ADMIN, R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, label=_("查看员工"))
capability("org.manage_staff", {R.ADMIN}, {ADMIN, WRITE}, _("管理员工"))
# Taking a role away (never granting one) after a periodic access review: the reviewing supervisor or compliance.
capability("org.revoke_role", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE}, _("撤销员工角色（权限复核）"))
capability("org.own_api_tokens", ALL_ROLES, {WRITE}, _("管理本人 API 令牌"))
capability("approvals.submit", ALL_ROLES, {WRITE}, _("提交待复核事项"))
capability(
    "approvals.approve",
    {R.BRANCH_SUPERVISOR, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.ADMIN},
    {APPROVE},
    _("复核（审批）"),
)


class Actor(Protocol):
    pk: Any
    is_authenticated: bool

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def employment_type(self) -> str: ...

    @property
    def branch_path(self) -> str: ...


def _roles(actor: Any) -> frozenset[str]:
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", True):
        return frozenset()
    return frozenset(actor.roles)


def ceiling(actor: Any) -> frozenset[str]:
    return CEILINGS.get(EmploymentType(getattr(actor, "employment_type", EmploymentType.EMPLOYEE)), frozenset())


def can(actor: Any, code: str) -> bool:
    cap = POLICY.get(code)
    if cap is None:
        raise KeyError(f"undeclared capability {code!r}")
    roles = _roles(actor)
    if not roles & cap.roles:
        return False
    return not (cap.tags & ceiling(actor))


def capabilities_of(actor: Any) -> frozenset[str]:
    return frozenset(code for code in POLICY if can(actor, code))


def requires_totp(actor: Any) -> bool:
    roles = _roles(actor)
    return any(cap.tags & PRIVILEGED_TAGS and roles & cap.roles and not (cap.tags & ceiling(actor))
               for cap in POLICY.values())


def denial_reason(actor: Any, code: str) -> str:
    cap = POLICY[code]
    blocked = cap.tags & ceiling(actor)
    if _roles(actor) & cap.roles and blocked:
        return str(_("您的用工类型（%(t)s）不允许此操作") % {"t": EMPLOYMENT_LABELS[EmploymentType(actor.employment_type)]})
    return str(_("您没有“%(c)s”的权限") % {"c": cap.label or code})


def require(actor: Any, code: str) -> None:
    if not can(actor, code):
        raise PermissionDenied("permission_denied", denial_reason(actor, code), capability=code)


# ---- Row scope ---------------------------------------------------------------------------------------------------
HEAD_OFFICE_WIDE_ROLES = frozenset({Role.ADMIN, Role.RISK_MANAGER, Role.COMPLIANCE_MANAGER})


def sees_all_branches(actor: Any) -> bool:
    """Administrators, and risk and compliance managers based at head office (a root branch), see every branch."""
    roles = _roles(actor)
    if Role.ADMIN in roles:
        return True
    return bool(roles & HEAD_OFFICE_WIDE_ROLES) and actor.branch_path.count("/") <= 2


def scope_root(actor: Any) -> str | None:
    """The branch path prefix an actor's branch-scoped reads are limited to; None means every branch."""
    if sees_all_branches(actor):
        return None
    return actor.branch_path


def branch_scope_q(actor: Any, path_field: str) -> Q:
    """Q limiting rows whose ``path_field`` (a materialised branch path) lies in the actor's scope.

    A portable LIKE 'prefix%' filter: it uses the b-tree index on PostgreSQL (text_pattern_ops) and on SQLite.
    """
    if not _roles(actor):
        return Q(pk__in=[])
    root = scope_root(actor)
    if root is None:
        return Q()
    return Q(**{f"{path_field}__startswith": root})


# Gates: checks that higher apps register (e.g. certification from `people`) and that `require_gate` asks.
GateCheck = Callable[..., None]
GATES: dict[str, list[GateCheck]] = {}


def register_gate(action: str, check: GateCheck) -> None:
    GATES.setdefault(action, []).append(check)


def require_gate(action: str, actor: Any, **context: Any) -> None:
    for check in GATES.get(action, []):
        check(actor, **context)
