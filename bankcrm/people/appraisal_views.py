"""Appraisal pages: 我的考核 (my scorecard with every line, its definition and a drill-down to the evidence; the
self-assessment and appeal forms), 团队考核 (a supervisor's team: status, ranking within each team, the branch
distribution and calibration; review and sign-off on the card page), appeals, and the administrators' 考核方案 (schemes
with weights validated as they are saved) and periods with the compute button.

Views are thin: a scoped selector or one service per request; every POST in the entry point's durable transaction."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required

from . import appraisal_selectors as sel
from . import appraisal_services as svc
from . import metrics
from .models import Appeal, KpiScheme, Period, Scorecard

S = Scorecard.Status


# ---- forms ---------------------------------------------------------------------------------------------------------
class SelfAssessForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("自评"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ReviewForm(forms.Form):
    comment = forms.CharField(label=gettext_lazy("评语"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    adjustment = forms.DecimalField(label=gettext_lazy("调整分值（分，可为负）"), max_digits=5, decimal_places=2,
                                    initial=0, required=False)


class AppealForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("申诉理由"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=gettext_lazy("处理结果"), choices=[("upheld", gettext_lazy("申诉成立（重新评价）")),
                                                                      ("rejected", gettext_lazy("申诉驳回"))])
    note = forms.CharField(label=gettext_lazy("处理意见"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class PeriodForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("年度"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(label=gettext_lazy("季度"), coerce=int, empty_value=None, required=False,
                                     choices=[("", gettext_lazy("全年")), (1, "Q1"), (2, "Q2"), (3, "Q3"), (4, "Q4")])


def _points_to_hundredths(v: Any) -> int:
    return round((v or 0) * 100)


# ---- presentation --------------------------------------------------------------------------------------------------
def _card_lines(card: Scorecard) -> list[dict]:
    """Every line for display. The total is Σ weight × score ÷ Σ weight over the measured lines, so each measured
    line's share is shown with its effective weight (weight ÷ measured weight) and contribution; they add up to the
    system score."""
    weights = {w.metric: w for w in card.scheme.weights.all()}
    lines = list(card.lines.all())
    measured_weight = sum(ln.weight for ln in lines if ln.value is not None) or 1
    out = []
    for ln in lines:
        m = metrics.REGISTRY.get(ln.metric)
        w = weights.get(ln.metric)
        out.append({
            "line": ln, "metric": m, "label": m.label if m else ln.metric, "definition": m.definition if m else "",
            "value": metrics.format_value(m, ln.value) if m else ln.value, "measured": ln.value is not None,
            "unit": metrics.UNIT_LABELS.get(m.unit, "") if m else "", "score": f"{ln.score / 100:.2f}",
            "weighted": f"{ln.weight * ln.score / measured_weight / 100:.2f}",
            "effective_weight": f"{ln.weight * 100 / measured_weight:.1f}", "direction": m.direction if m else "",
            "floor": metrics.format_value(m, w.floor) if (m and w) else "",
            "target": metrics.format_value(m, w.target) if (m and w) else "",
            "numerator_label": m.numerator_label if m else "", "denominator_label": m.denominator_label if m else "",
            "is_count": m is not None and m.unit == "count"})
    return out


def _chart(lines: list[dict]) -> dict:
    shown = [x for x in lines if x["measured"]]  # a metric with nothing to measure has no score to draw
    return {"indicators": [{"name": str(x["label"]), "max": 100} for x in shown],
            "scores": [round(x["line"].score / 100, 2) for x in shown],
            "title": _("各指标得分（有数据的指标）"), "series": _("得分")}


def _actions(user: Any, card: Scorecard) -> dict[str, bool]:
    own = card.staff_id == user.pk
    checker = not own and access.can(user, "people.review")
    from bankcrm.core.params import value

    appeal_open = card.status in (S.REVIEWED, S.CALIBRATED, S.SIGNED_OFF)
    if card.status == S.SIGNED_OFF and card.signed_off_at:
        from django.utils import timezone

        from .appraisal_rules import within_days

        appeal_open = within_days(timezone.localtime(card.signed_off_at).date(), timezone.localdate(),
                                  value("appraisal.appeal_window"))
    return {"self_assess": own and card.status in (S.COMPUTED, S.SELF_ASSESSED),
            "review": checker and card.status in (S.COMPUTED, S.SELF_ASSESSED),
            "sign_off": checker and card.status in (S.REVIEWED, S.CALIBRATED),
            "appeal": own and appeal_open}


def _card_context(request: HttpRequest, card: Scorecard, **forms_: Any) -> dict:
    lines = _card_lines(card)
    acts = _actions(request.user, card)
    return {"card": card, "lines": lines, "chart": _chart(lines), "actions": acts,
            "self_form": forms_.get("self_form") or SelfAssessForm(initial={"comment": card.self_comment}),
            "review_form": forms_.get("review_form") or ReviewForm(),
            "appeal_form": forms_.get("appeal_form") or AppealForm(),
            "appeals": card.appeals.select_related("raised_by", "decided_by"),
            "review_max": svc._points("appraisal.review_adjustment_max") // 100,
            "own": card.staff_id == request.user.pk,
            "final": f"{card.final_score / 100:.2f}", "computed": f"{card.computed_score / 100:.2f}",
            "review_adj": f"{card.review_adjustment / 100:+.2f}", "calib_adj": f"{card.calibration_adjustment / 100:+.2f}"}


# ---- my appraisal --------------------------------------------------------------------------------------------------
@capability_required("people.appraisal")
def my_appraisal(request: HttpRequest) -> HttpResponse:
    cards = list(sel.my_scorecards(request.user).order_by("-period__starts_on", "period__kind"))
    card = cards[0] if cards else None
    ctx: dict[str, Any] = {"cards": cards}
    if card is not None:
        ctx.update(_card_context(request, card))
    return render(request, "people/appraisal/my.html", ctx)


@capability_required("people.appraisal")
def card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card = sel.scorecard_get(request.user, pk)
    cards = list(sel.my_scorecards(request.user).order_by("-period__starts_on")) if card.staff_id == request.user.pk else []
    return render(request, "people/appraisal/my.html", {"cards": cards, **_card_context(request, card)})


@capability_required("people.appraisal")
def evidence(request: HttpRequest, pk: int, metric: str) -> HttpResponse:
    card = sel.scorecard_get(request.user, pk)
    line = card.lines.filter(metric=metric).first()
    m = metrics.REGISTRY.get(metric)
    if line is None or m is None:
        raise NotFound("line_not_found", _("指标不存在"))
    rows = m.evidence(card.staff, card.period, level=svc.level_of(card.role))
    return render(request, "people/appraisal/evidence.html", {
        "card": card, "line": line, "metric": m, "rows": rows, "value": metrics.format_value(m, line.value),
        "score": f"{line.score / 100:.2f}", "is_count": m.unit == "count"})


def _post_card(request: HttpRequest, pk: int, form_cls: type[forms.Form], key: str, run: Any, done: str) -> HttpResponse:
    card = sel.scorecard_get(request.user, pk)
    form = form_cls(request.POST)
    if form.is_valid():
        try:
            entrypoint(run)(card, form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, done)
            return redirect("people:appraisal_card", pk=card.pk)
    card = sel.scorecard_get(request.user, pk)
    return render(request, "people/appraisal/my.html", {"cards": [], **_card_context(request, card, **{key: form})},
                  status=400)


@capability_required("people.appraisal")
@require_POST
def self_assess(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_card(request, pk, SelfAssessForm, "self_form", lambda c, d: svc.scorecard_self_assess(
        actor=request.user, scorecard_id=c.pk, comment=d["comment"]), _("自评已提交，等待上级评价"))


@capability_required("people.review")
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_card(request, pk, ReviewForm, "review_form", lambda c, d: svc.scorecard_review(
        actor=request.user, scorecard_id=c.pk, comment=d["comment"],
        adjustment=_points_to_hundredths(d.get("adjustment"))), _("评价已保存"))


@capability_required("people.review")
@require_POST
def sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    card = sel.scorecard_get(request.user, pk)
    try:
        entrypoint(svc.scorecard_sign_off)(actor=request.user, scorecard_id=card.pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("考核结果已签署"))
    return redirect("people:appraisal_card", pk=card.pk)


@capability_required("people.appraisal")
@require_POST
def appeal(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_card(request, pk, AppealForm, "appeal_form", lambda c, d: svc.appeal_raise(
        actor=request.user, scorecard_id=c.pk, reason=d["reason"]), _("申诉已提交"))


# ---- team ----------------------------------------------------------------------------------------------------------
def _period_from(request: HttpRequest) -> Period | None:
    pid = request.GET.get("period") or request.POST.get("period")
    if pid:
        return sel.period_get(request.user, pid)
    return sel.periods_visible(request.user).filter(kind=Period.Kind.QUARTER).order_by("-starts_on").filter(
        scorecards__isnull=False).distinct().first() or sel.periods_visible(request.user).order_by("-starts_on").first()


@capability_required("people.review")
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    period = _period_from(request)
    status = request.GET.get("status", "")
    if status and status not in S.values:
        status = ""
    cards = list(sel.team_scorecards(request.user, period, status=status)) if period else []
    all_cards = list(sel.team_scorecards(request.user, period)) if period else []
    ranks = sel.team_rankings(request.user, all_cards)
    calib_error = ""
    if request.method == "POST" and period is not None:
        try:
            branch_id = int(request.POST.get("branch") or 0)
            shifts = {}
            for k, v in request.POST.items():
                if k.startswith("shift_") and v.strip():
                    shifts[int(k[6:])] = _points_to_hundredths(float(v))
            entrypoint(svc.scorecards_calibrate)(actor=request.user, period_id=period.pk, branch_id=branch_id,
                                                 shifts=shifts, reason=request.POST.get("reason", ""))
        except ValueError:
            calib_error = _("校准分值必须是数字")
        except NotFound:
            raise
        except DomainError as exc:
            calib_error = "；".join([str(exc.message)] + [m for ms in exc.fields.values() for m in ms
                                                          if str(m) != str(exc.message)])
        else:
            messages.success(request, _("校准已保存"))
            return redirect(f"{request.path}?period={period.pk}")
    dist = sel.branch_distribution(all_cards)
    counts = {s: sum(1 for c in all_cards if c.status == s) for s in S.values}
    calibratable: dict[int, list[Scorecard]] = {}
    for c in all_cards:
        if c.status in (S.REVIEWED, S.CALIBRATED):
            calibratable.setdefault(c.branch_id, []).append(c)
    return render(request, "people/appraisal/team.html", {
        "period": period, "periods": sel.periods_visible(request.user).order_by("-starts_on"),
        "rows": [{"card": c, "rank": ranks.get(c.pk), "final": f"{c.final_score / 100:.2f}"} for c in cards],
        "status": status, "statuses": S.choices, "counts": counts, "dist": dist,
        "dist_chart": {"labels": dist["labels"], "series": [{"name": d["branch"].name, "data": d["bands"]}
                                                              for d in dist["branches"]], "title": _("分数段分布（人数）")},
        "calibratable": [{"branch": cs[0].branch, "cards": cs} for cs in calibratable.values()],
        "calib_error": calib_error, "calib_max": svc._points("appraisal.calibration_adjustment_max") // 100,
        "status_css": STATUS_CSS})


STATUS_CSS = {S.COMPUTED: "text-bg-secondary", S.SELF_ASSESSED: "text-bg-warning", S.REVIEWED: "text-bg-info",
              S.CALIBRATED: "text-bg-primary", S.SIGNED_OFF: "text-bg-success", S.APPEALED: "text-bg-danger"}


# ---- appeals -------------------------------------------------------------------------------------------------------
@capability_required("people.appraisal")
def appeals(request: HttpRequest) -> HttpResponse:
    return render(request, "people/appraisal/appeals.html", {
        "mine": sel.appeals_visible(request.user).filter(raised_by=request.user),
        "to_decide": sel.appeals_to_decide(request.user),
        "decided": sel.appeals_visible(request.user).exclude(status=Appeal.Status.OPEN).exclude(
            raised_by=request.user)[:50] if access.can(request.user, "people.appeal_decide") else []})


@capability_required("people.appeal_decide")
@require_http_methods(["GET", "POST"])
def appeal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    a = sel.appeal_get(request.user, pk)
    form = DecideForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            entrypoint(svc.appeal_decide)(actor=request.user, appeal_id=a.pk,
                                          upheld=form.cleaned_data["decision"] == "upheld", note=form.cleaned_data["note"])
        except NotFound:
            raise
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("申诉已处理"))
            return redirect("people:appraisal_appeals")
    card = a.scorecard
    return render(request, "people/appraisal/appeal_decide.html", {"appeal": a, "form": form, "card": card,
                                                                   "lines": _card_lines(card),
                                                                   "final": f"{card.final_score / 100:.2f}"})


# ---- administration: schemes and periods ---------------------------------------------------------------------------
def _scheme_rows(scheme: KpiScheme | None, post: Any = None) -> list[dict]:
    current = {w.metric: w for w in scheme.weights.all()} if scheme else {}
    rows = []
    for code, m in metrics.REGISTRY.items():
        w = current.get(code)
        if post is not None:
            weight, floor, target = (post.get(f"weight_{code}", ""), post.get(f"floor_{code}", ""),
                                     post.get(f"target_{code}", ""))
        else:
            weight = w.weight if w else ""
            floor = _to_unit(m, w.floor) if w else ""
            target = _to_unit(m, w.target) if w else ""
        rows.append({"code": code, "metric": m, "weight": weight, "floor": floor, "target": target,
                     "unit": metrics.UNIT_LABELS.get(m.unit, ""), "levels": m.levels})
    return rows


def _to_unit(m: metrics.Metric, v: int) -> str:
    """Stored ten-thousandths → what the administrator types (rates and growth in %, NPS −100…100, points, counts)."""
    if m.unit in ("rate", "growth", "nps"):
        return f"{v / 100:g}"
    return f"{v / 10000:g}"


def _from_unit(m: metrics.Metric, raw: str) -> int:
    x = float(raw)
    return round(x * 100) if m.unit in ("rate", "growth", "nps") else round(x * 10000)


@capability_required("people.manage_appraisal")
def schemes(request: HttpRequest) -> HttpResponse:
    return render(request, "people/appraisal/schemes.html", {
        "schemes": KpiScheme.objects.prefetch_related("weights").order_by("role", "-version"),
        "metric_labels": {c: m.label for c, m in metrics.REGISTRY.items()}})


@capability_required("people.manage_appraisal")
@require_http_methods(["GET", "POST"])
def scheme_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    from bankcrm.core.access import ROLE_LABELS, Role

    scheme = sel.scheme_get(request.user, pk) if pk else None
    errors: dict[str, list[str]] = {}
    name = scheme.name if scheme else ""
    role = scheme.role if scheme else request.GET.get("role", Role.CUSTOMER_MANAGER)
    rows = _scheme_rows(scheme)
    if request.method == "POST":
        name, role = request.POST.get("name", ""), (scheme.role if scheme else request.POST.get("role", ""))
        rows = _scheme_rows(None, request.POST)
        weights = []
        for r in rows:
            if str(r["weight"]).strip() in ("", "0"):
                continue
            try:
                weights.append({"metric": r["code"], "weight": int(r["weight"]),
                                "floor": _from_unit(r["metric"], r["floor"]), "target": _from_unit(r["metric"], r["target"])})
            except ValueError:
                errors.setdefault(r["code"], []).append(_("权重、零分值和满分值必须是数字"))
        if not errors:
            try:
                saved = entrypoint(svc.scheme_save)(actor=request.user, role=role, name=name, weights=weights,
                                                    scheme_id=scheme.pk if scheme else None)
                if request.POST.get("activate"):
                    entrypoint(svc.scheme_activate)(actor=request.user, scheme_id=saved.pk)
            except NotFound:
                raise
            except DomainError as exc:
                errors = {k: [str(m) for m in v] for k, v in exc.fields.items()} or {"weights": [str(exc.message)]}
            else:
                messages.success(request, _("方案已启用") if request.POST.get("activate") else _("方案草稿已保存"))
                return redirect("people:appraisal_schemes")
    total = 0
    for r in rows:
        try:
            total += int(r["weight"] or 0)
        except ValueError:
            pass
    return render(request, "people/appraisal/scheme_form.html", {
        "scheme": scheme, "rows": rows, "errors": errors, "name": name, "role": role, "total": total,
        "roles": [(r.value, ROLE_LABELS[r]) for r in svc.ROLE_PRIORITY],
        "sat_min": svc.params.value("appraisal.satisfaction_weight_min")}, status=400 if errors else 200)


@capability_required("people.manage_appraisal")
@require_POST
def scheme_activate(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        entrypoint(svc.scheme_activate)(actor=request.user, scheme_id=pk)
    except NotFound:
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("方案已启用，原方案已停用"))
    return redirect("people:appraisal_schemes")


@capability_required("people.manage_appraisal")
@require_http_methods(["GET", "POST"])
def periods(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.POST if request.method == "POST" and "open" in request.POST else None)
    if request.method == "POST":
        try:
            if "open" in request.POST:
                if form.is_valid():
                    entrypoint(svc.period_open)(actor=request.user, year=form.cleaned_data["year"],
                                                quarter=form.cleaned_data["quarter"])
                    messages.success(request, _("考核期已开启"))
                    return redirect("people:appraisal_periods")
            elif "compute" in request.POST:
                counts = entrypoint(svc.scorecards_compute)(actor=request.user, period_id=int(request.POST["compute"]))
                messages.success(request, _("计算完成：新建 %(c)d 张，重算 %(u)d 张，已评价保持不变 %(k)d 张") % {
                    "c": counts["created"], "u": counts["updated"], "k": counts["kept"]})
                return redirect("people:appraisal_periods")
            elif "close" in request.POST:
                entrypoint(svc.period_close)(actor=request.user, period_id=int(request.POST["close"]))
                messages.success(request, _("考核期已结束"))
                return redirect("people:appraisal_periods")
        except (ValueError, KeyError):
            messages.error(request, _("请求无效"))
        except NotFound:
            raise
        except DomainError as exc:
            apply_error(form if "open" in request.POST else None, request, exc)
    from django.db.models import Count, Q

    rows = Period.objects.annotate(n=Count("scorecards"), signed=Count("scorecards", filter=Q(
        scorecards__status=S.SIGNED_OFF))).order_by("-starts_on", "kind")
    return render(request, "people/appraisal/periods.html", {"periods": rows, "form": form})
