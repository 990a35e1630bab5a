from django.urls import path

from . import metrics, probes, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("inbox/", views.inbox_view, name="inbox"),
    path("audit/", views.audit_list, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("audit/<int:seq>/", views.audit_detail, name="audit_detail"),
    path("security-log/", views.security_log, name="security_log"),
    path("access-log/", views.access_log, name="access_log"),
    path("parameters/", views.parameter_list, name="parameters"),
    path("parameters/<str:code>/", views.parameter_detail, name="parameter"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
