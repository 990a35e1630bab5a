"""Risk reads for monitoring, alerts, cases and reports, scoped to the actor: head-office risk and compliance see
every branch; a branch supervisor sees the alerts and cases of customers of their subtree."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bankcrm.core import access

from .models import Alert, Case, MonitoringRule, RegulatoryReport, RiskProfile


def alerts_visible(actor: Any) -> QuerySet[Alert]:
    if not access.can(actor, "risk.alerts"):
        return Alert.objects.none()
    return Alert.objects.filter(access.branch_scope_q(actor, "branch_path"))


def cases_visible(actor: Any) -> QuerySet[Case]:
    if not access.can(actor, "risk.alerts"):
        return Case.objects.none()
    return Case.objects.filter(access.branch_scope_q(actor, "branch_path"))


def reports_visible(actor: Any) -> QuerySet[RegulatoryReport]:
    if not access.can(actor, "risk.report"):
        return RegulatoryReport.objects.none()
    return RegulatoryReport.objects.all()


def alert_list(actor: Any, *, status: str = "", rule: str = "", q: str = "") -> QuerySet[Alert]:
    qs = alerts_visible(actor).select_related("customer", "case")
    if status == "open":
        qs = qs.filter(status__in=Alert.OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule_code=rule)
    if q:
        qs = qs.filter(Q(customer__customer_no=q.strip()) | Q(case__number=q.strip()))
    return qs.order_by("-business_date", "-id")


def alert_get(actor: Any, pk: Any) -> Alert | None:
    if not str(pk).isdigit():
        return None
    return alerts_visible(actor).select_related("customer", "case", "rule").filter(pk=pk).first()


def case_get(actor: Any, pk: Any) -> Case | None:
    if not str(pk).isdigit():
        return None
    return cases_visible(actor).select_related("customer", "opened_by", "decided_by").filter(pk=pk).first()


def evidence(alert: Alert) -> list[Any]:
    """The transactions that fired the alert, with both accounts (numbers are masked by the templates)."""
    from bankcrm.ledger.models import JournalEntry

    return list(JournalEntry.objects.filter(pk__in=alert.entry_ids[:500]).select_related(
        "debit_account", "credit_account").order_by("posted_at", "id"))


def rules_current() -> list[MonitoringRule]:
    """The latest version of every rule (the one in force today or scheduled), with the version in force today."""
    today = timezone.localdate()
    latest: dict[str, MonitoringRule] = {}
    in_force: dict[str, int] = {}
    for r in MonitoringRule.objects.order_by("code", "-version"):
        latest.setdefault(r.code, r)
        if r.active and r.effective_from <= today and (r.effective_to is None or r.effective_to > today):
            in_force.setdefault(r.code, r.version)
    out = list(latest.values())
    for r in out:
        r.version_in_force = in_force.get(r.code)
    return out


def rule_history(code: str) -> list[MonitoringRule]:
    return list(MonitoringRule.objects.filter(code=code).select_related("created_by").order_by("-version"))


def customer_risk(actor: Any, customer: Any) -> dict[str, Any]:
    """What the 360 page shows of monitoring: open alerts and cases (only to staff who may see alerts)."""
    if not access.can(actor, "risk.alerts"):
        return {"alerts_visible": False}
    alerts = alerts_visible(actor).filter(customer=customer)
    return {"alerts_visible": True,
            "open_alerts": list(alerts.filter(status__in=Alert.OPEN_STATUSES).order_by("-business_date")[:5]),
            "open_alert_count": alerts.filter(status__in=Alert.OPEN_STATUSES).count(),
            "open_cases": list(cases_visible(actor).filter(customer=customer, status__in=[
                Case.Status.OPEN, Case.Status.ESCALATED]))}


def dashboard(actor: Any, *, today: date | None = None) -> dict[str, Any]:
    """Alerts by rule and age, the ratings distribution, reviews and reports due — scoped like the lists."""
    today = today or timezone.localdate()
    alerts = alerts_visible(actor)
    open_ = alerts.filter(status__in=Alert.OPEN_STATUSES)
    by_rule = list(open_.values("rule_code").annotate(n=Count("id")).order_by("rule_code"))
    ages = {"0-2": 0, "3-7": 0, "8-30": 0, "30+": 0}
    for d, n in open_.values_list("business_date").annotate(n=Count("id")):
        age = (today - d).days
        key = "0-2" if age <= 2 else "3-7" if age <= 7 else "8-30" if age <= 30 else "30+"
        ages[key] += n
    profiles = RiskProfile.objects.filter(access.branch_scope_q(actor, "branch_path"))
    ratings = {row["aml_level"] or "unrated": row["n"] for row in
               profiles.values("aml_level").annotate(n=Count("pk"))}
    soon = today + timedelta(days=30)
    return {
        "open_alerts": open_.count(),
        "new_alerts": open_.filter(status=Alert.Status.NEW).count(),
        "large_due": open_.filter(report_kind="large", due_on__isnull=False).order_by("due_on")[:10],
        "large_overdue": open_.filter(report_kind="large", due_on__lt=today).count(),
        "by_rule": by_rule,
        "ages": ages,
        "ratings": ratings,
        "reviews_due": profiles.filter(aml_review_due_on__lte=soon).count(),
        "reviews_overdue": profiles.filter(aml_review_due_on__lt=today).count(),
        "first_ratings_due": profiles.filter(aml_level="", aml_rating_due_on__isnull=False).count(),
        "suitability_expiring": profiles.filter(suitability_valid_until__lte=soon).count(),
        "cases_open": cases_visible(actor).filter(status=Case.Status.OPEN).count(),
        "reports_due": cases_visible(actor).filter(status=Case.Status.ESCALATED).order_by("report_due_on")[:10],
        "followups_due": cases_visible(actor).filter(status=Case.Status.REPORTED,
                                                     next_followup_on__lte=soon).order_by("next_followup_on")[:10],
    }
