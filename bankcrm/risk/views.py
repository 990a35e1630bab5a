"""Risk pages for monitoring: alerts (triage), cases (investigate and decide), monitoring rules (versions), regulatory
reports and the risk dashboard. Suitability, rating, due diligence and watch lists have their own view modules."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, denied, not_found, paginate

from . import reports, rules, selectors, services
from .models import Alert, Case, MonitoringRule

REQUIRED_ALERT_FIELDS = ["name", "transactions"]


def _error(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {
        "message": f"{exc.message}{'：' + detail if detail else ''}", "code": exc.code})


def _log_customers(request: HttpRequest, view: str, ids: Any) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=REQUIRED_ALERT_FIELDS)


# ---- Alerts ---------------------------------------------------------------------------------------------------------
@capability_required("risk.alerts")
def alert_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    rule = request.GET.get("rule", "")
    page = paginate(request, selectors.alert_list(request.user, status=status, rule=rule,
                                                  q=request.GET.get("q", "")), 30)
    _log_customers(request, "risk.alert_list", [a.customer_id for a in page])
    return render(request, "risk/alert_list.html", {
        "page": page, "status": status, "rule": rule, "q": request.GET.get("q", ""),
        "statuses": [("open", _("未结")), *Alert.Status.choices, ("", _("全部"))],
        "rule_codes": sorted({r.code for r in selectors.rules_current()}),
        "can_investigate": access.can(request.user, "risk.investigate"), "today": timezone.localdate()})


@capability_required("risk.alerts")
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get(request.user, pk)
    if alert is None:
        return not_found(request, _("预警不存在或无权查看"))
    _log_customers(request, "risk.alert_detail", [alert.customer_id])
    others = (selectors.alerts_visible(request.user).filter(customer_id=alert.customer_id,
                                                            status__in=Alert.OPEN_STATUSES, case__isnull=True)
              .exclude(pk=alert.pk).order_by("-business_date")[:20])
    return render(request, "risk/alert_detail.html", {
        "alert": alert, "entries": selectors.evidence(alert), "others": others, "today": timezone.localdate(),
        "can_investigate": access.can(request.user, "risk.investigate"),
        "open_cases": selectors.cases_visible(request.user).filter(status=Case.Status.OPEN).order_by("-opened_at")[:20]})


@require_POST
@capability_required("risk.investigate")
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        entrypoint(services.alert_close)(actor=request.user, alert_id=pk, reason=request.POST.get("reason", ""))
        messages.success(request, _("预警已排除"))
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("risk:alert", pk=pk)


@require_POST
@capability_required("risk.investigate")
def case_open(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("alert")
    try:
        case = entrypoint(services.case_open)(actor=request.user, alert_ids=ids, title=request.POST.get("title", ""))
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
        back = request.POST.get("back", "")
        return redirect(back if back.startswith("/risk/") else "risk:alerts")
    messages.success(request, _("已立案 %(n)s") % {"n": case.number})
    return redirect("risk:case", pk=case.pk)


# ---- Cases ----------------------------------------------------------------------------------------------------------
@capability_required("risk.alerts")
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = selectors.cases_visible(request.user).select_related("customer", "opened_by").order_by("-opened_at")
    if status:
        qs = qs.filter(status=status)
    page = paginate(request, qs, 30)
    _log_customers(request, "risk.case_list", [c.customer_id for c in page])
    return render(request, "risk/case_list.html", {"page": page, "status": status, "statuses": Case.Status.choices,
                                                   "today": timezone.localdate()})


@capability_required("risk.alerts")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(request.user, pk)
    if case is None:
        return not_found(request, _("案件不存在或无权查看"))
    alerts = list(case.alerts.select_related("customer").order_by("business_date", "id"))
    related = list(case.related_customers.all())
    _log_customers(request, "risk.case_detail", [case.customer_id, *[c.pk for c in related]])
    candidates = (selectors.alerts_visible(request.user).filter(customer_id__in=[case.customer_id, *[c.pk for c in related]],
                                                                case__isnull=True, status__in=[Alert.Status.NEW])
                  .order_by("-business_date")[:20]) if case.status == Case.Status.OPEN else []
    return render(request, "risk/case_detail.html", {
        "case": case, "alerts": alerts, "related": related, "notes": case.notes.select_related("author"),
        "reports": case.reports.order_by("generated_at"), "candidates": candidates, "today": timezone.localdate(),
        "can_investigate": access.can(request.user, "risk.investigate"),
        "can_report": access.can(request.user, "risk.report")})


@require_POST
@capability_required("risk.investigate")
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        entrypoint(services.case_add_note)(actor=request.user, case_id=pk, text=request.POST.get("text", ""),
                                           attachment=request.FILES.get("attachment"))
        messages.success(request, _("调查记录已保存"))
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("risk:case", pk=pk)


@capability_required("risk.alerts")
def case_attachment(request: HttpRequest, pk: int, note_id: int) -> HttpResponse:
    case = selectors.case_get(request.user, pk)
    note = case.notes.filter(pk=note_id, attachment__isnull=False).first() if case else None
    if note is None:
        return not_found(request)
    _log_customers(request, "risk.case_attachment", [case.customer_id])
    resp = HttpResponse(bytes(note.attachment), content_type=note.attachment_type or "application/octet-stream")
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(note.attachment_name)}"
    return resp


CASE_ACTIONS = {"close": services.case_close, "escalate": services.case_escalate}


@require_POST
@capability_required("risk.investigate")
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        if action == "link_customer":
            entrypoint(services.case_link_customer)(actor=request.user, case_id=pk,
                                                    customer_no=request.POST.get("customer_no", ""))
            messages.success(request, _("已添加关联客户"))
        elif action == "add_alerts":
            entrypoint(services.case_add_alerts)(actor=request.user, case_id=pk, alert_ids=request.POST.getlist("alert"))
            messages.success(request, _("预警已并入案件"))
        elif action in CASE_ACTIONS:
            entrypoint(CASE_ACTIONS[action])(actor=request.user, case_id=pk, reason=request.POST.get("reason", ""))
            messages.success(request, _("案件已结案") if action == "close" else _("案件已上报合规，可疑交易报告计时开始"))
        else:
            return not_found(request)
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("risk:case", pk=pk)


# ---- Rules ----------------------------------------------------------------------------------------------------------
@capability_required("risk.alerts")
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "risk/rule_list.html", {"rules": selectors.rules_current(),
                                                   "can_edit": access.can(request.user, "risk.manage_rules")})


def _param_rows(rule: MonitoringRule, data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rows = []
    for spec in rules.RULE_KINDS[rule.kind]:
        v = (data or {}).get(spec.name, rule.params.get(spec.name))
        shown = json.dumps(v, ensure_ascii=False) if spec.kind == "caps" else ("" if v is None else v)
        if spec.kind == "bool3":
            shown = "" if v is None else ("true" if v in (True, "true") else "false")
        rows.append({"spec": spec, "value": shown})
    return rows


def _parse_params(rule: MonitoringRule, post: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in rules.RULE_KINDS[rule.kind]:
        raw = (post.get(f"p_{spec.name}") or "").strip()
        if spec.kind == "choice":
            out[spec.name] = raw
        elif spec.kind == "bool3":
            out[spec.name] = {"true": True, "false": False}.get(raw)
        elif spec.kind == "caps":
            try:
                out[spec.name] = json.loads(raw or "{}")
            except ValueError:
                errors[spec.name] = [_("须为 JSON 对照表，例如 {\"<10w\": 10000000}")]
        else:
            try:
                out[spec.name] = int(raw)
            except ValueError:
                errors[spec.name] = [_("须为整数")]
    return out, errors


@capability_required("risk.alerts")
def rule_detail(request: HttpRequest, code: str) -> HttpResponse:
    history = selectors.rule_history(code)
    if not history:
        return not_found(request, _("监测规则不存在"))
    current = history[0]
    can_edit = access.can(request.user, "risk.manage_rules")
    errors: dict[str, list[str]] = {}
    data = None
    if request.method == "POST":
        if not can_edit:
            return denied(request, access.denial_reason(request.user, "risk.manage_rules"), "risk.manage_rules")
        data, errors = _parse_params(current, request.POST)
        if not errors:
            try:
                eff = date.fromisoformat(request.POST.get("effective_from", ""))
            except ValueError:
                errors["effective_from"] = [_("请输入生效日期")]
            else:
                try:
                    entrypoint(services.rule_save)(
                        actor=request.user, code=code, params_=data,
                        customer_kinds=request.POST.getlist("customer_kinds"), effective_from=eff,
                        active=request.POST.get("active") == "on", note=request.POST.get("note", ""))
                    messages.success(request, _("规则新版本已保存"))
                    return redirect("risk:rule", code=code)
                except PermissionDenied:
                    raise
                except DomainError as exc:
                    errors = {k: [str(m) for m in v] for k, v in exc.fields.items()} or {"general": [str(exc.message)]}
                    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message,
                                                                                 "code": exc.code})
    return render(request, "risk/rule_detail.html", {
        "rule": current, "history": history, "rows": _param_rows(current, data), "errors": errors,
        "can_edit": can_edit, "today": timezone.localdate(), "post": request.POST if request.method == "POST" else None,
        "customer_kinds": [("person", _("个人客户")), ("company", _("单位客户"))]}, status=400 if errors else 200)


# ---- Reports --------------------------------------------------------------------------------------------------------
@capability_required("risk.report")
def report_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            messages.error(request, _("请选择交易日期（错误代码：%(code)s）") % {"code": "date_required"})
            return redirect("risk:reports")
        try:
            report = entrypoint(reports.large_report_generate)(actor=request.user, day=day)
            messages.success(request, _("已生成大额交易报告 %(n)s") % {"n": report.number})
        except PermissionDenied:
            raise
        except DomainError as exc:
            _error(request, exc)
        return redirect("risk:reports")
    pending = (selectors.alerts_visible(request.user).filter(report_kind="large", report__isnull=True,
                                                             status__in=Alert.OPEN_STATUSES)
               .values_list("business_date", flat=True).distinct().order_by("business_date"))
    return render(request, "risk/report_list.html", {
        "page": paginate(request, selectors.reports_visible(request.user).select_related("case", "generated_by"), 30),
        "pending_days": list(pending)[:30], "today": timezone.localdate(),
        "escalated": selectors.cases_visible(request.user).filter(status=Case.Status.ESCALATED).order_by("report_due_on")})


@require_POST
@capability_required("risk.report")
def case_report(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        report = entrypoint(reports.suspicious_report_generate)(actor=request.user, case_id=pk)
        messages.success(request, _("已生成可疑交易报告 %(n)s") % {"n": report.number})
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("risk:case", pk=pk)


@capability_required("risk.report")
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = entrypoint(reports.report_download)(actor=request.user, report_id=pk)
    resp = HttpResponse(report.content, content_type="application/xml; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{report.number}.xml"'
    return resp


@require_POST
@capability_required("risk.report")
def report_submit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        entrypoint(reports.report_submit)(actor=request.user, report_id=pk)
        messages.success(request, _("已登记报送"))
    except PermissionDenied:
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("risk:reports")


# ---- Dashboard ------------------------------------------------------------------------------------------------------
@capability_required("risk.dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    d = selectors.dashboard(request.user)
    labels = {"low": _("低风险"), "medium": _("中风险"), "high": _("高风险"), "unrated": _("未评级")}
    chart = {
        "byRule": {"labels": [r["rule_code"] for r in d["by_rule"]], "values": [r["n"] for r in d["by_rule"]],
                   "title": _("未结预警（按规则）")},
        "ages": {"labels": [_("%(r)s 天") % {"r": k} for k in d["ages"]], "values": list(d["ages"].values()),
                 "title": _("未结预警（按账龄）")},
        "ratings": {"labels": [str(labels.get(k, k)) for k in ("high", "medium", "low", "unrated")],
                    "values": [d["ratings"].get(k, 0) for k in ("high", "medium", "low", "unrated")],
                    "title": _("洗钱风险等级分布")},
    }
    return render(request, "risk/dashboard.html", {"d": d, "chart": chart, "today": timezone.localdate(),
                                                   "can_alerts": access.can(request.user, "risk.alerts")})
