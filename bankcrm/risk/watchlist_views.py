"""Watch-list pages: the lists with their counts and the import form (CSV upload), and one list's detail: the rows
refused at import, the entries (paginated) and the screening hits of customers the viewer may see."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from bankcrm.core import logs, masking
from bankcrm.core.errors import DomainError
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import watchlist as svc
from .models import WatchList

register(NavEntry(gettext_lazy("风险"), gettext_lazy("监控名单"), "risk:watchlists", "risk.watchlist", "person-x", 60))


class ImportForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名单名称"), max_length=100,
                           help_text=gettext_lazy("与已有名单同名时导入为该名单的新版本，旧版本停用"))
    kind = forms.ChoiceField(label=gettext_lazy("名单类型"), choices=WatchList.Kind.choices)
    source = forms.CharField(label=gettext_lazy("来源"), max_length=200, required=False)
    file = forms.FileField(label=gettext_lazy("名单文件"), help_text=gettext_lazy(
        "UTF-8编码的CSV，第一行为表头：name（必填）、birth_date（YYYY-MM-DD，可选）、country（可选）、note（可选）"))


def alerts_url() -> str | None:
    """The alert list page, when the alerts feature is installed."""
    try:
        return reverse("risk:alerts")
    except NoReverseMatch:
        return None


@capability_required("risk.watchlist")
@require_http_methods(["GET", "POST"])
def watchlist_list(request: HttpRequest) -> HttpResponse:
    form = ImportForm()
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            d = form.cleaned_data
            try:
                svc.check_size(d["file"].size)
                wl = entrypoint(svc.watchlist_import)(actor=request.user, name=d["name"], kind=d["kind"],
                                                      source=d["source"], file_bytes=d["file"].read())
            except DomainError as exc:
                for field, msgs in exc.fields.items():
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, str(m))
                form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
            else:
                wl.refresh_from_db()
                done = _("已完成对全部客户的筛查") if wl.screened_at else _("全部客户的筛查已在后台进行")
                messages.success(request, _("已导入%(n)d条，%(bad)d行有误未导入；%(screening)s") % {
                    "n": wl.entries_count, "bad": wl.rejected_rows, "screening": done})
                return redirect("risk:watchlist_detail", pk=wl.pk)
        status = 400
    page = paginate(request, svc.watchlists(request.user), 20)
    for wl in page:
        wl.hits = svc.list_hits(request.user, wl).count()
    return render(request, "risk/watchlist/list.html", {"form": form, "page": page}, status=status)


@capability_required("risk.watchlist")
@require_GET
def watchlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    wl = svc.watchlist_get(request.user, pk)
    entries = paginate(request, wl.entries.all(), 50)
    hits = list(svc.list_hits(request.user, wl)[:200])
    if hits:
        logs.access(actor=request.user, view="risk.watchlist_hits", subject_type="customers.Customer",
                    subject_ids=sorted({a.customer_id for a in hits}), fields=["name"])
    rows = [{"alert": a, "customer_no": a.customer.customer_no, "name": masking.mask_name(a.customer.name),
             "url": reverse("customers:detail", args=[a.customer_id])} for a in hits]
    return render(request, "risk/watchlist/detail.html", {
        "wl": wl, "entries": entries, "page": entries, "hits": rows, "alerts_url": alerts_url(),
        "versions": WatchList.objects.filter(name=wl.name).order_by("-version")})
