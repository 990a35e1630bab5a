"""Scoped reads of insights and life events, and the 360 panel's section.

Both follow the customer: visible to staff holding ``engagement.view`` who may see the customer
(``Customer.objects.visible_to``). An insight's sentence is the customer's words as staff wrote them (a note, a
complaint, a survey comment): it is shown only to those who may see the customer, never in lists of other customers.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from bankcrm.core import access
from bankcrm.core.api.base import MAX_ID

from .insight_services import active_dictionary
from .models import Insight, LifeEvent

PANEL_INSIGHTS = 6
PANEL_EVENTS = 6
UPCOMING_DAYS = 30


def _customers(actor: Any) -> QuerySet:
    from bankcrm.customers.models import Customer

    return Customer.objects.visible_to(actor).values("pk")


def insights_visible(actor: Any) -> QuerySet[Insight]:
    if not access.can(actor, "engagement.view"):
        return Insight.objects.none()
    return Insight.objects.filter(customer__in=_customers(actor))


def life_events_visible(actor: Any) -> QuerySet[LifeEvent]:
    if not access.can(actor, "engagement.view"):
        return LifeEvent.objects.none()
    return LifeEvent.objects.filter(customer__in=_customers(actor))


def insight_queue(actor: Any, *, customer_id: Any = "", intent: str = "", source: str = "",
                  sentiment: str = "") -> QuerySet[Insight]:
    qs = insights_visible(actor)
    if str(customer_id).isdigit():
        qs = qs.filter(customer_id=int(customer_id)) if int(customer_id) <= MAX_ID else qs.none()
    if intent:
        qs = qs.filter(intent=intent)
    if source in Insight.Source.values:
        qs = qs.filter(source=source)
    if sentiment in Insight.Sentiment.values:
        qs = qs.filter(sentiment=sentiment)
    return qs.order_by("-found_at", "-id")


def life_event_queue(actor: Any, *, customer_id: Any = "", kind: str = "", start: date | None = None,
                     end: date | None = None) -> QuerySet[LifeEvent]:
    """Events of visible customers between ``start`` (default today) and ``end`` (default: no limit)."""
    qs = life_events_visible(actor).filter(on_date__gte=start or timezone.localdate())
    if end is not None:
        qs = qs.filter(on_date__lte=end)
    if str(customer_id).isdigit():
        qs = qs.filter(customer_id=int(customer_id)) if int(customer_id) <= MAX_ID else qs.none()
    if kind in LifeEvent.Kind.values:
        qs = qs.filter(kind=kind)
    return qs.order_by("on_date", "id")


def intent_counts(actor: Any, customer: Any) -> list[dict[str, Any]]:
    """How often each intent was found for the customer, in the dictionary's order (for filter chips)."""
    d = active_dictionary()
    counts = {r["intent"]: r["n"] for r in insights_visible(actor).filter(customer=customer).values("intent")
              .annotate(n=Count("id")).order_by()}
    out = [{"code": i.code, "label": i.label, "count": counts.pop(i.code)} for i in d.intents if i.code in counts]
    out += [{"code": code, "label": code, "count": n} for code, n in sorted(counts.items())]  # retired intents
    return out


def highlight(sentence: str, keyword: str) -> list[tuple[str, bool]]:
    """The sentence in pieces, the first occurrence of the keyword marked (rendered with <mark>, escaped)."""
    at = sentence.find(keyword) if keyword else -1
    if at < 0:
        return [(sentence, False)]
    return [p for p in ((sentence[:at], False), (keyword, True), (sentence[at + len(keyword):], False)) if p[0]]


def decorate(rows: list[Insight]) -> list[Insight]:
    """Adds ``label`` (the intent's Chinese word) and ``pieces`` (the highlighted sentence) to each row."""
    d = active_dictionary()
    for r in rows:
        r.label = d.label(r.intent)  # type: ignore[attr-defined]
        r.pieces = highlight(r.sentence, r.keyword)  # type: ignore[attr-defined]
    return rows


def source_url(row: Insight) -> str:
    """Where the sentence came from, if the viewer may open it (interactions and complaints have pages)."""
    from django.urls import NoReverseMatch, reverse

    names = {Insight.Source.INTERACTION: "engagement:interaction", Insight.Source.COMPLAINT: "service:complaint",
             Insight.Source.REQUEST: "service:request"}
    name = names.get(row.source)
    if not name:
        return ""
    try:
        return reverse(name, args=[row.source_id])
    except NoReverseMatch:
        return ""


def panel_insights_context(actor: Any, customer: Any) -> dict[str, Any]:
    """Context of ``engagement/_panel_insights.html`` (documented at the top of the template). The caller has
    checked that the actor may see the customer; rows are read through the scoped selectors all the same."""
    if not access.can(actor, "engagement.view"):
        return {"insights_enabled": False}
    today = timezone.localdate()
    recent = decorate(list(insights_visible(actor).filter(customer=customer).order_by("-found_at", "-id")[:PANEL_INSIGHTS]))
    events = list(life_event_queue(actor, customer_id=customer.pk, start=today,
                                   end=today + timedelta(days=UPCOMING_DAYS))[:PANEL_EVENTS])
    for e in events:
        e.text = event_text(e)  # type: ignore[attr-defined]
    return {
        "insights_enabled": True,
        "insights_recent": recent,
        "insights_total": insights_visible(actor).filter(customer=customer).count() if recent else 0,
        "insights_intents": intent_counts(actor, customer) if recent else [],
        "insights_events": events,
        "insights_events_days": UPCOMING_DAYS,
        "insights_today": today,
        "insights_customer_id": customer.pk,
    }


def event_text(e: LifeEvent) -> str:
    """A short Chinese line for an event ("定期存款到期 · 三年期定期 · 50,000.00 元")."""
    from bankcrm.core.money import format_amount

    d = e.detail or {}
    parts = [str(e.get_kind_display())]
    if e.kind == LifeEvent.Kind.BIRTHDAY and d.get("age"):
        parts.append(f"{d['age']}岁")
    if d.get("product"):
        parts.append(str(d["product"]))
    amount = d.get("amount_fen", d.get("balance_fen", d.get("cost_fen")))
    if isinstance(amount, int):
        parts.append(f"{format_amount(amount, d.get('currency') or 'CNY')} {d.get('currency') or 'CNY'}")
    if e.kind == LifeEvent.Kind.SCHOOL and d.get("school"):
        parts.append(str(d["school"]))
    return " · ".join(parts)
