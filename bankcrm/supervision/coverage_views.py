"""Pages of the coverage matrix (制度覆盖矩阵): the matrix, "run now", a control with its live exceptions and run
history (raise a finding for an exception), a clause with its history and the editor."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, not_found

from . import controls as registry
from . import coverage_selectors as cov
from . import coverage_services
from . import finding_rules as fr
from .finding_forms import ClauseForm


@capability_required("supervision.view")
def matrix(request: HttpRequest) -> HttpResponse:
    figures = cov.control_figures(request.user)
    rows = cov.matrix(request.user)
    automated = [f for f in figures.values() if f["automated"]]
    last = max((f["run"].finished_at for f in automated if f["run"] and f["run"].finished_at), default=None)
    return render(request, "supervision/coverage/matrix.html", {
        "rows": rows, "chart": cov.chart(figures), "last_run": last,
        "summary": {"clauses": len(rows), "controls": len(automated),
                    "with_exceptions": sum(1 for f in automated if f["run"] and f["run"].exceptions),
                    "exceptions": sum(f["run"].exceptions for f in automated if f["run"])},
        "can_run": access.can(request.user, "supervision.run_controls"),
        "can_edit": access.can(request.user, "supervision.clauses"),
        "sees_all": access.scope_root(request.user) is None,
    })


@require_POST
@capability_required("supervision.run_controls")
def controls_run(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("control", "")
    codes = [code] if code else None
    if code and (registry.get(code) is None or not registry.get(code).automated):
        return not_found(request, _("控制不存在"))
    runs = entrypoint(registry.controls_run)(actor=request.user, codes=codes)
    failed = [r.control for r in runs if r.status == "failed"]
    if failed:
        messages.error(request, _("以下控制运行失败：%(c)s") % {"c": "、".join(failed)})
    messages.success(request, _("已运行 %(n)d 项控制检查：例外 %(e)d 项，新增检查发现 %(f)d 项，数据已更正 %(r)d 项") % {
        "n": len(runs), "e": sum(r.exceptions for r in runs), "f": sum(r.new_findings for r in runs),
        "r": sum(r.resolved_findings for r in runs)})
    return redirect("supervision:control", code=code) if code else redirect("supervision:matrix")


@require_POST
@capability_required("supervision.clauses")
def clauses_install(request: HttpRequest) -> HttpResponse:
    """Install the regulation's clauses (DOMAIN_RULES.md §1) and their links to the controls — what
    ``supervision_bootstrap`` does first; idempotent, never overwrites an edited clause."""
    r = entrypoint(coverage_services.clauses_install_default)(actor=request.user)
    messages.success(request, _("已安装制度条款 %(c)d 条、控制关联 %(l)d 项") % {"c": r["clauses"], "l": r["links"]})
    return redirect("supervision:matrix")


@capability_required("supervision.view")
def control_detail(request: HttpRequest, code: str) -> HttpResponse:
    control = registry.get(code)
    if control is None:
        return not_found(request, _("控制不存在"))
    figures = cov.control_figures(request.user).get(code, {})
    live = cov.live_exceptions(request.user, control)
    customer_ids = [int(r["exc"].target_id) for r in live["rows"] if r["exc"].target_type == "customers.Customer"]
    if customer_ids:
        logs.access(actor=request.user, view="supervision.control_exceptions", subject_type="customers.Customer",
                    subject_ids=customer_ids, fields=["name_masked", "customer_no"])
    from .models import Clause

    runs = cov.runs_of(code)
    done = [r for r in reversed(runs) if r.status == "done"]
    trend = {"labels": [f"{r.started_at:%m-%d %H:%M}" for r in done], "values": [r.exceptions for r in done]}
    if len(done) < 2:  # one point is not a trend
        trend = {"labels": [], "values": []}
    return render(request, "supervision/coverage/control.html", {
        "control": control, "f": figures, "live": live, "runs": runs,
        "trend": trend,
        "clauses": Clause.objects.filter(controls__control=code).order_by("position"),
        "can_raise": access.can(request.user, "supervision.findings"),
        "can_run": access.can(request.user, "supervision.run_controls"),
        "rectify_days": fr.rectify_days(control.severity),
    })


@require_POST
@capability_required("supervision.findings")
def control_raise(request: HttpRequest, code: str) -> HttpResponse:
    try:
        f = entrypoint(registry.raise_for_exception)(actor=request.user, code=code,
                                                     target_id=request.POST.get("target_id", ""))
    except NotFound as exc:
        messages.error(request, str(exc.message))
        return redirect("supervision:control", code=code) if registry.get(code) else not_found(request)
    messages.success(request, _("已登记检查发现 %(n)s，整改责任人已收到待办") % {"n": f.number})
    return redirect("supervision:finding", pk=f.pk)


@capability_required("supervision.view")
@require_http_methods(["GET", "POST"])
def clause_detail(request: HttpRequest, code: str) -> HttpResponse:
    clause = cov.clause_get(request.user, code)
    can_edit = access.can(request.user, "supervision.clauses")
    initial = {"title": clause.title, "title_en": clause.title_en, "text": clause.text, "active": clause.active,
               "controls": list(clause.controls.values_list("control", flat=True))}
    form = ClauseForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("permission_denied", access.denial_reason(request.user, "supervision.clauses"),
                                   capability="supervision.clauses")
        if form.is_valid():
            cd = form.cleaned_data
            try:
                entrypoint(coverage_services.clause_save)(
                    actor=request.user, code=code, title=cd["title"], title_en=cd["title_en"], text=cd["text"],
                    active=cd["active"], controls=cd["controls"], reason=cd["reason"])
            except DomainError as exc:
                apply_error(form, request, exc)
            else:
                messages.success(request, _("条款已保存"))
                return redirect("supervision:clause", code=code)
    figures = cov.control_figures(request.user)
    return render(request, "supervision/coverage/clause.html", {
        "clause": clause, "form": form, "can_edit": can_edit,
        "controls": [figures.get(cc.control) or {"code": cc.control, "control": None} for cc in clause.controls.all()],
        "revisions": clause.revisions.select_related("edited_by").all(),
    })
