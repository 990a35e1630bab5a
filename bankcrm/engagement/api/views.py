"""Engagement API (under /api/v1/engagement/): interactions (log, plan, complete, cancel), tasks, action plans and
plan templates, referrals (send, accept, decline, complete), opportunities (create, update, move, link a sale) and
the pipeline, needs profiles with their history, and the calendar.

Every read goes through a scoped selector (an object the caller may not see is 404), every write through one service
inside the entry point's durable transaction; domain errors are mapped once (400 validation, 403 capability, 404
invisible, 409 rule). Responses that show customers write an access event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.transactions import entrypoint
from bankcrm.customers.selectors import customer_get

from .. import rules, selectors, services
from ..models import NeedsProfile
from . import serializers as s


def _log(request: Request, view: str, ids: Any, fields: tuple[str, ...] = ("name",)) -> None:
    ids = sorted({i for i in ids if i})
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=list(fields), channel="api")


def _body(serializer: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    b = serializer(data=request.data, **kwargs)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _detail(request: Request) -> dict[str, Any]:
    """Serializer context of a single object: the customer's name follows the viewer (lists always mask it)."""
    return {"request": request, "masked": False}


def _list_get(view: generics.ListAPIView, request: Request, log_view: str, *args: Any, **kwargs: Any) -> Response:
    response = generics.ListAPIView.get(view, request, *args, **kwargs)
    _log(request, log_view, [r.get("customer_id") for r in response.data.get("results", [])])
    return response


CUSTOMER = OpenApiParameter("customer_id", int, description="只看该客户")
MINE = OpenApiParameter("mine", str, description="1：只看本人的")


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


# ---- Interactions ----------------------------------------------------------------------------------------------------
class InteractionListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "POST": "engagement.log"}
    serializer_class = s.EgInteractionSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.interaction_queue(self.request.user, status=q.get("status", ""), kind=q.get("kind", ""),
                                           mine=q.get("mine") == "1", customer_id=q.get("customer_id", ""))

    @extend_schema(parameters=[OpenApiParameter("status", str, description="planned / done / cancelled"),
                               OpenApiParameter("kind", str), MINE, CUSTOMER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _list_get(self, request, "engagement.api_interactions", *args, **kwargs)

    @extend_schema(request=s.EgInteractionCreateSerializer, responses={201: s.EgInteractionDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgInteractionCreateSerializer, request)
        common = dict(customer_id=d["customer_id"], kind=d["kind"], subject=d["subject"], notes=d["notes"],
                      next_steps=d["next_steps"], participants=d["participants"])
        if d["mode"] == "planned":
            i = entrypoint(services.interaction_plan)(actor=request.user, planned_at=d["planned_at"], **common)
        else:
            i = entrypoint(services.interaction_log)(actor=request.user, occurred_at=d["occurred_at"],
                                                     follow_up_on=d["follow_up_on"], **common)
        return Response(s.EgInteractionDetailSerializer(i, context=_detail(request)).data, status=201)


class InteractionDetail(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: s.EgInteractionDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        i = selectors.interaction_get(request.user, pk)
        _log(request, "engagement.api_interaction", [i.customer_id], ("name", "interaction_notes"))
        return Response(s.EgInteractionDetailSerializer(i, context=_detail(request)).data)


class InteractionComplete(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.log"

    @extend_schema(request=s.EgInteractionCompleteSerializer, responses={200: s.EgInteractionDetailSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgInteractionCompleteSerializer, request)
        i = entrypoint(services.interaction_complete)(actor=request.user, interaction_id=pk, **d)
        return Response(s.EgInteractionDetailSerializer(i, context=_detail(request)).data)


class InteractionCancel(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.log"

    @extend_schema(request=s.EgReasonSerializer, responses={200: s.EgInteractionDetailSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgReasonSerializer, request)
        i = entrypoint(services.interaction_cancel)(actor=request.user, interaction_id=pk, reason=d["reason"])
        return Response(s.EgInteractionDetailSerializer(i, context=_detail(request)).data)


# ---- Tasks -----------------------------------------------------------------------------------------------------------
class TaskListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "POST": "engagement.log"}
    serializer_class = s.EgTaskSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.task_queue(self.request.user, bucket=q.get("bucket", ""), status=q.get("status", "open"),
                                    customer_id=q.get("customer_id", ""), mine=q.get("mine", "1") == "1")

    @extend_schema(parameters=[OpenApiParameter("bucket", str, description="overdue / today / upcoming"),
                               OpenApiParameter("status", str, description="open（默认）/ done / cancelled / all"),
                               OpenApiParameter("mine", str, description="1（默认）：本人的任务；0：可查看的全部"),
                               CUSTOMER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _list_get(self, request, "engagement.api_tasks", *args, **kwargs)

    @extend_schema(request=s.EgTaskCreateSerializer, responses={201: s.EgTaskSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgTaskCreateSerializer, request)
        t = entrypoint(services.task_create)(actor=request.user, **d)
        return Response(s.EgTaskSerializer(t).data, status=201)


class TaskDetail(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: s.EgTaskSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        t = selectors.task_get(request.user, pk)
        _log(request, "engagement.api_task", [t.customer_id])
        return Response(s.EgTaskSerializer(t).data)


class TaskComplete(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.log"

    @extend_schema(request=s.EgTaskResultSerializer, responses={200: s.EgTaskSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgTaskResultSerializer, request)
        return Response(s.EgTaskSerializer(entrypoint(services.task_complete)(actor=request.user, task_id=pk,
                                                                             result=d["result"])).data)


class TaskCancel(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.log"

    @extend_schema(request=s.EgReasonSerializer, responses={200: s.EgTaskSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgReasonSerializer, request)
        return Response(s.EgTaskSerializer(entrypoint(services.task_cancel)(actor=request.user, task_id=pk,
                                                                           reason=d["reason"])).data)


# ---- Plan templates and plans ----------------------------------------------------------------------------------------
class PlanTemplateList(generics.ListAPIView):
    """Active templates, to start a plan from."""

    permission_classes = [HasCapability]
    capability = "engagement.view"
    serializer_class = s.EgPlanTemplateSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.templates(active_only=True)


class PlanTemplateAdminListCreate(generics.ListAPIView):
    """Every template (administrators)."""

    permission_classes = [HasCapability]
    capability = "engagement.manage"
    serializer_class = s.EgPlanTemplateSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.templates()

    @extend_schema(request=s.EgPlanTemplateWriteSerializer, responses={201: s.EgPlanTemplateSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgPlanTemplateWriteSerializer, request)
        t = entrypoint(services.template_save)(actor=request.user, **d)
        return Response(s.EgPlanTemplateSerializer(t).data, status=201)


class PlanTemplateAdminDetail(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.manage"

    @extend_schema(responses={200: s.EgPlanTemplateSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.EgPlanTemplateSerializer(selectors.template_get(pk)).data)

    @extend_schema(request=s.EgPlanTemplateWriteSerializer, responses={200: s.EgPlanTemplateSerializer, **ERRORS})
    def put(self, request: Request, pk: int) -> Response:
        d = _body(s.EgPlanTemplateWriteSerializer, request)
        d.pop("code", None)
        t = entrypoint(services.template_save)(actor=request.user, template_id=pk, code="", **d)
        return Response(s.EgPlanTemplateSerializer(t).data)


class PlanTemplatesInstall(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.manage"

    @extend_schema(request=None, responses={200: s.EgInstalledSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        return Response({"installed": entrypoint(services.templates_install_default)(actor=request.user)})


class PlanListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "POST": "engagement.log"}
    serializer_class = s.EgPlanSerializer

    def get_queryset(self):
        q = self.request.query_params
        qs = selectors.plans_visible(self.request.user).select_related("template", "customer").prefetch_related(
            "tasks", "tasks__customer", "tasks__owner")
        if _int(q.get("customer_id")):
            qs = qs.filter(customer_id=_int(q.get("customer_id")))
        if q.get("status"):
            qs = qs.filter(status=q.get("status"))
        return qs.order_by("-started_on", "-id")

    @extend_schema(parameters=[CUSTOMER, OpenApiParameter("status", str, description="active / done / cancelled")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _list_get(self, request, "engagement.api_plans", *args, **kwargs)

    @extend_schema(request=s.EgPlanStartSerializer, responses={201: s.EgPlanSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgPlanStartSerializer, request)
        plan = entrypoint(services.plan_start)(actor=request.user, **d)
        return Response(s.EgPlanSerializer(selectors.plan_get(request.user, plan.pk)).data, status=201)


class PlanDetail(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: s.EgPlanSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        plan = selectors.plan_get(request.user, pk)
        _log(request, "engagement.api_plan", [plan.customer_id])
        return Response(s.EgPlanSerializer(plan).data)


class PlanCancel(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.log"

    @extend_schema(request=s.EgReasonSerializer, responses={200: s.EgPlanSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgReasonSerializer, request)
        plan = entrypoint(services.plan_cancel)(actor=request.user, plan_id=pk, reason=d["reason"])
        return Response(s.EgPlanSerializer(selectors.plan_get(request.user, plan.pk)).data)


# ---- Referrals -------------------------------------------------------------------------------------------------------
class ReferralListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "engagement.pipeline"
    serializer_class = s.EgReferralSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.referral_queue(self.request.user, box=q.get("box", "all"), status=q.get("status", ""))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.referral_rows(request.user, page if page is not None else [])
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("box", str, description="received / sent / all（默认）"),
                               OpenApiParameter("status", str, description="open / sent / accepted / declined / "
                                                                           "completed")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _list_get(self, request, "engagement.api_referrals", *args, **kwargs)

    @extend_schema(request=s.EgReferralCreateSerializer, responses={201: s.EgReferralSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgReferralCreateSerializer, request)
        r = entrypoint(services.referral_send)(actor=request.user, **d)
        return Response(s.EgReferralSerializer(selectors.referral_get(request.user, r.pk),
                                               context=_detail(request)).data, status=201)


class ReferralDetail(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.pipeline"

    @extend_schema(responses={200: s.EgReferralSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        r = selectors.referral_get(request.user, pk)
        _log(request, "engagement.api_referral", [r.customer_id])
        return Response(s.EgReferralSerializer(r, context=_detail(request)).data)


def _referral_transition(body: type[serializers.Serializer] | None, run: Any, name: str) -> type[APIView]:
    class Transition(APIView):
        permission_classes = [HasCapability]
        capability = "engagement.pipeline"

        @extend_schema(request=body, responses={200: s.EgReferralSerializer, **ERRORS}, operation_id=name)
        def post(self, request: Request, pk: int) -> Response:
            data = _body(body, request) if body is not None else {}
            r = entrypoint(run)(actor=request.user, referral_id=pk, **data)
            return Response(s.EgReferralSerializer(selectors.referral_get(request.user, r.pk),
                                                   context=_detail(request)).data)

    Transition.__name__ = Transition.__qualname__ = name.title().replace("_", "")
    return Transition


ReferralAccept = _referral_transition(None, services.referral_accept, "engagement_referral_accept")
ReferralDecline = _referral_transition(s.EgReasonSerializer, services.referral_decline, "engagement_referral_decline")
ReferralComplete = _referral_transition(s.EgOutcomeSerializer, services.referral_complete,
                                        "engagement_referral_complete")


# ---- Opportunities and the pipeline ----------------------------------------------------------------------------------
class OpportunityListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "POST": "engagement.pipeline"}
    serializer_class = s.EgOpportunitySerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.opportunity_queue(self.request.user, stage=q.get("stage", ""), mine=q.get("mine") == "1",
                                           customer_id=q.get("customer_id", ""), goal=q.get("goal", ""))

    @extend_schema(parameters=[OpenApiParameter("stage", str, description="open / need / contacted / proposal / won / "
                                                                          "lost"),
                               OpenApiParameter("goal", str), MINE, CUSTOMER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _list_get(self, request, "engagement.api_opportunities", *args, **kwargs)

    @extend_schema(request=s.EgOpportunityCreateSerializer, responses={201: s.EgOpportunitySerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        d = _body(s.EgOpportunityCreateSerializer, request)
        if d["customer_id"] is None and d["referral_id"] is None:
            raise ValidationFailed("customer_required", _("请指定客户"), fields={"customer_id": [_("必填")]})
        o = entrypoint(services.opportunity_create)(actor=request.user, **d)
        return Response(s.EgOpportunitySerializer(o, context=_detail(request)).data, status=201)


class OpportunityDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "PATCH": "engagement.pipeline"}

    @extend_schema(responses={200: s.EgOpportunitySerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        o = selectors.opportunity_get(request.user, pk)
        _log(request, "engagement.api_opportunity", [o.customer_id])
        return Response(s.EgOpportunitySerializer(o, context=_detail(request)).data)

    @extend_schema(request=s.EgOpportunityUpdateSerializer, responses={200: s.EgOpportunitySerializer, **ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        d = _body(s.EgOpportunityUpdateSerializer, request)
        o = entrypoint(services.opportunity_update)(actor=request.user, opportunity_id=pk, **d)
        return Response(s.EgOpportunitySerializer(o, context=_detail(request)).data)


class OpportunityMove(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.pipeline"

    @extend_schema(request=s.EgMoveSerializer, responses={200: s.EgOpportunitySerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgMoveSerializer, request)
        o = entrypoint(services.opportunity_move)(actor=request.user, opportunity_id=pk, **d)
        return Response(s.EgOpportunitySerializer(o, context=_detail(request)).data)


class OpportunityLinkSale(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.pipeline"

    @extend_schema(request=s.EgLinkSaleSerializer, responses={200: s.EgOpportunitySerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.EgLinkSaleSerializer, request)
        o = entrypoint(services.opportunity_link_sale)(actor=request.user, opportunity_id=pk, sale_id=d["sale_id"])
        return Response(s.EgOpportunitySerializer(o, context=_detail(request)).data)


class Pipeline(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(parameters=[MINE, OpenApiParameter("goal", str)], responses={200: s.EgPipelineSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        q = request.query_params
        data = selectors.pipeline(request.user, mine=q.get("mine") == "1", goal=q.get("goal", ""))
        _log(request, "engagement.api_pipeline", [o.customer_id for c in data["columns"] for o in c["items"]])
        return Response(s.EgPipelineSerializer(data, context={"request": request}).data)


# ---- Needs profile ---------------------------------------------------------------------------------------------------
def _needs_data(customer: Any, profile: NeedsProfile | None) -> dict[str, Any]:
    if profile is None:
        return {"customer_id": customer.pk, "goals": [], "horizon": "", "liquidity": "", "constraints": "",
                "notes": "", "version": 0, "recorded_by_id": None, "recorded_at": None}
    return s.EgNeedsSerializer(profile).data


class Needs(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "engagement.view", "PUT": "engagement.needs"}

    @extend_schema(responses={200: s.EgNeedsSerializer, **ERRORS},
                   description="version 0：尚未建立需求档案")
    def get(self, request: Request, pk: int) -> Response:
        customer = customer_get(request.user, pk)
        _log(request, "engagement.api_needs", [customer.pk], ("name", "needs"))
        return Response(_needs_data(customer, selectors.needs_get(request.user, customer)))

    @extend_schema(request=s.EgNeedsWriteSerializer, responses={200: s.EgNeedsSerializer, **ERRORS},
                   description="每次有变化的保存生成一个新版本；内容未变化时不生成新版本")
    def put(self, request: Request, pk: int) -> Response:
        d = _body(s.EgNeedsWriteSerializer, request)
        profile = entrypoint(services.needs_save)(actor=request.user, customer_id=pk, **d)
        return Response(s.EgNeedsSerializer(profile).data)


class NeedsHistory(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: s.EgNeedsVersionSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        customer = customer_get(request.user, pk)
        history = selectors.needs_history(request.user, customer)
        _log(request, "engagement.api_needs_history", [customer.pk], ("name", "needs"))
        changes = {h["version"].pk: h["changes"] for h in history}
        return Response(s.EgNeedsVersionSerializer([h["version"] for h in history], many=True,
                                                   context={"changes": changes}).data)


# ---- Calendar --------------------------------------------------------------------------------------------------------
class CalendarFilterSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="YYYY-MM-DD（默认本周一）")
    end = serializers.DateField(required=False, help_text="YYYY-MM-DD（默认 start + 6 天；最多 62 天）")
    scope = serializers.ChoiceField(choices=[("mine", "mine"), ("team", "team")], default="mine",
                                    help_text="mine：本人的；team：可查看的全部")


class Calendar(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(parameters=[CalendarFilterSerializer], responses={200: s.EgCalendarItemSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        f = CalendarFilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        start = f.validated_data.get("start") or rules.week_bounds(timezone.localdate())[0]
        end = f.validated_data.get("end") or start + timedelta(days=6)
        if end < start or (end - start).days > 62:
            msg = _("日期范围须在 0 至 62 天之间")
            raise ValidationFailed("calendar_range_invalid", msg, fields={"end": [msg]})
        items = selectors.calendar_items(request.user, start=start, end=end, mine=f.validated_data["scope"] == "mine")
        rows = [{"day": day, "kind": x["kind"], "id": x["id"], "time": x["time"], "title": x["title"],
                 "customer_id": x["customer"].pk if x["customer"] else None,
                 "customer_no": x["customer"].customer_no if x["customer"] else None, "staff_id": x["staff"].pk}
                for day in sorted(items) for x in items[day]]
        _log(request, "engagement.api_calendar", [r["customer_id"] for r in rows])
        return Response(s.EgCalendarItemSerializer(rows, many=True).data)
