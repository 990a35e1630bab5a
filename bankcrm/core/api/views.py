"""Core API: inbox, audit trail and its verification, security log, rule parameters, working-day calendar."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import audit, inbox, params, selectors, services
from bankcrm.core.errors import NotFound, ValidationFailed
from bankcrm.core.transactions import entrypoint

from .base import ERRORS, HasCapability
from .serializers import (
    AuditEventSerializer,
    CalendarDaySerializer,
    CalendarDayWriteSerializer,
    InboxItemSerializer,
    ParameterSerializer,
    ParameterSetSerializer,
    ParameterVersionSerializer,
    SecurityEventSerializer,
    VerifyResultSerializer,
)


class InboxView(APIView):
    permission_classes = [HasCapability]
    capability = "core.home"

    @extend_schema(responses={200: InboxItemSerializer(many=True), **ERRORS}, operation_id="inbox_list")
    def get(self, request: Request) -> Response:
        items = inbox.items_for(request.user)
        return Response(InboxItemSerializer([i.__dict__ for i in items], many=True).data)


class AuditEventList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "core.view_audit"
    serializer_class = AuditEventSerializer

    @extend_schema(parameters=[OpenApiParameter("actor", str), OpenApiParameter("verb", str),
                               OpenApiParameter("target", str), OpenApiParameter("since", date),
                               OpenApiParameter("until", date)], responses={200: AuditEventSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        g = self.request.query_params

        def _date(name: str):
            raw = g.get(name)
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise ValidationFailed("invalid_date", _("日期格式应为 YYYY-MM-DD"), fields={name: [_("日期格式应为 YYYY-MM-DD")]}) from None

        return selectors.audit_events(actor_no=g.get("actor", ""), verb=g.get("verb", ""), target=g.get("target", ""),
                                      since=_date("since"), until=_date("until"))


class AuditVerifyView(APIView):
    permission_classes = [HasCapability]
    capability = "core.verify_audit"

    @extend_schema(request=None, responses={200: VerifyResultSerializer, **ERRORS}, operation_id="audit_verify")
    def post(self, request: Request) -> Response:
        result = audit.verify_chain()
        entrypoint(audit.record)(actor=request.user, verb="core.audit_verified", target_type="core.AuditEvent",
                                 after=result.as_dict())
        return Response(result.as_dict())


class SecurityEventList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "core.view_security_log"
    serializer_class = SecurityEventSerializer

    def get_queryset(self):
        g = self.request.query_params
        return selectors.security_events(kind=g.get("kind", ""), username=g.get("username", ""))


def _param_row(code: str) -> dict:
    d = params.definition(code)
    val = params.value(code)
    return {"code": code, "label": str(d.label), "kind": d.kind, "currency": d.currency, "source": d.source,
            "default": d.default, "value": val, "display": params.display(code, val)}


class ParameterList(APIView):
    permission_classes = [HasCapability]
    capability = "core.view_parameters"

    @extend_schema(responses={200: ParameterSerializer(many=True), **ERRORS}, operation_id="parameters_list")
    def get(self, request: Request) -> Response:
        return Response([_param_row(code) for code in params.DEFINITIONS])


class ParameterVersions(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "core.view_parameters", "POST": "core.manage_parameters"}

    def _check(self, code: str) -> None:
        if code not in params.DEFINITIONS:
            raise NotFound("parameter_not_found", _("不存在的规则参数"))

    @extend_schema(responses={200: ParameterVersionSerializer(many=True), **ERRORS}, operation_id="parameter_versions_list")
    def get(self, request: Request, code: str) -> Response:
        self._check(code)
        return Response(ParameterVersionSerializer(selectors.parameter_history(code), many=True).data)

    @extend_schema(request=ParameterSetSerializer, responses={201: ParameterVersionSerializer, **ERRORS},
                   operation_id="parameter_versions_create")
    def post(self, request: Request, code: str) -> Response:
        self._check(code)
        s = ParameterSetSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        pv = entrypoint(services.parameter_set)(actor=request.user, code=code, value=s.validated_data["value"],
                                                effective_from=s.validated_data.get("effective_from"),
                                                reason=s.validated_data["reason"])
        return Response(ParameterVersionSerializer(pv).data, status=201)


class CalendarList(APIView):
    permission_classes = [HasCapability]
    capability = "core.view_calendar"

    @extend_schema(parameters=[OpenApiParameter("year", int)], responses={200: CalendarDaySerializer(many=True), **ERRORS},
                   operation_id="calendar_list")
    def get(self, request: Request) -> Response:
        from django.utils import timezone

        try:
            year = int(request.query_params.get("year") or timezone.localdate().year)
            if not 1 <= year <= 9999:  # a calendar year Python's dates can hold
                raise ValueError(year)
        except ValueError:
            raise ValidationFailed("invalid_year", _("年份格式不正确"), fields={"year": [_("年份格式不正确")]}) from None
        return Response(CalendarDaySerializer(selectors.calendar_days(year), many=True).data)


class CalendarDayView(APIView):
    permission_classes = [HasCapability]
    capability = "core.manage_calendar"

    def _day(self, day: str) -> date:
        try:
            return date.fromisoformat(day)
        except ValueError:
            raise ValidationFailed("invalid_date", _("日期格式应为 YYYY-MM-DD")) from None

    @extend_schema(request=CalendarDayWriteSerializer, responses={200: CalendarDaySerializer, **ERRORS},
                   operation_id="calendar_day_set")
    def put(self, request: Request, day: str) -> Response:
        s = CalendarDayWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        obj = entrypoint(services.calendar_day_set)(actor=request.user, day=self._day(day), **s.validated_data)
        return Response(CalendarDaySerializer(obj).data)

    @extend_schema(responses={204: None, **ERRORS}, operation_id="calendar_day_delete")
    def delete(self, request: Request, day: str) -> Response:
        entrypoint(services.calendar_day_delete)(actor=request.user, day=self._day(day))
        return Response(status=204)
