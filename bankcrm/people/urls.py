"""People pages (培训、考核、激励). Each part keeps its views in its own module and adds its routes here."""

app_name = "people"

urlpatterns: list = []

# ---- incentives ----
from django.urls import path  # noqa: E402

from . import incentive_views as iv  # noqa: E402

urlpatterns += [
    path("people/incentives/pools/", iv.pool_list, name="pools"),
    path("people/incentives/pools/new/", iv.pool_new, name="pool_new"),
    path("people/incentives/pools/<int:pk>/", iv.pool_detail, name="pool"),
    path("people/incentives/pools/<int:pk>/edit/", iv.pool_edit, name="pool_edit"),
    path("people/incentives/pools/<int:pk>/allocate/", iv.pool_allocate, name="pool_allocate"),
    path("people/incentives/pools/<int:pk>/submit/", iv.pool_submit, name="pool_submit"),
    path("people/incentives/pools/<int:pk>/paid/", iv.pool_paid, name="pool_paid"),
    path("people/incentives/pools/<int:pk>/export/", iv.pool_export, name="pool_export"),
    path("people/incentives/mine/", iv.my_incentives, name="my_incentives"),
    path("people/incentives/clawbacks/", iv.clawback_list, name="clawbacks"),
    path("people/incentives/clawbacks/scan/", iv.clawback_scan, name="clawback_scan"),
    path("people/incentives/clawbacks/<int:pk>/", iv.clawback_decide, name="clawback_decide"),
    path("people/incentives/schemes/", iv.scheme_list, name="incentive_schemes"),
    path("people/incentives/schemes/new/", iv.scheme_form, name="incentive_scheme_new"),
    path("people/incentives/schemes/<int:pk>/", iv.scheme_form, name="incentive_scheme_edit"),
]

# ---- training ----
from . import training_views as tv  # noqa: E402

urlpatterns += [
    path("people/training/", tv.my_training, name="training"),
    path("people/training/courses/<int:pk>/", tv.course_page, name="course"),
    path("people/training/courses/<int:pk>/quiz/", tv.course_submit, name="course_submit"),
    path("people/training/courses/<int:pk>/attest/", tv.course_attest, name="course_attest"),
    path("people/training/attempts/<int:pk>/", tv.attempt_result, name="attempt"),
    path("people/training/attachments/<int:pk>/", tv.attachment_download, name="attachment"),
    path("people/training/team/", tv.team, name="training_team"),
    path("people/training/team/export/", tv.team_export, name="training_team_export"),
    path("people/training/team/<int:pk>/", tv.team_member, name="team_member"),
    path("people/training/admin/courses/", tv.course_list, name="courses"),
    path("people/training/admin/courses/new/", tv.course_edit, name="course_new"),
    path("people/training/admin/courses/<int:pk>/", tv.course_admin, name="course_admin"),
    path("people/training/admin/courses/<int:pk>/edit/", tv.course_edit, name="course_edit"),
    path("people/training/admin/requirements/", tv.requirements, name="requirements"),
    path("people/training/admin/requirements/new/", tv.requirement_edit, name="requirement_new"),
    path("people/training/admin/requirements/<int:pk>/", tv.requirement_edit, name="requirement_edit"),
    path("people/training/admin/gate-rules/", tv.gate_rules, name="gate_rules"),
    path("people/training/admin/gate-rules/new/", tv.gate_rule_edit, name="gate_rule_new"),
    path("people/training/admin/gate-rules/<int:pk>/", tv.gate_rule_edit, name="gate_rule_edit"),
]

# ---- appraisal ----
from . import appraisal_views as av  # noqa: E402

urlpatterns += [
    path("people/appraisal/", av.my_appraisal, name="appraisal"),
    path("people/appraisal/cards/<int:pk>/", av.card_detail, name="appraisal_card"),
    path("people/appraisal/cards/<int:pk>/evidence/<slug:metric>/", av.evidence, name="appraisal_evidence"),
    path("people/appraisal/cards/<int:pk>/self-assess/", av.self_assess, name="appraisal_self_assess"),
    path("people/appraisal/cards/<int:pk>/review/", av.review, name="appraisal_review"),
    path("people/appraisal/cards/<int:pk>/sign-off/", av.sign_off, name="appraisal_sign_off"),
    path("people/appraisal/cards/<int:pk>/appeal/", av.appeal, name="appraisal_appeal"),
    path("people/appraisal/team/", av.team, name="appraisal_team"),
    path("people/appraisal/appeals/", av.appeals, name="appraisal_appeals"),
    path("people/appraisal/appeals/<int:pk>/", av.appeal_decide, name="appraisal_appeal_decide"),
    path("people/appraisal/admin/schemes/", av.schemes, name="appraisal_schemes"),
    path("people/appraisal/admin/schemes/new/", av.scheme_edit, name="appraisal_scheme_new"),
    path("people/appraisal/admin/schemes/<int:pk>/", av.scheme_edit, name="appraisal_scheme_edit"),
    path("people/appraisal/admin/schemes/<int:pk>/activate/", av.scheme_activate, name="appraisal_scheme_activate"),
    path("people/appraisal/admin/periods/", av.periods, name="appraisal_periods"),
]
