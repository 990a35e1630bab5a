"""surveys API routes (under /api/v1/surveys/)."""

from django.urls import path

from . import views as v

urlpatterns: list = [
    path("surveys/templates/", v.TemplateListCreate.as_view(), name="api-surveys-templates"),
    path("surveys/templates/<int:pk>/", v.TemplateDetail.as_view(), name="api-surveys-template"),
    path("surveys/campaigns/", v.CampaignListCreate.as_view(), name="api-surveys-campaigns"),
    path("surveys/campaigns/<int:pk>/", v.CampaignDetail.as_view(), name="api-surveys-campaign"),
    path("surveys/campaigns/<int:pk>/run/", v.CampaignRunCreate.as_view(), name="api-surveys-campaign-run"),
    path("surveys/campaigns/<int:pk>/dispatch/", v.CampaignDispatch.as_view(), name="api-surveys-campaign-dispatch"),
    path("surveys/responses/", v.ResponseList.as_view(), name="api-surveys-responses"),
    path("surveys/responses/<int:pk>/", v.ResponseDetail.as_view(), name="api-surveys-response"),
    path("surveys/analytics/", v.Analytics.as_view(), name="api-surveys-analytics"),
    path("surveys/outbox/", v.OutboxList.as_view(), name="api-surveys-outbox"),
]
