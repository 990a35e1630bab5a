"""Customer import pages: upload, column mapping with a masked preview, validation results with the error report,
choice of mode, and a progress bar that htmx polls while the background task runs."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import bulk, import_files, imports
from .models import CustomerImport


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("客户文件"), help_text=gettext_lazy(
        "CSV（UTF-8或GBK编码）或Excel（.xlsx），第一行为表头，例如：姓名、证件类型、证件号码、手机号码、电子邮箱、地址、职业、客户类型"))
    default_manager = forms.ModelChoiceField(label=gettext_lazy("默认主管客户经理"), queryset=None, required=False,
                                             help_text=gettext_lazy("文件中未写“客户经理工号”的客户由其主管；可不选"))

    def __init__(self, *args, actor=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_manager"].queryset = imports.manager_choices(actor)


class MappingForm(forms.Form):
    """One choice per import field: which column of the file holds it."""

    def __init__(self, *args, imp: CustomerImport, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        columns = [("", _("（不导入）"))] + [(str(i), h or _("第%(n)d列") % {"n": i + 1}) for i, h in enumerate(imp.headers)]
        for fname in bulk.INPUT_FIELDS:
            required = fname in import_files.REQUIRED_FIELDS
            self.fields[fname] = forms.ChoiceField(label=bulk.FIELD_LABELS[fname], choices=columns, required=required,
                                                   initial=str(imp.mapping[fname]) if fname in imp.mapping else "")

    def mapping(self) -> dict[str, int]:
        return {f: int(v) for f, v in self.cleaned_data.items() if v not in ("", None)}


class ModeForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("导入方式"), choices=CustomerImport.Mode.choices,
                             initial=CustomerImport.Mode.GOOD_ROWS, widget=forms.RadioSelect)


def _too_large(request: HttpRequest) -> bool:
    """Decide from the Content-Length header, before the body is read, whether the upload is over the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > import_files.max_bytes() + 64 * 1024  # the multipart envelope around the file


@capability_required("customers.import")
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports the actor may see, and the upload form."""
    form, refused = None, ""
    if request.method == "POST":
        if _too_large(request):
            refused = _("文件过大，单个文件不能超过%(limit)d MB（import_too_large）") % {"limit": import_files.max_bytes() // 1024 // 1024}
        else:
            form = UploadForm(request.POST, request.FILES, actor=request.user)
            if form.is_valid():
                try:
                    imp = entrypoint(imports.import_upload)(
                        actor=request.user, file=form.cleaned_data["file"],
                        default_manager_id=form.cleaned_data["default_manager"].pk if form.cleaned_data["default_manager"] else None)
                except DomainError as exc:
                    apply_error(form, request, exc)
                else:
                    messages.success(request, _("文件已上传，请确认各列对应的字段"))
                    return redirect("customers:import_detail", pk=imp.pk)
    page = paginate(request, imports.imports_visible(request.user), 20)
    return render(request, "customers/import_list.html", {"form": form or UploadForm(actor=request.user), "page": page,
                                                          "refused": refused, "max_mb": import_files.max_bytes() // 1024 // 1024},
                  status=400 if refused or (form is not None and form.errors) else 200)


@capability_required("customers.import")
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    imp = imports.import_get(request.user, pk)
    ctx: dict = {"imp": imp}
    if imp.status in (CustomerImport.Status.UPLOADED, CustomerImport.Status.VALIDATED):
        ctx["mapping_form"] = MappingForm(imp=imp)
        ctx["preview"] = imports.preview(imp)
    if imp.status == CustomerImport.Status.VALIDATED:
        ctx["mode_form"] = ModeForm()
    return render(request, "customers/import_detail.html", ctx)


@capability_required("customers.import")
@require_POST
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    imp = imports.import_get(request.user, pk)
    form = MappingForm(request.POST, imp=imp)
    if form.is_valid():
        try:
            entrypoint(imports.import_configure)(actor=request.user, import_id=imp.pk, mapping=form.mapping())
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.info(request, _("正在逐行校验，完成后可下载错误报告并选择导入方式"))
            return redirect("customers:import_detail", pk=imp.pk)
    return render(request, "customers/import_detail.html", {"imp": imp, "mapping_form": form,
                                                            "preview": imports.preview(imp)}, status=400)


@capability_required("customers.import")
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    imp = imports.import_get(request.user, pk)
    form = ModeForm(request.POST)
    if form.is_valid():
        try:
            entrypoint(imports.import_start)(actor=request.user, import_id=imp.pk, mode=form.cleaned_data["mode"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.info(request, _("导入已开始，可离开本页，稍后回来查看结果"))
            return redirect("customers:import_detail", pk=imp.pk)
    return render(request, "customers/import_detail.html", {"imp": imp, "mode_form": form,
                                                            "mapping_form": MappingForm(imp=imp),
                                                            "preview": imports.preview(imp)}, status=400)


@capability_required("customers.import")
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx; when the task is over the whole page reloads to show the result."""
    imp = imports.import_get(request.user, pk)
    response = render(request, "customers/import_progress.html", {"imp": imp})
    if not imp.busy and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@capability_required("customers.import")
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The error report: row number, field, code and reason for every refused row (no personal data in it)."""
    imp = imports.import_get(request.user, pk)
    if not imp.error_report:
        return render(request, "errors/404.html", {"message": _("该导入没有错误报告")}, status=404)
    response = FileResponse(imp.error_report.open("rb"), as_attachment=True, filename=f"import-{imp.pk}-errors.csv",
                            content_type="text/csv; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
