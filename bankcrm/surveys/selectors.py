"""Survey reads, scoped to the actor: campaigns and the outbox by branch subtree; individual answers only for
customers the actor may see; analytics (aggregates, no personal data) by branch subtree — a customer manager's by
the customers they were surveyed for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncQuarter
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.access import Role

from . import rules
from .models import Campaign, Invitation, OutboxMessage, Response, SurveyTemplate


def templates_current() -> QuerySet[SurveyTemplate]:
    return SurveyTemplate.objects.filter(is_current=True).order_by("code")


def template_get(pk: Any) -> SurveyTemplate | None:
    return SurveyTemplate.objects.filter(pk=pk).first() if str(pk).isdigit() else None


def _ancestors(path: str) -> list[str]:
    parts = [p for p in (path or "").split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def campaigns_visible(actor: Any) -> QuerySet[Campaign]:
    """Campaigns of the actor's branch subtree, and (to read) those of the branches above that cover it."""
    if not access.can(actor, "surveys.view") and not access.can(actor, "surveys.manage_campaigns"):
        return Campaign.objects.none()
    return Campaign.objects.filter(access.branch_scope_q(actor, "branch_path")
                                   | Q(branch_path__in=_ancestors(getattr(actor, "branch_path", ""))))


def campaigns_manageable(actor: Any) -> QuerySet[Campaign]:
    """Campaigns the actor may change, sample and send: their branch subtree only."""
    if not access.can(actor, "surveys.manage_campaigns"):
        return Campaign.objects.none()
    return Campaign.objects.filter(access.branch_scope_q(actor, "branch_path"))


def campaign_get(actor: Any, pk: Any) -> Campaign | None:
    return campaigns_visible(actor).select_related("template", "branch").filter(pk=pk).first() \
        if str(pk).isdigit() else None


def responses_visible(actor: Any) -> QuerySet[Response]:
    """Answers of customers the actor may see (the customer scope of the customers app)."""
    from bankcrm.customers.models import Customer

    if not access.can(actor, "surveys.view"):
        return Response.objects.none()
    return Response.objects.filter(customer__in=Customer.objects.visible_to(actor).values("pk"))


def response_list(actor: Any, *, sentiment: str = "", low: str = "", campaign: str = "") -> QuerySet[Response]:
    qs = responses_visible(actor).select_related("customer", "invitation", "invitation__campaign",
                                                 "invitation__manager", "invitation__branch")
    if sentiment in Response.Sentiment.values:
        qs = qs.filter(sentiment=sentiment)
    if low == "1":
        qs = qs.filter(needs_followup=True)
    if campaign.isdigit():
        qs = qs.filter(invitation__campaign_id=int(campaign))
    return qs.order_by("-created_at", "-id")


def response_get(actor: Any, pk: Any) -> Response | None:
    return response_list(actor).filter(pk=pk).first() if str(pk).isdigit() else None


def outbox_visible(actor: Any) -> QuerySet[OutboxMessage]:
    if not access.can(actor, "surveys.view_outbox"):
        return OutboxMessage.objects.none()
    return OutboxMessage.objects.filter(access.branch_scope_q(actor, "branch_path")).select_related(
        "invitation", "invitation__campaign")


def customer_answers(actor: Any, customer: Any) -> list[Response]:
    return list(responses_visible(actor).filter(customer=customer).select_related(
        "invitation__campaign", "invitation__template").order_by("-created_at")[:20])


# ---- Analytics ------------------------------------------------------------------------------------------------------
def _manager_only(actor: Any) -> bool:
    roles = frozenset(getattr(actor, "roles", ()))
    return bool(roles) and roles <= {Role.CUSTOMER_MANAGER}


def _analytics_scope(actor: Any, prefix: str = "invitation__") -> Q:
    """Customer managers: the answers of the customers they were surveyed for; others: their branch subtree."""
    if _manager_only(actor):
        return Q(**{f"{prefix}manager": actor})
    return access.branch_scope_q(actor, f"{prefix}branch_path")


DIMENSIONS = {
    "branch": ("invitation__branch__name", _("分支机构")),
    "manager": ("invitation__manager__name", _("客户经理")),
    "product": ("invitation__product", _("产品")),
    "channel": ("invitation__channel", _("渠道")),
    "trigger": ("invitation__trigger", _("触发场景")),
}


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    n_csat, n_nps = row["n_csat"], row["n_nps"]
    return {
        "answers": row["n"],
        "csat": round(100 * row["csat_good"] / n_csat, 1) if n_csat else None,
        "nps": round(100 * (row["promoters"] - row["detractors"]) / n_nps, 1) if n_nps else None,
        "negative": row["negative"], "followups": row["followups"],
    }


AGG = dict(n=Count("id"), n_csat=Count("id", filter=Q(csat__isnull=False)),
           csat_good=Count("id", filter=Q(csat__gte=4)), n_nps=Count("id", filter=Q(nps__isnull=False)),
           promoters=Count("id", filter=Q(nps__gte=9)), detractors=Count("id", filter=Q(nps__lte=6)),
           negative=Count("id", filter=Q(sentiment="negative")), followups=Count("id", filter=Q(needs_followup=True)))


def analytics(actor: Any, *, months: int = 12, campaign: str = "") -> dict[str, Any]:
    """CSAT (% 4–5) and NPS (promoters − detractors) overall, by branch, manager, product, channel and trigger, and
    monthly and quarterly trends over the last ``months`` months; sentiment counts and the top keywords."""
    if not access.can(actor, "surveys.view"):
        return {}
    since = timezone.now() - timedelta(days=31 * months)
    qs = Response.objects.filter(_analytics_scope(actor), created_at__gte=since)
    if campaign.isdigit():
        qs = qs.filter(invitation__campaign_id=int(campaign))
    total = _figures(qs.aggregate(**AGG))
    by: dict[str, list[dict[str, Any]]] = {}
    labels = {**dict(Invitation._meta.get_field("channel").choices), **dict(Invitation._meta.get_field("trigger").choices)}
    for dim, (field, _label) in DIMENSIONS.items():
        rows = qs.values(field).annotate(**AGG).order_by(field)
        by[dim] = [{"key": str(labels.get(r[field], r[field])) if r[field] else str(_("（未关联）")), **_figures(r)}
                   for r in rows]
    trend = []
    for r in qs.annotate(m=TruncMonth("created_at")).values("m").annotate(**AGG).order_by("m"):
        trend.append({"period": timezone.localtime(r["m"]).strftime("%Y-%m") if timezone.is_aware(r["m"])
                      else r["m"].strftime("%Y-%m"), **_figures(r)})
    quarters = []
    for r in qs.annotate(q=TruncQuarter("created_at")).values("q").annotate(**AGG).order_by("q"):
        d = r["q"].date() if hasattr(r["q"], "date") else r["q"]
        quarters.append({"period": rules.period_label(rules.period_key(d, "quarterly")), **_figures(r)})
    kw: dict[str, int] = {}
    for words in qs.exclude(keywords=[]).values_list("keywords", flat=True):
        for w in words or []:
            kw[w] = kw.get(w, 0) + 1
    sentiments = dict(qs.exclude(sentiment="").values_list("sentiment").annotate(n=Count("id")).values_list(
        "sentiment", "n"))
    return {"total": total, "by": by, "trend": trend, "quarters": quarters,
            "keywords": sorted(kw.items(), key=lambda p: (-p[1], p[0]))[:15],
            "sentiments": {k: sentiments.get(k, 0) for k in Response.Sentiment.values},
            "invited": Invitation.objects.filter(_analytics_scope(actor, ""), sent_at__gte=since).count()}
