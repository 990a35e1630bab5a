"""Engagement pages. Each feature keeps its views in its own module and adds its routes here."""

from django.urls import path

app_name = "engagement"

urlpatterns: list = []

# ---- Interactions, calendar, tasks and plans, referrals, opportunities, needs (vertical slice 1) -----------------------
from . import views as _v1  # noqa: E402
from . import views_needs as _v1n  # noqa: E402
from . import views_pipeline as _v1p  # noqa: E402
from . import views_tasks as _v1t  # noqa: E402

urlpatterns += [
    path("engagement/log/", _v1.log_page, name="log"),
    path("engagement/log/pick/", _v1.log_pick, name="log_pick"),
    path("engagement/customers/<int:pk>/log/", _v1.interaction_new, name="interaction_new"),
    path("engagement/interactions/", _v1.interaction_list, name="interactions"),
    path("engagement/interactions/<int:pk>/", _v1.interaction_detail, name="interaction"),
    path("engagement/interactions/<int:pk>/complete/", _v1.interaction_complete, name="interaction_complete"),
    path("engagement/interactions/<int:pk>/cancel/", _v1.interaction_cancel, name="interaction_cancel"),
    path("engagement/calendar/", _v1.calendar_page, name="calendar"),
    path("engagement/tasks/", _v1t.tasks, name="tasks"),
    path("engagement/tasks/new/", _v1t.task_new, name="task_new"),
    path("engagement/tasks/<int:pk>/complete/", _v1t.task_complete, name="task_complete"),
    path("engagement/tasks/<int:pk>/cancel/", _v1t.task_cancel, name="task_cancel"),
    path("engagement/customers/<int:pk>/plans/new/", _v1t.plan_new, name="plan_new"),
    path("engagement/plans/<int:pk>/", _v1t.plan_detail, name="plan"),
    path("engagement/plans/<int:pk>/cancel/", _v1t.plan_cancel, name="plan_cancel"),
    path("engagement/plan-templates/", _v1t.template_list, name="templates"),
    path("engagement/plan-templates/new/", _v1t.template_new, name="template_new"),
    path("engagement/plan-templates/install/", _v1t.templates_install, name="templates_install"),
    path("engagement/plan-templates/<int:pk>/", _v1t.template_edit, name="template"),
    path("engagement/pipeline/", _v1p.pipeline, name="pipeline"),
    path("engagement/customers/<int:pk>/opportunities/new/", _v1p.opportunity_new, name="opportunity_new"),
    path("engagement/opportunities/<int:pk>/", _v1p.opportunity_detail, name="opportunity"),
    path("engagement/opportunities/<int:pk>/edit/", _v1p.opportunity_edit, name="opportunity_edit"),
    path("engagement/opportunities/<int:pk>/move/", _v1p.opportunity_move, name="opportunity_move"),
    path("engagement/opportunities/<int:pk>/link-sale/", _v1p.opportunity_link_sale, name="opportunity_link_sale"),
    path("engagement/referrals/", _v1p.referral_list, name="referrals"),
    path("engagement/customers/<int:pk>/referrals/new/", _v1p.referral_new, name="referral_new"),
    path("engagement/referrals/<int:pk>/", _v1p.referral_detail, name="referral"),
    path("engagement/referrals/<int:pk>/accept/", _v1p.referral_accept, name="referral_accept"),
    path("engagement/referrals/<int:pk>/decline/", _v1p.referral_decline, name="referral_decline"),
    path("engagement/referrals/<int:pk>/complete/", _v1p.referral_complete, name="referral_complete"),
    path("engagement/customers/<int:pk>/needs/", _v1n.needs_edit, name="needs"),
    path("engagement/customers/<int:pk>/needs/history/", _v1n.needs_history, name="needs_history"),
]

# ---- Segments and next best action (vertical slice 3) -----------------------------------------------------------------
from . import views_nba as _v3  # noqa: E402

urlpatterns += [
    path("engagement/customers/<int:pk>/recommendations/", _v3.customer_recommendations,
         name="customer_recommendations"),
    path("engagement/customers/<int:pk>/recommendations/refresh/", _v3.customer_refresh, name="customer_refresh"),
    path("engagement/recommendations/", _v3.recommendation_list, name="recommendations"),
    path("engagement/recommendations/<int:pk>/decide/", _v3.recommendation_decide, name="recommendation_decide"),
    path("engagement/recommendations/refresh-all/", _v3.recommendations_refresh_all,
         name="recommendations_refresh_all"),
    path("engagement/nba/stats/", _v3.nba_stats, name="nba_stats"),
    path("engagement/segments/", _v3.segments_overview, name="segments"),
    path("engagement/segments/compute/", _v3.segments_compute_now, name="segments_compute"),
    path("engagement/models/train/", _v3.model_train_now, name="model_train"),
]

# ---- Insights: a customer's insights and life events, the intent dictionary (vertical slice 2) -----------------------
from . import views_insights as _v2  # noqa: E402

urlpatterns += [
    path("engagement/customers/<int:pk>/insights/", _v2.customer_insights, name="customer_insights"),
    path("engagement/intents/", _v2.intents_page, name="intents"),
    path("engagement/intents/download/", _v2.intents_download, name="intents_download"),
    path("engagement/intents/edit/", _v2.intents_edit, name="intents_edit"),
    path("engagement/intents/restore/", _v2.intents_restore, name="intents_restore"),
]
