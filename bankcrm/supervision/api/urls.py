"""Supervision API routes (under /api/v1/supervision/). Each part adds its routes here."""

urlpatterns: list = []

# ---- inspections and access reviews ----
from django.urls import path  # noqa: E402

from . import inspection_views as iv  # noqa: E402

urlpatterns += [
    path("supervision/inspection-plans/", iv.SvPlans.as_view(), name="api-sv-plans"),
    path("supervision/inspection-plans/<int:pk>/", iv.SvPlanDetail.as_view(), name="api-sv-plan"),
    path("supervision/inspections/", iv.SvInspections.as_view(), name="api-sv-inspections"),
    path("supervision/inspections/<int:pk>/", iv.SvInspectionDetail.as_view(), name="api-sv-inspection"),
    path("supervision/inspections/<int:pk>/sample/", iv.SvInspectionSample.as_view(), name="api-sv-inspection-sample"),
    path("supervision/inspections/<int:pk>/complete/", iv.SvInspectionComplete.as_view(),
         name="api-sv-inspection-complete"),
    path("supervision/inspections/<int:pk>/cancel/", iv.SvInspectionCancel.as_view(), name="api-sv-inspection-cancel"),
    path("supervision/inspections/<int:pk>/report/", iv.SvInspectionReport.as_view(), name="api-sv-inspection-report"),
    path("supervision/inspection-items/<int:pk>/record/", iv.SvInspectionItemRecord.as_view(),
         name="api-sv-inspection-item-record"),
    path("supervision/access-reviews/", iv.SvAccessReviews.as_view(), name="api-sv-access-reviews"),
    path("supervision/access-reviews/<int:pk>/", iv.SvAccessReviewDetail.as_view(), name="api-sv-access-review"),
    path("supervision/access-reviews/<int:pk>/complete/", iv.SvAccessReviewComplete.as_view(),
         name="api-sv-access-review-complete"),
    path("supervision/access-review-items/<int:pk>/decide/", iv.SvAccessReviewDecide.as_view(),
         name="api-sv-access-review-decide"),
]

# ---- conduct, audit explorer, cycle times, retention ----
from . import cycle_views as cyv  # noqa: E402

urlpatterns += [
    path("supervision/cycle-times/", cyv.SvCycleTimes.as_view(), name="api-sv-cycle-times"),
]

# ---- coverage, controls, findings ----
from django.urls import path  # noqa: E402

from . import coverage_views as cv  # noqa: E402
from . import finding_views as fv  # noqa: E402

urlpatterns += [
    path("supervision/clauses/", cv.SvClauseList.as_view(), name="api-supervision-clauses"),
    path("supervision/clauses/<str:code>/", cv.SvClauseDetail.as_view(), name="api-supervision-clause"),
    path("supervision/controls/", cv.SvControlList.as_view(), name="api-supervision-controls"),
    path("supervision/controls/run/", cv.SvControlRun.as_view(), name="api-supervision-controls-run"),
    path("supervision/controls/<str:code>/exceptions/", cv.SvControlExceptions.as_view(),
         name="api-supervision-control-exceptions"),
    path("supervision/findings/", fv.SvFindingListCreate.as_view(), name="api-supervision-findings"),
    path("supervision/findings/<int:pk>/", fv.SvFindingDetail.as_view(), name="api-supervision-finding"),
    path("supervision/findings/<int:pk>/assign/", fv.SvFindingAssign.as_view(), name="api-supervision-finding-assign"),
    path("supervision/findings/<int:pk>/actions/", fv.SvFindingActionAdd.as_view(),
         name="api-supervision-finding-actions"),
    path("supervision/findings/<int:pk>/submit/", fv.SvFindingSubmit.as_view(), name="api-supervision-finding-submit"),
    path("supervision/findings/<int:pk>/close/", fv.SvFindingClose.as_view(), name="api-supervision-finding-close"),
    path("supervision/findings/<int:pk>/accountability/", fv.SvFindingAccountability.as_view(),
         name="api-supervision-finding-accountability"),
    path("supervision/finding-actions/<int:pk>/done/", fv.SvActionDone.as_view(), name="api-supervision-action-done"),
    path("supervision/finding-actions/<int:pk>/recheck/", fv.SvActionRecheck.as_view(),
         name="api-supervision-action-recheck"),
]

from . import retention_views as rtv  # noqa: E402

urlpatterns += [
    path("supervision/legal-holds/", rtv.SvLegalHolds.as_view(), name="api-sv-legal-holds"),
    path("supervision/legal-holds/<int:pk>/release/", rtv.SvLegalHoldRelease.as_view(), name="api-sv-legal-hold-release"),
    path("supervision/retention-runs/", rtv.SvRetentionRuns.as_view(), name="api-sv-retention-runs"),
]

from . import audit_views as axv  # noqa: E402
from . import conduct_views as conv  # noqa: E402

urlpatterns += [
    path("supervision/conduct/signals/", conv.SvSignals.as_view(), name="api-sv-conduct-signals"),
    path("supervision/conduct/signals/<int:pk>/", conv.SvSignalDetail.as_view(), name="api-sv-conduct-signal"),
    path("supervision/conduct/signals/<int:pk>/review/", conv.SvSignalReview.as_view(),
         name="api-sv-conduct-signal-review"),
    path("supervision/conduct/signals/<int:pk>/escalate/", conv.SvSignalEscalate.as_view(),
         name="api-sv-conduct-signal-escalate"),
    path("supervision/conduct/key-posts/", conv.SvKeyPosts.as_view(), name="api-sv-conduct-key-posts"),
    path("supervision/conduct/leave/", conv.SvLeaveRecords.as_view(), name="api-sv-conduct-leave"),
    path("supervision/conduct/rotations/", conv.SvRotationRecords.as_view(), name="api-sv-conduct-rotations"),
    path("supervision/audit/events/", axv.SvAuditEvents.as_view(), name="api-sv-audit-events"),
    path("supervision/audit/events/<int:seq>/", axv.SvAuditEvent.as_view(), name="api-sv-audit-event"),
    path("supervision/audit/verify/", axv.SvAuditVerify.as_view(), name="api-sv-audit-verify"),
    path("supervision/audit/extract/", axv.SvAuditExtract.as_view(), name="api-sv-audit-extract"),
]
