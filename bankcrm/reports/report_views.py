"""管理报表 pages: the report list, a report with its filters, charts and tables (every figure a link to the records
behind it), the records page, and the Excel/PDF export. Thin: the selectors compute, `report_present` lays out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from bankcrm.core import access, logs
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import report_catalog as catalog
from . import report_exports as exports
from . import report_records as records_ui
from . import report_rules as rules
from . import report_selectors as sel
from . import report_services as services
from .report_forms import filters_from
from .report_present import present, scope_label


def _query(period: Any, branch: str, **extra: str) -> str:
    q = {**period.query(), **({"branch": branch} if branch else {}), **extra}
    return urlencode(q)


@capability_required("reports.view")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/index.html", {
        "reports": list(catalog.REPORTS.values()),
        "can_schedule": access.can(request.user, "reports.schedule")})


@capability_required("reports.view")
@require_GET
def report_page(request: HttpRequest, code: str) -> HttpResponse:
    report = sel.report_get(code)
    today = timezone.localdate()
    form = filters_from(request.GET or None, actor=request.user, report=report, today=today)
    ctx: dict[str, Any] = {"report": report, "form": form, "can_export": access.can(request.user, "reports.export"),
                           "can_schedule": access.can(request.user, "reports.schedule")}
    if form.is_bound and not form.is_valid():
        return render(request, "reports/report.html", ctx, status=400)
    cd = form.cleaned_data if form.is_bound else {}
    period = cd.get("period_obj") or rules.current_period(report.default_period, today)
    branch = cd.get("branch", "")
    data = sel.report_data(request.user, code, period=period, branch_path=branch or None, today=today)
    records_url = reverse("reports:records", args=[code])
    page_url = reverse("reports:report", args=[code])

    def link(metric: str, dim: str, key: str) -> str:
        return f"{records_url}?{_query(period, branch, metric=metric, dim=dim, key=key)}"

    def branch_link(path: str) -> str:
        return f"{page_url}?{_query(period, path)}"

    view = present(data, link=link, branch_link=branch_link)
    query = _query(period, branch)
    parent = None
    branch_obj = data["ctx"].branch
    if branch and branch_obj is not None and branch_obj.parent_id:
        scope = access.scope_root(request.user)
        parent_path = branch_obj.parent.path
        if scope is None or parent_path.startswith(scope):
            parent = {"label": branch_obj.parent.label, "url": branch_link(parent_path)}
    ctx.update({"v": view, "query": query, "parent": parent,
                "chart_data": {"charts": view["charts"], "unit": _("万元")}})
    return render(request, "reports/report.html", ctx)


def _dim_label(dim: str, key: str, ctx: Any) -> str:
    from bankcrm.org.models import Branch

    if not dim:
        return ""
    if dim == catalog.BRANCH:
        b = Branch.objects.filter(path=key).first()
        name = b.label if b else key
        return _("%(b)s（本级）") % {"b": name} if key == ctx.group_root and b and b.children.exists() else name
    if dim == catalog.TIER:
        from bankcrm.wealth.rules import TIER_LABELS

        return str(TIER_LABELS.get(key, key))
    if dim == catalog.CATEGORY:
        from bankcrm.service.models import ProductLine

        return str(dict(ProductLine.choices).get(key, key))
    if dim == catalog.CAUSE:
        from bankcrm.service.models import RootCause

        return _("未定") if key == "none" else RootCause.objects.filter(code=key).values_list("name", flat=True).first() or key
    if dim == catalog.AML:
        return str(dict(catalog.AML_LEVELS).get(key, key))
    if dim == catalog.SUIT:
        return str(dict(catalog.SUIT_LEVELS).get(key, key))
    if dim == catalog.COURSE:
        from bankcrm.people.models import Course

        return (Course.objects.filter(pk=key).values_list("title", flat=True).first() if key.isdigit() else None) or key
    return key


@capability_required("reports.view")
@require_GET
def records(request: HttpRequest, code: str) -> HttpResponse:
    """The records behind one figure of a report (same scope, period and branch; narrowed to the row)."""
    report = sel.report_get(code)
    today = timezone.localdate()
    form = filters_from(request.GET, actor=request.user, report=report, today=today)
    if not form.is_valid():
        return redirect(f"{reverse('reports:report', args=[code])}?{request.GET.urlencode()}")
    period, branch = form.cleaned_data["period_obj"], form.cleaned_data["branch"]
    metric_code, dim, key = (request.GET.get(k, "") for k in ("metric", "dim", "key"))
    ctx = sel.context(request.user, period, branch or None, today=today)
    metric, qs = sel.records(ctx, metric_code, dim, key)
    kind = records_ui.KINDS[metric.kind]
    page = paginate(request, kind.prepare(qs), 50)
    items = list(page)
    customer_ids = [i for i in (kind.customer_id(item) for item in items) if i]
    if customer_ids:
        logs.access(actor=request.user, view="reports.records", subject_type="customers.Customer",
                    subject_ids=customer_ids, fields=kind.fields)
    branch_code = ""
    if dim == catalog.BRANCH and key:
        from bankcrm.org.models import Branch

        branch_code = Branch.objects.filter(path=key).values_list("code", flat=True).first() or ""
    elif ctx.branch is not None and ctx.root is not None:
        branch_code = ctx.branch.code
    base = _query(period, branch, metric=metric_code, dim=dim, key=key)
    return render(request, "reports/records.html", {
        "report": report, "metric_label": records_ui.METRIC_LABELS.get(metric.code, metric.code),
        "row_label": _dim_label(dim, key, ctx), "period": period, "scope": scope_label(ctx),
        "headers": kind.headers(), "rows": records_ui.rows(metric.kind, items, request.user), "page": page,
        "back": f"{reverse('reports:report', args=[code])}?{_query(period, branch)}", "base_query": base,
        "owning": records_ui.owning_list(metric.code, request.user, branch_code=branch_code)})


@capability_required("reports.export")
@require_GET
def export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    report = sel.report_get(code)
    if fmt not in exports.FORMATS:
        raise NotFound("format_not_found", _("不支持的格式"))
    form = filters_from(request.GET, actor=request.user, report=report, today=timezone.localdate())
    if not form.is_valid():
        return redirect(f"{reverse('reports:report', args=[code])}?{request.GET.urlencode()}")
    name, content_type, content = entrypoint(services.report_export)(
        actor=request.user, code=code, fmt=fmt, period=form.cleaned_data["period_obj"],
        branch_path=form.cleaned_data["branch"] or None)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
