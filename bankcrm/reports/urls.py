"""管理报表 pages (issue #11): reports, the records behind their figures, exports, scheduled reports."""

from django.urls import path

from . import report_views as rv
from . import schedule_views as sv

app_name = "reports"

urlpatterns = [
    path("reports/", rv.index, name="index"),
    path("reports/schedules/", sv.schedule_list, name="schedules"),
    path("reports/schedules/new/", sv.schedule_new, name="schedule_new"),
    path("reports/schedules/<int:pk>/", sv.schedule_detail, name="schedule"),
    path("reports/schedules/<int:pk>/edit/", sv.schedule_edit, name="schedule_edit"),
    path("reports/schedules/<int:pk>/deactivate/", sv.schedule_deactivate, name="schedule_deactivate"),
    path("reports/schedules/<int:pk>/run/", sv.schedule_run, name="schedule_run"),
    path("reports/runs/<int:pk>/download/", sv.run_download, name="run_download"),
    path("reports/<str:code>/", rv.report_page, name="report"),
    path("reports/<str:code>/records/", rv.records, name="records"),
    path("reports/<str:code>/export.<str:fmt>", rv.export, name="export"),
]
