"""Findings API (under /api/v1/supervision/): list with filters, detail, raise, and one endpoint per transition
(assign, add action, action done, submit rectified, re-check, close, accountability). Scope and segregation of
duties are the services' (an invisible finding is 404)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import finding_selectors as sel
from .. import finding_services as svc
from ..models import Finding
from . import finding_serializers as s


def _body(serializer: Any, request: Request) -> dict[str, Any]:
    b = serializer(data=request.data)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _detail(request: Request, pk: int) -> Response:
    f = sel.finding_get(request.user, pk)
    return Response(s.SvFindingDetailSerializer(f).data)


class SvFindingListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "POST": "supervision.findings"}
    serializer_class = s.SvFindingSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Finding.objects.none()
        q = s.SvFindingFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        return sel.findings_filtered(self.request.user, status=d.get("status", ""), severity=d.get("severity", ""),
                                     branch_id=d.get("branch_id"), control=d.get("control", ""),
                                     overdue=d.get("overdue", False))

    @extend_schema(parameters=[s.SvFindingFilterSerializer], operation_id="supervision_findings_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.SvFindingRaiseSerializer, responses={201: s.SvFindingDetailSerializer, **ERRORS},
                   operation_id="supervision_findings_raise",
                   description="登记人工检查发现。整改期限缺省按严重程度计算；整改责任人缺省为该机构（或上级）负责人。")
    def post(self, request: Request) -> Response:
        d = _body(s.SvFindingRaiseSerializer, request)
        f = entrypoint(svc.finding_raise)(actor=request.user, source="manual", **d)
        return Response(s.SvFindingDetailSerializer(sel.finding_get(request.user, f.pk)).data, status=201)


class SvFindingDetail(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvFindingDetailSerializer, **ERRORS}, operation_id="supervision_findings_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, pk)


def _transition(name: str, body: Any, capability: str, call: Any, description: str) -> type[APIView]:
    class View(APIView):
        permission_classes = [HasCapability]

        @extend_schema(request=body, responses={200: s.SvFindingDetailSerializer, **ERRORS},
                       operation_id=f"supervision_{name}", description=description)
        def post(self, request: Request, pk: int) -> Response:
            d = _body(body, request)
            finding_id = entrypoint(call)(request.user, pk, d)
            return _detail(request, finding_id)

    View.capability = capability  # type: ignore[attr-defined]
    View.__name__ = View.__qualname__ = "Sv" + "".join(p.title() for p in name.split("_"))
    return View


SvFindingAssign = _transition(
    "findings_assign", s.SvAssignSerializer, "supervision.view",
    lambda u, pk, d: svc.finding_assign(actor=u, finding_id=pk, **d).pk, "变更整改责任人（合规经理或当前责任人）。")
SvFindingActionAdd = _transition(
    "findings_actions_add", s.SvActionAddSerializer, "supervision.rectify",
    lambda u, pk, d: svc.action_add(actor=u, finding_id=pk, **d).finding_id, "添加整改措施（责任人、完成期限）。")
SvFindingSubmit = _transition(
    "findings_submit", s.SvSubmitSerializer, "supervision.rectify",
    lambda u, pk, d: svc.finding_submit_rectified(actor=u, finding_id=pk, **d).pk, "整改措施全部完成后提交复查。")
SvFindingClose = _transition(
    "findings_close", s.SvCloseSerializer, "supervision.findings",
    lambda u, pk, d: svc.finding_close(actor=u, finding_id=pk, **d).pk,
    "合规经理关闭；未全部复查通过时须填写 reason；整改责任人与当事员工不能关闭。")
SvFindingAccountability = _transition(
    "findings_accountability", s.SvAccountabilityRecordSerializer, "supervision.findings",
    lambda u, pk, d: svc.accountability_record(actor=u, finding_id=pk, **d).finding_id, "登记问责。")
SvActionDone = _transition(
    "actions_done", s.SvActionDoneSerializer, "supervision.rectify",
    lambda u, pk, d: svc.action_done(actor=u, action_id=pk, **d).finding_id, "措施责任人（或辖内负责人）登记完成及整改说明。")
SvActionRecheck = _transition(
    "actions_recheck", s.SvRecheckSerializer, "supervision.findings",
    lambda u, pk, d: svc.action_recheck(actor=u, action_id=pk, **d).finding_id,
    "合规复查：通过，或不通过（须填写意见，检查发现退回整改）。")
