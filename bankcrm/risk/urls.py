"""Risk pages. Each feature of the app keeps its views in its own module and adds its routes here."""

from django.urls import path

from . import views

app_name = "risk"

urlpatterns: list = [
    path("risk/", views.dashboard, name="dashboard"),
    path("risk/alerts/", views.alert_list, name="alerts"),
    path("risk/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("risk/alerts/<int:pk>/close/", views.alert_close, name="alert_close"),
    path("risk/cases/", views.case_list, name="cases"),
    path("risk/cases/open/", views.case_open, name="case_open"),
    path("risk/cases/<int:pk>/", views.case_detail, name="case"),
    path("risk/cases/<int:pk>/notes/", views.case_note, name="case_note"),
    path("risk/cases/<int:pk>/notes/<int:note_id>/attachment/", views.case_attachment, name="case_attachment"),
    path("risk/cases/<int:pk>/report/", views.case_report, name="case_report"),
    path("risk/cases/<int:pk>/<str:action>/", views.case_action, name="case_action"),
    path("risk/rules/", views.rule_list, name="rules"),
    path("risk/rules/<str:code>/", views.rule_detail, name="rule"),
    path("risk/reports/", views.report_list, name="reports"),
    path("risk/reports/<int:pk>/download/", views.report_download, name="report_download"),
    path("risk/reports/<int:pk>/submit/", views.report_submit, name="report_submit"),
]
