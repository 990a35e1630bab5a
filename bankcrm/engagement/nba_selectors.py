"""Scoped reads of segments, recommendations and the models' figures: a customer's segments are visible to whoever
may see the customer; statistics and distributions count only the customers in the actor's scope (a customer
manager: their own customers; branch staff: their subtree; head office: every branch)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access

from . import nba, propensity
from .models import ClusterModel, PropensityModel, Recommendation, Segment

R = Recommendation.Status


def _visible_customers(actor: Any) -> Q:
    from bankcrm.customers.models import Customer

    return Q(Exists(Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))))


def recommendations_visible(actor: Any) -> QuerySet[Recommendation]:
    return nba.recommendations_visible(actor)


def customer_recommendations(actor: Any, customer: Any, *, status: str = R.OPEN) -> QuerySet[Recommendation]:
    """A customer's recommendations (the caller has already checked the customer is visible)."""
    qs = recommendations_visible(actor).filter(customer_id=customer.pk).select_related("product", "decided_by",
                                                                                        "opportunity")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-score", "-id") if status == R.OPEN else qs.order_by("-created_at", "-id")


def recommendation_get(actor: Any, recommendation_id: Any) -> Recommendation:
    from bankcrm.core.errors import NotFound

    rec = (recommendations_visible(actor).select_related("customer", "product").filter(pk=recommendation_id).first()
           if str(recommendation_id).isdigit() else None)
    if rec is None:
        raise NotFound("recommendation_not_found", _("推荐不存在或无权查看"))
    return rec


def recommendation_queue(actor: Any, *, status: str = R.OPEN, kind: str = "") -> QuerySet[Recommendation]:
    qs = recommendations_visible(actor).select_related("customer", "product")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-score", "-id")


def customer_segments(actor: Any, customer: Any) -> dict[str, Any]:
    """The customer's open segment of each kind and the full history (newest first)."""
    rows = list(Segment.objects.filter(customer_id=customer.pk).order_by("kind", "-since", "-id"))
    current = {s.kind: s for s in rows if s.until is None}
    return {"current": current, "history": rows,
            "kinds": [(k, label, current.get(k)) for k, label in Segment.Kind.choices]}


def panel_nba_context(actor: Any, customer: Any) -> dict[str, Any]:
    """The 360 panel's segments-and-recommendations section (the caller has checked the customer is visible)."""
    seg = customer_segments(actor, customer)
    recs = list(customer_recommendations(actor, customer)[:5])
    return {"nba_segments": seg["kinds"], "nba_recommendations": recs,
            "nba_can_decide": access.can(actor, "engagement.recommend") and customer.status == "active",
            "nba_customer": customer, "nba_today": timezone.localdate(),
            "nba_default_follow_up": timezone.localdate() + timedelta(days=3)}


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz))


def _rows(counter: dict[str, Counter], labels: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for key, c in sorted(counter.items(), key=lambda kv: (-kv[1]["total"], kv[0])):
        total = c["total"]
        decided = c["accepted"] + c["declined"]
        out.append({"key": key, "label": labels.get(key, key) or _("（无）"), "total": total,
                    "open": c["open"], "accepted": c["accepted"], "declined": c["declined"], "expired": c["expired"],
                    "converted": c["converted"],
                    "acceptance_rate": round(c["accepted"] / decided, 4) if decided else None,
                    "conversion_rate": round(c["converted"] / total, 4) if total else None})
    return out


def conversion_stats(actor: Any, *, start: date, end: date) -> dict[str, Any]:
    """Recommendations made between ``start`` and ``end`` (inclusive) for customers in the actor's scope: how many
    were accepted, declined, expired and converted, by action (what triggered them), by product category and by the
    customer's value tier, RFM group and behaviour cluster when they were made."""
    lo, hi = _bounds(start, end)
    qs = (Recommendation.objects.filter(created_at__gte=lo, created_at__lt=hi).filter(_visible_customers(actor))
          .values_list("kind", "category", "status", "converted", "segments"))
    by: dict[str, dict[str, Counter]] = {k: defaultdict(Counter) for k in ("kind", "category", "tier", "rfm", "cluster")}
    seg_labels: dict[str, dict[str, str]] = {"tier": {}, "rfm": {}, "cluster": {}}
    total: Counter = Counter()
    for kind, category, status, converted, segs in qs:
        keys = {"kind": kind, "category": category or "greeting"}
        for k in ("tier", "rfm", "cluster"):
            s = (segs or {}).get(k) or {}
            code = s.get("code", "")
            keys[k] = code if k != "rfm" else s.get("label", "")  # RFM by its group, not its exact scores
            if code:
                seg_labels[k][keys[k]] = s.get("label", code)
        for k, key in keys.items():
            c = by[k][key]
            c["total"] += 1
            c[status] += 1
            c["converted"] += int(bool(converted))
        total["total"] += 1
        total[status] += 1
        total["converted"] += int(bool(converted))
    labels = {"kind": {k: str(v) for k, v in Recommendation.Kind.choices},
              "category": {**{k: str(v) for k, v in propensity.CATEGORIES.items()}, "greeting": _("客户关怀（无产品）")},
              **seg_labels}
    decided = total["accepted"] + total["declined"]
    return {"start": start, "end": end, "total": total["total"], "open": total["open"], "accepted": total["accepted"],
            "declined": total["declined"], "expired": total["expired"], "converted": total["converted"],
            "acceptance_rate": round(total["accepted"] / decided, 4) if decided else None,
            "conversion_rate": round(total["converted"] / total["total"], 4) if total["total"] else None,
            "window_days": _param("engagement.conversion_window"),
            **{f"by_{k}": _rows(v, labels[k]) for k, v in by.items()}}


def _param(code: str) -> int:
    from bankcrm.core import params

    return params.value(code)


def segment_overview(actor: Any) -> dict[str, Any]:
    """Distribution of the open segments of each kind over the customers in the actor's scope, and the models."""
    qs = Segment.objects.filter(until__isnull=True).filter(_visible_customers(actor))
    dist: dict[str, list[dict[str, Any]]] = {}
    for kind, _label in Segment.Kind.choices:
        rows = qs.filter(kind=kind).values("code", "label").annotate(n=Count("id")).order_by("-n", "code")
        if kind == Segment.Kind.RFM:  # by group; the exact scores are too many to chart
            groups: Counter = Counter()
            for r in rows:
                groups[r["label"]] += r["n"]
            dist[kind] = [{"code": k, "label": k, "n": n} for k, n in groups.most_common()]
        else:
            dist[kind] = [{"code": r["code"], "label": r["label"], "n": r["n"]} for r in rows]
    return {"distribution": dist, "total": {k: sum(r["n"] for r in v) for k, v in dist.items()},
            **model_figures()}


def model_figures() -> dict[str, Any]:
    """The latest cluster model (labels, sizes, centres in the features' units) and the propensity models."""
    cm = ClusterModel.objects.order_by("-version").first()
    cluster = None
    if cm is not None:
        sizes = cm.figures.get("sizes") or []
        raw = cm.figures.get("centers_raw") or []
        cluster = {"version": cm.version, "seed": cm.seed, "n_customers": cm.n_customers,
                   "inertia": round(cm.inertia, 3), "trained_at": cm.trained_at,
                   "features": [f["label"] for f in cm.features],
                   "clusters": [{"code": lab["code"], "label": lab["label"], "why": lab.get("why", ""),
                                 "size": sizes[i] if i < len(sizes) else None,
                                 "center": [round(v, 3) for v in raw[i]] if i < len(raw) else []}
                                for i, lab in enumerate(cm.labels)]}
        cluster["table"] = [{"feature": f, "values": [c["center"][j] if j < len(c["center"]) else None
                                                      for c in cluster["clusters"]]}
                            for j, f in enumerate(cluster["features"])]
    active = propensity.active_model()
    latest = PropensityModel.objects.order_by("-version").first()
    return {"cluster_model": cluster,
            "propensity": propensity.model_figures(active) if active else None,
            "propensity_latest": propensity.model_figures(latest) if latest and latest != active else None,
            "categories": {k: str(v) for k, v in propensity.CATEGORIES.items()}}
