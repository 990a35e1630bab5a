"""Risk API routes (under /api/v1/risk/)."""

from django.urls import path

from . import monitoring as m

urlpatterns: list = [
    path("risk/alerts/", m.AlertList.as_view(), name="api-risk-alerts"),
    path("risk/alerts/<int:pk>/", m.AlertDetail.as_view(), name="api-risk-alert"),
    path("risk/alerts/<int:pk>/close/", m.AlertClose.as_view(), name="api-risk-alert-close"),
    path("risk/cases/", m.CaseListCreate.as_view(), name="api-risk-cases"),
    path("risk/cases/<int:pk>/", m.CaseDetail.as_view(), name="api-risk-case"),
    path("risk/cases/<int:pk>/notes/", m.CaseNotes.as_view(), name="api-risk-case-notes"),
    path("risk/cases/<int:pk>/alerts/", m.CaseAlerts.as_view(), name="api-risk-case-alerts"),
    path("risk/cases/<int:pk>/customers/", m.CaseCustomers.as_view(), name="api-risk-case-customers"),
    path("risk/cases/<int:pk>/close/", m.CaseClose.as_view(), name="api-risk-case-close"),
    path("risk/cases/<int:pk>/escalate/", m.CaseEscalate.as_view(), name="api-risk-case-escalate"),
    path("risk/cases/<int:pk>/report/", m.CaseReport.as_view(), name="api-risk-case-report"),
    path("risk/rules/", m.RuleList.as_view(), name="api-risk-rules"),
    path("risk/rules/<str:code>/versions/", m.RuleVersions.as_view(), name="api-risk-rule-versions"),
    path("risk/reports/", m.ReportList.as_view(), name="api-risk-reports"),
    path("risk/reports/large/", m.LargeReportCreate.as_view(), name="api-risk-report-large"),
    path("risk/reports/<int:pk>/download/", m.ReportDownload.as_view(), name="api-risk-report-download"),
    path("risk/reports/<int:pk>/submit/", m.ReportSubmit.as_view(), name="api-risk-report-submit"),
    path("risk/dashboard/", m.Dashboard.as_view(), name="api-risk-dashboard"),
]

from . import suitability as suit  # noqa: E402  (investor suitability)

urlpatterns += [
    path("risk/questionnaires/", suit.QuestionnaireListCreate.as_view(), name="api-risk-questionnaires"),
    path("risk/questionnaires/active/", suit.QuestionnaireActive.as_view(), name="api-risk-questionnaire-active"),
    path("risk/questionnaires/<int:pk>/", suit.QuestionnaireDetail.as_view(), name="api-risk-questionnaire"),
    path("risk/questionnaires/<int:pk>/publish/", suit.QuestionnairePublish.as_view(),
         name="api-risk-questionnaire-publish"),
    path("risk/customers/<int:pk>/suitability/", suit.CustomerSuitability.as_view(), name="api-risk-suitability"),
    path("risk/suitability/check/", suit.SuitabilityCheck.as_view(), name="api-risk-suitability-check"),
]

from . import rating as rating_api  # noqa: E402  (AML rating and due diligence)

urlpatterns += [
    path("risk/customers/<int:pk>/rating/", rating_api.CustomerRating.as_view(), name="api-risk-customer-rating"),
    path("risk/ratings/due/", rating_api.RatingsDue.as_view(), name="api-risk-ratings-due"),
    path("risk/due-diligence/", rating_api.DueDiligenceList.as_view(), name="api-risk-due-diligence"),
    path("risk/due-diligence/<int:pk>/complete/", rating_api.DueDiligenceComplete.as_view(),
         name="api-risk-due-diligence-complete"),
]

from . import watchlist as watchlist_api  # noqa: E402  (watch-list screening)

urlpatterns += [
    path("risk/watchlists/", watchlist_api.WatchListListCreate.as_view(), name="api-risk-watchlists"),
    path("risk/watchlists/<int:pk>/", watchlist_api.WatchListDetail.as_view(), name="api-risk-watchlist"),
]
