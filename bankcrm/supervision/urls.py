"""Supervision pages (内部监督). Each part keeps its views in its own module and adds its routes here."""

app_name = "supervision"

urlpatterns: list = []

# ---- coverage, controls, findings ----
from django.urls import path  # noqa: E402

from . import coverage_views as cv  # noqa: E402
from . import finding_views as fv  # noqa: E402

urlpatterns += [
    path("supervision/coverage/", cv.matrix, name="matrix"),
    path("supervision/controls/run/", cv.controls_run, name="controls_run"),
    path("supervision/controls/<str:code>/", cv.control_detail, name="control"),
    path("supervision/controls/<str:code>/raise/", cv.control_raise, name="control_raise"),
    path("supervision/clauses/install/", cv.clauses_install, name="clauses_install"),
    path("supervision/clauses/<str:code>/", cv.clause_detail, name="clause"),
    path("supervision/findings/", fv.finding_list, name="findings"),
    path("supervision/findings/new/", fv.finding_new, name="finding_new"),
    path("supervision/findings/<int:pk>/", fv.finding_detail, name="finding"),
]

# ---- conduct, audit explorer, cycle times, retention ----
from . import conduct_views as conv  # noqa: E402

urlpatterns += [
    path("supervision/conduct/", conv.conduct_page, name="conduct"),
    path("supervision/conduct/run/", conv.conduct_run, name="conduct_run"),
    path("supervision/conduct/signals/<int:pk>/", conv.signal_detail, name="conduct_signal"),
    path("supervision/conduct/signals/<int:pk>/decide/", conv.signal_decide, name="conduct_decide"),
    path("supervision/conduct/leave/", conv.leave_new, name="conduct_leave_new"),
    path("supervision/conduct/rotation/", conv.rotation_new, name="conduct_rotation_new"),
]

# ---- inspections and access reviews ----
from . import access_review_views as arv  # noqa: E402
from . import inspection_views as iv  # noqa: E402

urlpatterns += [
    path("supervision/inspection-plans/", iv.plan_list, name="inspection_plans"),
    path("supervision/inspection-plans/new/", iv.plan_new, name="inspection_plan_new"),
    path("supervision/inspection-plans/<int:pk>/", iv.plan_edit, name="inspection_plan_edit"),
    path("supervision/inspections/", iv.inspection_list, name="inspections"),
    path("supervision/inspections/new/", iv.inspection_new, name="inspection_new"),
    path("supervision/inspections/<int:pk>/", iv.inspection_detail, name="inspection"),
    path("supervision/inspections/<int:pk>/sample/", iv.inspection_sample, name="inspection_sample"),
    path("supervision/inspections/<int:pk>/complete/", iv.inspection_complete, name="inspection_complete"),
    path("supervision/inspections/<int:pk>/cancel/", iv.inspection_cancel, name="inspection_cancel"),
    path("supervision/inspections/<int:pk>/report.<str:fmt>", iv.inspection_report, name="inspection_report"),
    path("supervision/inspection-items/<int:pk>/", iv.inspection_item, name="inspection_item"),
    path("supervision/access-reviews/", arv.review_list, name="access_reviews"),
    path("supervision/access-reviews/open/", arv.reviews_open, name="access_reviews_open"),
    path("supervision/access-reviews/<int:pk>/", arv.review_detail, name="access_review"),
    path("supervision/access-reviews/<int:pk>/complete/", arv.review_complete, name="access_review_complete"),
    path("supervision/access-review-items/<int:pk>/decide/", arv.review_decide, name="access_review_decide"),
]

from . import audit_explorer_views as axv  # noqa: E402

urlpatterns += [
    path("supervision/audit/", axv.audit_page, name="audit"),
    path("supervision/audit/events/<int:seq>/", axv.audit_event, name="audit_event"),
    path("supervision/audit/verify/", axv.audit_verify, name="audit_verify"),
    path("supervision/audit/extract/", axv.audit_extract, name="audit_extract"),
]

from . import cycle_views as cyv  # noqa: E402

urlpatterns += [path("supervision/cycle-times/", cyv.cycle_page, name="cycle")]

from . import retention_views as rtv  # noqa: E402

urlpatterns += [
    path("supervision/retention/", rtv.retention_page, name="retention"),
    path("supervision/retention/run/", rtv.retention_run, name="retention_run"),
    path("supervision/retention/holds/", rtv.hold_place, name="hold_place"),
    path("supervision/retention/holds/<int:pk>/release/", rtv.hold_release, name="hold_release"),
]
