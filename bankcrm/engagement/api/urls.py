"""Engagement API routes (under /api/v1/engagement/)."""

from django.urls import path

urlpatterns: list = []

# ---- Interactions, tasks and plans, referrals, opportunities, needs, calendar (vertical slice 1) ---------------------
from . import views as _a1  # noqa: E402

urlpatterns += [
    path("engagement/interactions/", _a1.InteractionListCreate.as_view(), name="api-engagement-interactions"),
    path("engagement/interactions/<int:pk>/", _a1.InteractionDetail.as_view(), name="api-engagement-interaction"),
    path("engagement/interactions/<int:pk>/complete/", _a1.InteractionComplete.as_view(),
         name="api-engagement-interaction-complete"),
    path("engagement/interactions/<int:pk>/cancel/", _a1.InteractionCancel.as_view(),
         name="api-engagement-interaction-cancel"),
    path("engagement/tasks/", _a1.TaskListCreate.as_view(), name="api-engagement-tasks"),
    path("engagement/tasks/<int:pk>/", _a1.TaskDetail.as_view(), name="api-engagement-task"),
    path("engagement/tasks/<int:pk>/complete/", _a1.TaskComplete.as_view(), name="api-engagement-task-complete"),
    path("engagement/tasks/<int:pk>/cancel/", _a1.TaskCancel.as_view(), name="api-engagement-task-cancel"),
    path("engagement/plan-templates/", _a1.PlanTemplateList.as_view(), name="api-engagement-plan-templates"),
    path("engagement/admin/plan-templates/", _a1.PlanTemplateAdminListCreate.as_view(),
         name="api-engagement-admin-plan-templates"),
    path("engagement/admin/plan-templates/install-defaults/", _a1.PlanTemplatesInstall.as_view(),
         name="api-engagement-admin-plan-templates-install"),
    path("engagement/admin/plan-templates/<int:pk>/", _a1.PlanTemplateAdminDetail.as_view(),
         name="api-engagement-admin-plan-template"),
    path("engagement/plans/", _a1.PlanListCreate.as_view(), name="api-engagement-plans"),
    path("engagement/plans/<int:pk>/", _a1.PlanDetail.as_view(), name="api-engagement-plan"),
    path("engagement/plans/<int:pk>/cancel/", _a1.PlanCancel.as_view(), name="api-engagement-plan-cancel"),
    path("engagement/referrals/", _a1.ReferralListCreate.as_view(), name="api-engagement-referrals"),
    path("engagement/referrals/<int:pk>/", _a1.ReferralDetail.as_view(), name="api-engagement-referral"),
    path("engagement/referrals/<int:pk>/accept/", _a1.ReferralAccept.as_view(), name="api-engagement-referral-accept"),
    path("engagement/referrals/<int:pk>/decline/", _a1.ReferralDecline.as_view(),
         name="api-engagement-referral-decline"),
    path("engagement/referrals/<int:pk>/complete/", _a1.ReferralComplete.as_view(),
         name="api-engagement-referral-complete"),
    path("engagement/opportunities/", _a1.OpportunityListCreate.as_view(), name="api-engagement-opportunities"),
    path("engagement/opportunities/<int:pk>/", _a1.OpportunityDetail.as_view(), name="api-engagement-opportunity"),
    path("engagement/opportunities/<int:pk>/move/", _a1.OpportunityMove.as_view(),
         name="api-engagement-opportunity-move"),
    path("engagement/opportunities/<int:pk>/link-sale/", _a1.OpportunityLinkSale.as_view(),
         name="api-engagement-opportunity-link-sale"),
    path("engagement/pipeline/", _a1.Pipeline.as_view(), name="api-engagement-pipeline"),
    path("engagement/customers/<int:pk>/needs/", _a1.Needs.as_view(), name="api-engagement-needs"),
    path("engagement/customers/<int:pk>/needs/history/", _a1.NeedsHistory.as_view(),
         name="api-engagement-needs-history"),
    path("engagement/calendar/", _a1.Calendar.as_view(), name="api-engagement-calendar"),
]

# ---- Insights, life events, the intent dictionary, on-demand analysis (vertical slice 2) ----------------------------
from . import insight_views as _a2  # noqa: E402

urlpatterns += [
    path("engagement/insights/", _a2.InsightList.as_view(), name="api-engagement-insights"),
    path("engagement/life-events/", _a2.LifeEventList.as_view(), name="api-engagement-life-events"),
    path("engagement/intents/", _a2.IntentDictionary.as_view(), name="api-engagement-intents"),
    path("engagement/analyze/", _a2.Analyze.as_view(), name="api-engagement-analyze"),
]

# ---- Segments and next best action (vertical slice 3) -----------------------------------------------------------------
from . import nba_views as _nv  # noqa: E402

urlpatterns += [
    path("engagement/customers/<int:pk>/recommendations/", _nv.CustomerRecommendations.as_view(),
         name="api-engagement-customer-recommendations"),
    path("engagement/customers/<int:pk>/recommendations/refresh/", _nv.CustomerRecommendationsRefresh.as_view(),
         name="api-engagement-customer-recommendations-refresh"),
    path("engagement/recommendations/<int:pk>/decide/", _nv.RecommendationDecide.as_view(),
         name="api-engagement-recommendation-decide"),
    path("engagement/customers/<int:pk>/segments/", _nv.CustomerSegments.as_view(),
         name="api-engagement-customer-segments"),
    path("engagement/segments/", _nv.SegmentOverview.as_view(), name="api-engagement-segments"),
    path("engagement/models/", _nv.ModelFigures.as_view(), name="api-engagement-models"),
    path("engagement/recommendations/stats/", _nv.ConversionStats.as_view(), name="api-engagement-conversion-stats"),
]
