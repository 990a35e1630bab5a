"""People API routes (under /api/v1/people/). Each part adds its routes here."""

urlpatterns: list = []

# ---- incentives ----
from django.urls import path  # noqa: E402

from . import incentive_views as iv  # noqa: E402

urlpatterns += [
    path("people/incentive-schemes/", iv.SchemeListCreate.as_view(), name="api-people-incentive-schemes"),
    path("people/incentive-schemes/<int:pk>/", iv.SchemeDetail.as_view(), name="api-people-incentive-scheme"),
    path("people/pools/", iv.PoolListCreate.as_view(), name="api-people-pools"),
    path("people/pools/<int:pk>/", iv.PoolDetail.as_view(), name="api-people-pool"),
    path("people/pools/<int:pk>/allocate/", iv.PoolAllocate.as_view(), name="api-people-pool-allocate"),
    path("people/pools/<int:pk>/submit/", iv.PoolSubmit.as_view(), name="api-people-pool-submit"),
    path("people/pools/<int:pk>/paid/", iv.PoolPaid.as_view(), name="api-people-pool-paid"),
    path("people/pools/<int:pk>/awards/", iv.PoolAwards.as_view(), name="api-people-pool-awards"),
    path("people/pools/<int:pk>/export/", iv.PoolExport.as_view(), name="api-people-pool-export"),
    path("people/awards/", iv.AwardList.as_view(), name="api-people-awards"),
    path("people/my-awards/", iv.MyAwards.as_view(), name="api-people-my-awards"),
    path("people/my-clawbacks/", iv.MyClawbacks.as_view(), name="api-people-my-clawbacks"),
    path("people/clawbacks/", iv.ClawbackList.as_view(), name="api-people-clawbacks"),
    path("people/clawbacks/scan/", iv.ClawbackScan.as_view(), name="api-people-clawback-scan"),
    path("people/clawbacks/<int:pk>/decide/", iv.ClawbackDecide.as_view(), name="api-people-clawback-decide"),
]

# ---- training ----
from . import training_views as tv  # noqa: E402

urlpatterns += [
    path("people/training/courses/", tv.CourseListCreate.as_view(), name="api-people-training-courses"),
    path("people/training/courses/<int:pk>/", tv.CourseDetail.as_view(), name="api-people-training-course"),
    path("people/training/courses/<int:pk>/publish/", tv.CoursePublish.as_view(),
         name="api-people-training-course-publish"),
    path("people/training/courses/<int:pk>/retire/", tv.CourseRetire.as_view(), name="api-people-training-course-retire"),
    path("people/training/courses/<int:pk>/quiz/", tv.CourseQuiz.as_view(), name="api-people-training-course-quiz"),
    path("people/training/courses/<int:pk>/attest/", tv.CourseAttest.as_view(), name="api-people-training-course-attest"),
    path("people/training/my-assignments/", tv.MyAssignments.as_view(), name="api-people-training-my-assignments"),
    path("people/training/my-certificates/", tv.MyCertificates.as_view(), name="api-people-training-my-certificates"),
    path("people/training/team/", tv.TeamStatus.as_view(), name="api-people-training-team"),
    path("people/training/assignments/", tv.TeamAssignments.as_view(), name="api-people-training-assignments"),
    path("people/training/assignments/<int:pk>/waive/", tv.AssignmentWaive.as_view(),
         name="api-people-training-assignment-waive"),
    path("people/training/certificates/<int:pk>/revoke/", tv.CertificateRevoke.as_view(),
         name="api-people-training-certificate-revoke"),
    path("people/training/requirements/", tv.Requirements.as_view(), name="api-people-training-requirements"),
    path("people/training/requirements/<int:pk>/", tv.RequirementDetail.as_view(),
         name="api-people-training-requirement"),
    path("people/training/gate-rules/", tv.GateRules.as_view(), name="api-people-training-gate-rules"),
    path("people/training/gate-rules/<int:pk>/", tv.GateRuleDetail.as_view(), name="api-people-training-gate-rule"),
]

# ---- appraisal ----
from . import appraisal_views as av  # noqa: E402

urlpatterns += [
    path("people/appraisal/periods/", av.Periods.as_view(), name="api-people-appraisal-periods"),
    path("people/appraisal/periods/<int:pk>/compute/", av.PeriodCompute.as_view(),
         name="api-people-appraisal-period-compute"),
    path("people/appraisal/schemes/", av.Schemes.as_view(), name="api-people-appraisal-schemes"),
    path("people/appraisal/schemes/<int:pk>/", av.SchemeDetail.as_view(), name="api-people-appraisal-scheme"),
    path("people/appraisal/schemes/<int:pk>/activate/", av.SchemeActivate.as_view(),
         name="api-people-appraisal-scheme-activate"),
    path("people/appraisal/scorecards/", av.Scorecards.as_view(), name="api-people-appraisal-scorecards"),
    path("people/appraisal/scorecards/<int:pk>/", av.ScorecardDetail.as_view(), name="api-people-appraisal-scorecard"),
    path("people/appraisal/scorecards/<int:pk>/evidence/<slug:metric>/", av.ScorecardEvidence.as_view(),
         name="api-people-appraisal-scorecard-evidence"),
    path("people/appraisal/scorecards/<int:pk>/self-assess/", av.ScorecardSelfAssess.as_view(),
         name="api-people-appraisal-scorecard-self-assess"),
    path("people/appraisal/scorecards/<int:pk>/review/", av.ScorecardReview.as_view(),
         name="api-people-appraisal-scorecard-review"),
    path("people/appraisal/scorecards/<int:pk>/sign-off/", av.ScorecardSignOff.as_view(),
         name="api-people-appraisal-scorecard-sign-off"),
    path("people/appraisal/scorecards/<int:pk>/appeal/", av.ScorecardAppeal.as_view(),
         name="api-people-appraisal-scorecard-appeal"),
    path("people/appraisal/calibrations/", av.Calibrations.as_view(), name="api-people-appraisal-calibrations"),
    path("people/appraisal/appeals/", av.Appeals.as_view(), name="api-people-appraisal-appeals"),
    path("people/appraisal/appeals/<int:pk>/decide/", av.AppealDecide.as_view(),
         name="api-people-appraisal-appeal-decide"),
]
