"""Pages and downloads of customer exports."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import exports
from .models import CustomerExport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(name: str, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@capability_required("customers.export")
def export_masked(request: HttpRequest) -> HttpResponse:
    q = request.POST.get("q", "")
    try:
        exp, data = entrypoint(exports.export_masked)(actor=request.user, query=q)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(f"{request.build_absolute_uri('/customers/')}?q={q}")
    return _file(exp.file_name, data)


@require_POST
@capability_required("customers.export")
def export_request(request: HttpRequest) -> HttpResponse:
    try:
        entrypoint(exports.export_request_unmasked)(actor=request.user, query=request.POST.get("q", ""),
                                                    reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已提交复核；批准后可在“我的导出”中下载一次（24小时内有效）"))
    return redirect("customers:exports")


@capability_required("customers.export")
def export_list(request: HttpRequest) -> HttpResponse:
    qs = CustomerExport.objects.filter(requested_by=request.user)
    return render(request, "customers/exports.html", {"page": paginate(request, qs, 20), "query": ""})


@require_POST
@capability_required("customers.export")
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        exp, data = entrypoint(exports.export_download)(actor=request.user, export_id=pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("customers:exports")
    return _file(exp.file_name, data)
