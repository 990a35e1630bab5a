"""Survey pages: staff under /surveys/, the customer's public answer page under /s/."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns: list = [
    path("surveys/", views.dashboard, name="dashboard"),
    path("surveys/responses/", views.response_list, name="responses"),
    path("surveys/responses/<int:pk>/", views.response_detail, name="response"),
    path("surveys/templates/", views.template_list, name="templates"),
    path("surveys/templates/new/", views.template_edit, name="template_new"),
    path("surveys/templates/<int:pk>/", views.template_detail, name="template"),
    path("surveys/templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("surveys/campaigns/", views.campaign_list, name="campaigns"),
    path("surveys/campaigns/new/", views.campaign_edit, name="campaign_new"),
    path("surveys/campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("surveys/campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("surveys/campaigns/<int:pk>/run/", views.campaign_run, name="campaign_run"),
    path("surveys/campaigns/<int:pk>/dispatch/", views.campaign_dispatch, name="campaign_dispatch"),
    path("surveys/outbox/", views.outbox, name="outbox"),
    # public (no login): the one-time link, the form's token-free POST target, the thank-you page
    path("s/submit/", views.submit, name="submit"),
    path("s/thanks/", views.thanks, name="thanks"),
    path("s/<str:token>/", views.answer, name="answer"),
]
