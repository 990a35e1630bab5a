"""Training gates privileges: the certificate checks registered with ``core.access.register_gate`` for each gate
point. Which certificate a point needs is configuration (``GateRule`` rows, edited by administrators on 准入规则);
with no active rule for a point the check passes.

A rule applies to a call when its scope matches the call's context: for ``risk.sell_certified`` the product's risk
level (``product_level >= min_product_level``, or every level when the minimum is empty); for ``approvals.approve``
the pending action's code (``action_code.startswith(action_prefix)``, or every action when the prefix is blank).
The actor passes a rule with a certificate of the course that is valid today for the course's current version and
not revoked. A refusal is ``PermissionDenied`` with the stable code ``certificate_required`` or
``certificate_expired`` and a message naming the course (and when the certificate expired), e.g.
「需要有效的《适当性管理与销售行为规范》培训证书（已于 2026-10-01 过期）」. Nothing is written: the caller's transaction
rolls back whatever it had begun.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import register_gate
from bankcrm.core.errors import PermissionDenied

from . import training_rules as rules
from .models import Certificate, GateRule

GATE_POINTS: dict[str, Any] = {
    "risk.sell_certified": _("销售高风险产品（按产品风险等级）"),
    "approvals.approve": _("复核待复核事项（按事项代码前缀，如 ledger. 大额交易）"),
    "service.handle_complaint": _("办理投诉（受理、作出处理决定）"),
    "risk.case_decide": _("反洗钱案件决定（排除可疑、确认上报）"),
}


def rule_applies(rule: GateRule, context: dict[str, Any]) -> bool:
    if rule.gate == "risk.sell_certified" and rule.min_product_level is not None:
        level = context.get("product_level")
        return isinstance(level, int) and level >= rule.min_product_level
    if rule.gate == "approvals.approve" and rule.action_prefix:
        return str(context.get("action_code") or "").startswith(rule.action_prefix)
    return True


def refusal(actor: Any, rule: GateRule, *, today: Any = None) -> PermissionDenied | None:
    """Why ``actor`` fails ``rule`` today (None: they pass). Looks at the actor's best certificate of the course."""
    today = today or timezone.localdate()
    course = rule.course
    certs = list(Certificate.objects.filter(staff_id=actor.pk, course_id=course.pk)
                 .order_by("-course_version", "-issued_at", "-pk")[:20])
    states = [(c, rules.certificate_state(cert_version=c.course_version, course_version=course.version,
                                          expires_on=c.expires_on, revoked=c.revoked_at is not None, day=today))
              for c in certs]
    if any(state == rules.VALID for _c, state in states):
        return None
    base = gettext("需要有效的《%(c)s》培训证书") % {"c": course.title}
    params = {"capability": rule.gate, "gate": rule.gate, "course": course.code, "course_id": course.pk}
    expired = [c for c, state in states if state == rules.EXPIRED]
    if expired:
        day = max(c.expires_on for c in expired)
        return PermissionDenied("certificate_expired", base + gettext("（已于 %(d)s 过期）") % {"d": day.isoformat()},
                                expired_on=day.isoformat(), **params)
    if any(state == rules.OUTDATED for _c, state in states):
        detail = gettext("（课程已更新为第 %(v)d 版，请重新学习）") % {"v": course.version}
    elif states:
        detail = gettext("（原证书已撤销）")
    else:
        detail = ""
    return PermissionDenied("certificate_required", base + detail, **params)


def check(gate: str, actor: Any, **context: Any) -> None:
    """The gate check: every active rule of ``gate`` that applies must be passed. System actions (no actor) are
    not gated: the gates certify people."""
    if actor is None or not getattr(actor, "pk", None):
        return
    for rule in GateRule.objects.filter(gate=gate, active=True).select_related("course").order_by("pk"):
        if not rule_applies(rule, context):
            continue
        denied = refusal(actor, rule)
        if denied is not None:
            raise denied


def _register(gate: str) -> None:
    def gate_check(actor: Any, **context: Any) -> None:
        check(gate, actor, **context)

    gate_check.__name__ = f"people_certificate_{gate.replace('.', '_')}"
    gate_check.people_gate = gate  # type: ignore[attr-defined]  (tests find the registered checks by this mark)
    register_gate(gate, gate_check)


for _gate in GATE_POINTS:
    _register(_gate)
