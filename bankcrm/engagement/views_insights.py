"""Engagement pages, insights: a customer's insights (each with the sentence it came from, the intent's words
highlighted, filterable by intent, source and sentiment) with the customer's life events; and the intent dictionary
for administrators: the dictionary in force with its measured precision and recall on the labelled notes, a box to
try a text against it (nothing is stored), the JSON download, and an edit page — paste or upload the JSON, preview
its figures, save it as a new version (validated with field errors, audited). With no saved version the maintained
file ``engagement/data/intents.json`` is in force; "restore" puts that file back as a new version."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import insight_selectors as sel
from . import insight_services, insights
from .insight_services import active_dictionary
from .models import Insight, IntentDictionary, LifeEvent
from .rules import goal_label
from .views import _customer, form_error, log_customers

PATH = "bankcrm/engagement/data/intents.json"
MAX_UPLOAD = 512 * 1024
REASONS = {"negated": gettext_lazy("否定或拒绝"), "refused": gettext_lazy("拒绝了推荐"),
           "third_party": gettext_lazy("说的是他人"), "not_self": gettext_lazy("客户本人无此需求"),
           "yielded": gettext_lazy("归入更具体的意图")}
SENTIMENT_CSS = {"pos": "text-bg-success", "neu": "text-bg-light border", "neg": "text-bg-danger"}


@capability_required("engagement.view")
def customer_insights(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    intent, source = request.GET.get("intent", ""), request.GET.get("source", "")
    sentiment = request.GET.get("sentiment", "")
    page = paginate(request, sel.insight_queue(request.user, customer_id=customer.pk, intent=intent, source=source,
                                               sentiment=sentiment), 30)
    rows = sel.decorate(list(page))
    for r in rows:
        r.url = sel.source_url(r)  # type: ignore[attr-defined]
    today = timezone.localdate()
    events = list(sel.life_event_queue(request.user, customer_id=customer.pk, start=today - timedelta(days=30))
                  [:50])
    for e in events:
        e.text = sel.event_text(e)  # type: ignore[attr-defined]
    log_customers(request, "engagement.customer_insights", [customer.pk], ["name", "insights", "life_events"])
    return render(request, "engagement/insights_customer.html", {
        "customer": customer, "page": page, "rows": rows, "events": events, "today": today,
        "query": request.GET.urlencode(),
        "intents": sel.intent_counts(request.user, customer), "intent": intent, "source": source,
        "sentiment": sentiment, "sources": Insight.Source.choices, "sentiments": Insight.Sentiment.choices,
        "sentiment_css": SENTIMENT_CSS, "event_kinds": LifeEvent.Kind.choices})


class TryForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("试一试：输入一段记录"), max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": gettext_lazy("请输入一段文字"),
                                           "max_length": gettext_lazy("最多 4000 个字")})


@lru_cache(maxsize=4)
def _figures(digest: str) -> dict[str, Any]:
    """Precision and recall of the dictionary on the labelled notes (cached per dictionary content)."""
    return insights.evaluate_split(active_dictionary())


def _rows(analysis: insights.Analysis) -> dict[str, Any]:
    data = analysis.as_dict()
    for row in data["intents"]:
        row["pieces"] = sel.highlight(row["sentence"], row["keyword"])
    for row in data["dropped"]:
        row["reason_label"] = REASONS.get(row["reason"], row["reason"])
    return data


@capability_required("engagement.manage")
@require_http_methods(["GET", "POST"])
def intents_page(request: HttpRequest) -> HttpResponse:
    d = active_dictionary()
    form = TryForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = _rows(insights.analyze(form.cleaned_data["text"], d))
    figures = _figures(d.digest)
    from bankcrm.wealth.models import WealthProduct

    kinds = dict(WealthProduct.Kind.choices)
    intents = [{"def": i, "goal": goal_label(i.goal) if i.goal else "—",
                "kinds": "、".join(str(kinds.get(k, k)) for k in i.product_kinds) or "—",
                "figures": figures["heldout"]["per_intent"].get(i.code, {}),
                "train": figures["train"]["per_intent"].get(i.code, {})} for i in d.intents]
    return render(request, "engagement/insights_dictionary.html", {
        "d": d, "intents": intents, "matching": d.matching, "figures": figures, "form": form, "result": result,
        "guide": d.raw.get("labelling_guide", []), "sentiment_css": SENTIMENT_CSS, "path": PATH,
        "current": insight_services.active_version(), "versions": IntentDictionary.objects.select_related(
            "created_by").order_by("-version")[:20]})


@capability_required("engagement.manage")
def intents_download(request: HttpRequest) -> HttpResponse:
    d = active_dictionary()
    resp = HttpResponse(insights.dump_dictionary(d.raw), content_type="application/json; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="intents-v{d.version}.json"'
    return resp


class DictionaryForm(forms.Form):
    data = forms.CharField(label=gettext_lazy("词典 JSON"), required=False, widget=forms.Textarea(attrs={"rows": 24}))
    upload = forms.FileField(label=gettext_lazy("或上传 JSON 文件"), required=False)
    note = forms.CharField(label=gettext_lazy("修改说明"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        f = cd.get("upload")
        if f is not None:
            if f.size > MAX_UPLOAD:
                self.add_error("upload", gettext_lazy("文件不能超过 512 KB"))
            else:
                cd["data"] = f.read()
        if not cd.get("data"):
            self.add_error("data", gettext_lazy("请粘贴词典 JSON 或上传文件"))
        return cd


@capability_required("engagement.manage")
@require_http_methods(["GET", "POST"])
def intents_edit(request: HttpRequest) -> HttpResponse:
    """Preview (validate and measure on the labelled notes, nothing saved) or save a new version."""
    d = active_dictionary()
    form = DictionaryForm(request.POST or None, request.FILES or None,
                          initial={"data": insights.dump_dictionary(d.raw)})
    preview = None
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            if request.POST.get("action") == "save":
                row = entrypoint(insight_services.intent_dictionary_save)(actor=request.user, data=cd["data"],
                                                                          note=cd["note"])
                messages.success(request, gettext_lazy("意图词典第 %(v)d 版已保存并生效") % {"v": row.version})
                return redirect("engagement:intents")
            proposed = insight_services.parse_dictionary(cd["data"])
            preview = {"d": proposed, "figures": insights.evaluate_split(proposed)}
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
    return render(request, "engagement/insights_dictionary_edit.html", {
        "form": form, "d": d, "preview": preview, "current": insight_services.active_version(), "path": PATH})


@capability_required("engagement.manage")
@require_http_methods(["POST"])
def intents_restore(request: HttpRequest) -> HttpResponse:
    try:
        row = entrypoint(insight_services.intent_dictionary_restore_file)(
            actor=request.user, note=str(gettext_lazy("恢复为代码库维护的词典文件")))
        messages.success(request, gettext_lazy("已恢复代码库维护的词典（第 %(v)d 版）") % {"v": row.version})
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, f"{exc.message}（{exc.code}）")
    return redirect("engagement:intents")
