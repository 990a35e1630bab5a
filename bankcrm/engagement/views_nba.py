"""Pages of segments and next best action: a customer's recommendations (with their reasons, accept or decline, refresh
now) and segments with history; the list of open recommendations of one's customers; conversion statistics (ECharts
bars by action, category and segment); the segment overview with the cluster and propensity models' figures, and the
administrator's "compute now" buttons."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import nba, nba_selectors, propensity, segments
from .models import Recommendation


def _error(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {
        "message": f"{exc.message}{'：' + detail if detail and detail != str(exc.message) else ''}", "code": exc.code})


def _log(request: HttpRequest, view: str, ids: Any, fields: list[str]) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids, fields=fields)


def _date(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def _back(request: HttpRequest, default: str) -> HttpResponse:
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(nxt)
    return redirect(default)


# ---- A customer's recommendations and segments ----------------------------------------------------------------------
@capability_required("engagement.view")
def customer_recommendations(request: HttpRequest, pk: int) -> HttpResponse:
    from bankcrm.customers.selectors import customer_get

    customer = customer_get(request.user, pk)
    user = request.user
    recs = list(nba_selectors.customer_recommendations(user, customer))
    history = list(nba_selectors.customer_recommendations(user, customer, status="")
                   .exclude(status=Recommendation.Status.OPEN)[:30])
    _log(request, "engagement.recommendations", [customer.pk], ["name", "segments", "recommendations"])
    return render(request, "engagement/nba_customer.html", {
        "customer": customer, "recommendations": recs, "history": history,
        "segments": nba_selectors.customer_segments(user, customer),
        "can_decide": access.can(user, "engagement.recommend") and customer.status == "active",
        "today": timezone.localdate(), "default_follow_up": timezone.localdate() + timedelta(days=3)})


@require_POST
@capability_required("engagement.recommend")
def customer_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        r = entrypoint(nba.recommendations_refresh)(actor=request.user, customer_ids=[pk])
        messages.success(request, _("推荐已刷新：新增 %(c)d 条，更新 %(u)d 条，失效 %(e)d 条") % {
            "c": r["created"], "u": r["updated"], "e": r["expired"]})
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _error(request, exc)
    return _back(request, reverse("engagement:customer_recommendations", args=[pk]))


@require_POST
@capability_required("engagement.recommend")
def recommendation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    rec = nba_selectors.recommendation_get(request.user, pk)
    decision = request.POST.get("decision", "")
    follow = request.POST.get("follow_up_on", "")
    try:
        if follow and _date(follow) is None:
            from bankcrm.core.errors import ValidationFailed

            raise ValidationFailed("follow_up_on_invalid", _("跟进日期格式不正确"))
        r = entrypoint(nba.recommendation_decide)(actor=request.user, recommendation_id=rec.pk, decision=decision,
                                                 reason=request.POST.get("reason", ""), follow_up_on=_date(follow))
        if r.status == Recommendation.Status.ACCEPTED:
            messages.success(request, _("已采纳：%(t)s，已生成跟进任务%(o)s") % {
                "t": r.title, "o": _("和商机") if r.opportunity_id else ""})
        else:
            messages.success(request, _("已拒绝：%(t)s") % {"t": r.title})
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _error(request, exc)
    return _back(request, reverse("engagement:customer_recommendations", args=[rec.customer_id]))


# ---- Lists and statistics -------------------------------------------------------------------------------------------
@capability_required("engagement.view")
def recommendation_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    page = paginate(request, nba_selectors.recommendation_queue(request.user, kind=kind), 30)
    _log(request, "engagement.recommendation_list", [r.customer_id for r in page], ["name", "recommendations"])
    return render(request, "engagement/nba_list.html", {"page": page, "kind": kind,
                                                         "kinds": Recommendation.Kind.choices})


def _period(request: HttpRequest) -> tuple[date, date]:
    end = _date(request.GET.get("end")) or timezone.localdate()
    start = _date(request.GET.get("start")) or end - timedelta(days=89)
    if start > end:
        start, end = end, start
    return start, end


@capability_required("engagement.stats")
def nba_stats(request: HttpRequest) -> HttpResponse:
    start, end = _period(request)
    st = nba_selectors.conversion_stats(request.user, start=start, end=end)

    def bars(rows: list[dict[str, Any]], title: str) -> dict[str, Any]:
        return {"title": title, "labels": [r["label"] for r in rows], "total": [r["total"] for r in rows],
                "accepted": [r["accepted"] for r in rows], "converted": [r["converted"] for r in rows],
                "rate": [round((r["conversion_rate"] or 0) * 100, 1) for r in rows]}

    chart = {"legend": {"total": _("推荐数"), "accepted": _("已采纳"), "converted": _("已转化"), "rate": _("转化率（%）")},
             "byKind": bars(st["by_kind"], _("按推荐类型")), "byCategory": bars(st["by_category"], _("按产品类别")),
             "byTier": bars(st["by_tier"], _("按价值分层")), "byCluster": bars(st["by_cluster"], _("按行为分群")),
             "byRfm": bars(st["by_rfm"], _("按RFM分群"))}
    return render(request, "engagement/nba_stats.html", {"st": st, "chart": chart, "start": start, "end": end,
                                                          "models": nba_selectors.model_figures()})


@capability_required("engagement.stats")
def segments_overview(request: HttpRequest) -> HttpResponse:
    ov = nba_selectors.segment_overview(request.user)
    dist = ov["distribution"]
    chart = {key: {"title": title, "labels": [r["label"] for r in dist.get(kind, [])],
                   "values": [r["n"] for r in dist.get(kind, [])]}
             for key, kind, title in (("tier", "tier", _("价值分层")), ("rfm", "rfm", _("RFM 分群")),
                                      ("cluster", "cluster", _("行为分群")))}
    cm = ov["cluster_model"]
    if cm:
        chart["centres"] = {"features": cm["features"], "clusters": [
            {"label": c["label"], "center": c["center"]} for c in cm["clusters"]]}
    return render(request, "engagement/segments.html", {
        "ov": ov, "chart": chart, "can_manage": access.can(request.user, "engagement.manage"),
        "categories": propensity.CATEGORIES, "feature_labels": [str(lab) for _c, lab in segments.FEATURES]})


def _manage_action(run: Any, done: Any) -> Any:
    @require_POST
    @capability_required("engagement.manage")
    def view(request: HttpRequest) -> HttpResponse:
        try:
            result = entrypoint(run)(actor=request.user)
            messages.success(request, done(result))
        except PermissionDenied:
            raise
        except DomainError as exc:
            _error(request, exc)
        return redirect("engagement:segments")

    return view


segments_compute_now = _manage_action(
    segments.segments_compute,
    lambda r: _("已计算客户分群（%(d)s）：%(n)d 位客户，行为分群模型 v%(v)s") % {
        "d": r["day"], "n": r["customers"], "v": r["cluster_model"] or "—"})
model_train_now = _manage_action(
    propensity.propensity_train,
    lambda m: _("已训练购买倾向模型 v%(v)d：模型 AUC %(a).3f，基线 AUC %(b).3f（%(s)s）") % {
        "v": m.version, "a": m.auc_model, "b": m.auc_baseline, "s": _("已启用") if m.active else _("未超过基线，未启用")})
recommendations_refresh_all = _manage_action(
    nba.recommendations_refresh,
    lambda r: _("已刷新全部客户的推荐：%(n)d 位客户，新增 %(c)d 条，失效 %(e)d 条") % {
        "n": r["customers"], "c": r["created"], "e": r["expired"]})
