"""Survey pages. Staff: analytics (charts), answers, templates, campaigns (run and send), the message outbox (消息发件箱).
Public: the customer's answer page reached by a one-time token — no login, phone-sized, Chinese. The token is only
in the GET path; the form posts it in its body to a token-free URL and every outcome answers 200, so the token
never reaches a request log line, a 4xx warning or a CSRF-failure log."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, context, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, not_found, paginate

from . import rules, selectors, services
from .forms import CampaignForm, TemplateForm
from .models import Invitation, QuestionKind, Response


def _error(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {
        "message": f"{exc.message}{'：' + detail if detail else ''}", "code": exc.code})


def _form_error(form: Any, exc: DomainError) -> None:
    for name, msgs in exc.fields.items():
        target = "template" if name == "template" else name
        for m in msgs:
            form.add_error(target if target in form.fields else None, str(m))
    form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


# ---- Analytics ------------------------------------------------------------------------------------------------------
def _chart(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "trend": {"labels": [t["period"] for t in data["trend"]], "csat": [t["csat"] for t in data["trend"]],
                  "nps": [t["nps"] for t in data["trend"]], "answers": [t["answers"] for t in data["trend"]],
                  "title": _("满意度与NPS月度趋势")},
        "branch": {"labels": [r["key"] for r in data["by"]["branch"]], "csat": [r["csat"] for r in data["by"]["branch"]],
                   "nps": [r["nps"] for r in data["by"]["branch"]], "title": _("分支机构对比")},
        "sentiment": {"labels": [_("正面"), _("中性"), _("负面")],
                      "values": [data["sentiments"][k] for k in ("positive", "neutral", "negative")],
                      "title": _("评语情感分布")},
        "keywords": {"labels": [k for k, _n in data["keywords"]], "values": [n for _k, n in data["keywords"]],
                     "title": _("评语关键词")},
        "legend": {"csat": _("CSAT（满意占比%）"), "nps": _("NPS"), "answers": _("答卷数")},
    }


@capability_required("surveys.view")
def dashboard(request: HttpRequest) -> HttpResponse:
    campaign = request.GET.get("campaign", "")
    data = selectors.analytics(request.user, campaign=campaign)
    tables = [(k, label, data["by"][k]) for k, (_f, label) in selectors.DIMENSIONS.items()]
    return render(request, "surveys/dashboard.html", {
        "d": data, "chart": _chart(data), "tables": tables, "campaign": campaign,
        "campaigns": selectors.campaigns_visible(request.user).order_by("-created_at")[:50]})


# ---- Answers --------------------------------------------------------------------------------------------------------
@capability_required("surveys.view")
def response_list(request: HttpRequest) -> HttpResponse:
    q = request.GET
    page = paginate(request, selectors.response_list(request.user, sentiment=q.get("sentiment", ""),
                                                     low=q.get("low", ""), campaign=q.get("campaign", "")), 30)
    ids = sorted({r.customer_id for r in page})
    if ids:
        logs.access(actor=request.user, view="surveys.response_list", subject_type="customers.Customer",
                    subject_ids=ids, fields=["name", "survey_answers"])
    return render(request, "surveys/response_list.html", {
        "page": page, "sentiment": q.get("sentiment", ""), "low": q.get("low", ""),
        "sentiments": Response.Sentiment.choices})


@capability_required("surveys.view")
def response_detail(request: HttpRequest, pk: int) -> HttpResponse:
    r = selectors.response_get(request.user, pk)
    if r is None:
        return not_found(request, _("答卷不存在或无权查看"))
    logs.access(actor=request.user, view="surveys.response_detail", subject_type="customers.Customer",
                subject_ids=[r.customer_id], fields=["name", "survey_answers"])
    rows = [{"q": q, "a": r.answers.get(q["code"])} for q in r.invitation.template.questions]
    return render(request, "surveys/response_detail.html", {"r": r, "rows": rows})


# ---- Templates ------------------------------------------------------------------------------------------------------
@capability_required("surveys.view")
def template_list(request: HttpRequest) -> HttpResponse:
    from .models import SurveyTemplate

    return render(request, "surveys/template_list.html", {
        "current": selectors.templates_current(), "history": SurveyTemplate.objects.filter(is_current=False)[:50],
        "can_edit": access.can(request.user, "surveys.manage_templates")})


@capability_required("surveys.view")
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    t = selectors.template_get(pk)
    if t is None:
        return not_found(request, _("调查模板不存在"))
    return render(request, "surveys/template_detail.html", {
        "t": t, "can_edit": access.can(request.user, "surveys.manage_templates"),
        "kinds": dict(QuestionKind.choices)})


@capability_required("surveys.manage_templates")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    base = selectors.template_get(pk) if pk is not None else None
    if pk is not None and base is None:
        return not_found(request, _("调查模板不存在"))
    initial = {"code": base.code, "name": base.name, "intro": base.intro,
               "questions": rules.question_lines(base.questions)} if base else {
        "questions": "*csat: 您对本次服务的总体满意度如何？\n*nps: 您有多大可能把我行推荐给亲友？\ntext: 您还有什么建议？"}
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if base is not None and d["code"] != base.code:
            form.add_error("code", _("修改已有模板时不能更改代码"))
        else:
            try:
                t = entrypoint(services.template_save)(
                    actor=request.user, code=d["code"], name=d["name"], intro=d["intro"], note=d["note"],
                    questions=rules.parse_question_lines(d["questions"]))
                messages.success(request, _("已保存为 %(name)s 第 %(v)s 版") % {"name": t.name, "v": t.version})
                return redirect("surveys:template", pk=t.pk)
            except PermissionDenied:
                raise
            except DomainError as exc:
                _form_error(form, exc)
    return render(request, "surveys/template_form.html", {"form": form, "base": base})


# ---- Campaigns ------------------------------------------------------------------------------------------------------
@capability_required("surveys.view")
def campaign_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.campaigns_visible(request.user).select_related("template", "branch").order_by("-created_at")
    return render(request, "surveys/campaign_list.html", {
        "page": paginate(request, qs, 30), "can_manage": access.can(request.user, "surveys.manage_campaigns")})


@capability_required("surveys.view")
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.campaign_get(request.user, pk)
    if c is None:
        return not_found(request, _("调查活动不存在或无权查看"))
    counts = dict(c.invitations.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    return render(request, "surveys/campaign_detail.html", {
        "c": c, "runs": c.runs.all()[:20], "counts": [(label, counts.get(v, 0)) for v, label in
                                                      Invitation.Status.choices],
        "planned": counts.get(Invitation.Status.PLANNED, 0),
        "period": rules.period_label(rules.period_key(timezone.localdate(), c.frequency)) if c.frequency else "",
        "can_manage": selectors.campaigns_manageable(request.user).filter(pk=c.pk).exists(),
        "figures": selectors.analytics(request.user, campaign=str(c.pk))["total"]})


@capability_required("surveys.manage_campaigns")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    c = selectors.campaigns_manageable(request.user).filter(pk=pk).first() if pk is not None else None
    if pk is not None and c is None:
        return not_found(request, _("调查活动不存在或无权查看"))
    from .models import SurveyTemplate

    initial: dict[str, Any] = {"per_manager": 10, "active": True, "frequency": "quarterly",
                               "template": SurveyTemplate.objects.filter(is_current=True, code="standard").first()}
    if c is not None:
        initial = {f: getattr(c, f) for f in ("name", "trigger", "frequency", "per_manager", "channel",
                                              "min_interval_days", "valid_days", "csat_low", "nps_low", "active")}
        initial["template"] = SurveyTemplate.objects.filter(code=c.template.code, is_current=True).first()
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = entrypoint(services.campaign_save)(actor=request.user, campaign_id=c.pk if c else None,
                                                       **form.service_data())
            messages.success(request, _("调查活动已保存"))
            return redirect("surveys:campaign", pk=saved.pk)
        except PermissionDenied:
            raise
        except DomainError as exc:
            _form_error(form, exc)
    return render(request, "surveys/campaign_form.html", {"form": form, "c": c})


@require_POST
@capability_required("surveys.manage_campaigns")
def campaign_run(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        run = entrypoint(services.campaign_run)(actor=request.user, campaign_id=pk)
        messages.success(request, _("已抽样 %(n)s 位客户（未授权跳过 %(c)s，间隔内跳过 %(i)s），邀请待发送") % {
            "n": run.sampled, "c": run.skipped_consent, "i": run.skipped_interval})
    except (NotFound, PermissionDenied):  # another branch's campaign: 404, not a message on a page one cannot see
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("surveys:campaign", pk=pk)


@require_POST
@capability_required("surveys.manage_campaigns")
def campaign_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        counts = services.dispatch_now(actor=request.user, campaign_id=pk)  # commits chunk by chunk (crash-safe)
        messages.success(request, _("已发送 %(s)s 份邀请，取消 %(c)s 份（未授权或无联系方式）") % {
            "s": counts["sent"], "c": counts["cancelled"]})
    except (NotFound, PermissionDenied):  # another branch's campaign: 404, not a message on a page one cannot see
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("surveys:campaign", pk=pk)


# ---- Message outbox (the demo/test transport) -------------------------------------------------------------------------
@capability_required("surveys.view_outbox")
def outbox(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.outbox_visible(request.user), 30)
    return render(request, "surveys/outbox.html", {"page": page})


# ---- Public: the customer's answer ----------------------------------------------------------------------------------
def _public(request: HttpRequest, template: str, ctx: dict[str, Any]) -> HttpResponse:
    response = render(request, f"surveys/public/{template}", ctx)
    response["Referrer-Policy"] = "strict-origin"  # Referer = origin only: the token never leaks through it
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _without_path(view):  # the token is in the path: keep it out of the request context that logs read
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with context.use(replace(context.current(), path="/s/…/")):
            return view(request, *args, **kwargs)
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_without_path
@require_http_methods(["GET"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The survey form. Unknown, another customer's (there is no such thing: the token alone decides) and cancelled
    tokens get the same page; used and expired tokens get their own clear page."""
    inv, reason = services.invitation_for_token(token)
    if inv is None:
        return _public(request, "closed.html", {"reason": reason, "message": services.REASONS[reason]})
    return _public(request, "answer.html", {"inv": inv, "t": inv.template, "token": token, "errors": {},
                                            "values": {}, "scales": _scales(inv.template.questions, {})})


def _scales(questions: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for q in questions:
        lo, hi = rules.SCALES.get(q["kind"], (0, -1))
        out.append({**q, "points": list(range(lo, hi + 1)), "value": str(values.get(q["code"], ""))})
    return out


@require_POST
def submit(request: HttpRequest) -> HttpResponse:
    token = request.POST.get("token", "")
    data = {k: v for k, v in request.POST.items() if k not in ("token", "csrfmiddlewaretoken")}
    try:
        entrypoint(services.response_submit)(token=token, data=data)
    except ValidationFailed as exc:
        inv, reason = services.invitation_for_token(token)
        if inv is None:
            return _public(request, "closed.html", {"reason": reason, "message": services.REASONS[reason]})
        errors = {k: [str(m) for m in v] for k, v in exc.fields.items()}
        return _public(request, "answer.html", {"inv": inv, "t": inv.template, "token": token, "errors": errors,
                                                "scales": _scales(inv.template.questions, data), "invalid": True})
    except DomainError as exc:
        reason = exc.code.removeprefix("survey_")
        return _public(request, "closed.html", {"reason": reason, "message": exc.message})
    return redirect("surveys:thanks")


def thanks(request: HttpRequest) -> HttpResponse:
    return _public(request, "thanks.html", {})
