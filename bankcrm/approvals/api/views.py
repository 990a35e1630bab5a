from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.approvals import selectors, services
from bankcrm.approvals.models import PendingAction
from bankcrm.core.api import idempotent
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .serializers import DecisionSerializer, PendingActionSerializer


class ApprovalList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "approvals.submit"
    serializer_class = PendingActionSerializer

    @extend_schema(parameters=[OpenApiParameter("scope", str, enum=["todo", "mine", "all"]),
                               OpenApiParameter("status", str, enum=PendingAction.Status.values)],
                   responses={200: PendingActionSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        scope = self.request.query_params.get("scope", "all")
        user = self.request.user
        qs = {"todo": selectors.pending_for_checker, "mine": selectors.submitted_by}.get(scope, selectors.approvals_visible)(user)
        status = self.request.query_params.get("status")
        if status in PendingAction.Status.values:
            qs = qs.filter(status=status)
        return qs.order_by("-created_at", "-id")


class ApprovalDetail(APIView):
    permission_classes = [HasCapability]
    capability = "approvals.submit"

    @extend_schema(responses={200: PendingActionSerializer, **ERRORS}, operation_id="approvals_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(PendingActionSerializer(selectors.approval_get(request.user, pk)).data)


class ApprovalDecision(APIView):
    permission_classes = [HasCapability]
    capability = "approvals.submit"
    decision = ""

    @extend_schema(request=DecisionSerializer, responses={200: PendingActionSerializer, **ERRORS},
                   parameters=[idempotent.OPTIONAL_KEY_HEADER])
    def post(self, request: Request, pk: int) -> Response:
        s = DecisionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fn = {"approve": services.approval_approve, "reject": services.approval_reject,
              "cancel": services.approval_cancel}[self.decision]
        reason = s.validated_data["reason"]
        if request.headers.get("Idempotency-Key"):  # a retried decision gets its first answer back
            def execute():
                return 200, dict(PendingActionSerializer(fn(actor=request.user, pending_id=pk, reason=reason)).data)

            return idempotent.respond(request, scope=f"approvals.{self.decision}.{pk}", body={"reason": reason},
                                      execute=execute)
        pa = entrypoint(fn)(actor=request.user, pending_id=pk, reason=reason)
        return Response(PendingActionSerializer(pa).data)


class ApprovalApprove(ApprovalDecision):
    decision = "approve"


class ApprovalReject(ApprovalDecision):
    decision = "reject"


class ApprovalCancel(ApprovalDecision):
    decision = "cancel"
