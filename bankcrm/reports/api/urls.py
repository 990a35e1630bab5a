"""Management-report API routes (under /api/v1/)."""

from django.urls import path

from . import views as v

urlpatterns = [
    path("reports/", v.ReportList.as_view(), name="api-reports"),
    path("reports/<str:code>/", v.ReportData.as_view(), name="api-report"),
    path("reports/<str:code>/export/", v.ReportExport.as_view(), name="api-report-export"),
    path("report-schedules/", v.ReportSchedules.as_view(), name="api-report-schedules"),
    path("report-schedules/<int:pk>/", v.ReportScheduleDetail.as_view(), name="api-report-schedule"),
    path("report-schedules/<int:pk>/deactivate/", v.ReportScheduleDeactivate.as_view(),
         name="api-report-schedule-deactivate"),
    path("report-schedules/<int:pk>/run/", v.ReportScheduleRun.as_view(), name="api-report-schedule-run"),
    path("report-schedules/<int:pk>/runs/", v.ReportScheduleRuns.as_view(), name="api-report-schedule-runs"),
    path("report-runs/<int:pk>/download/", v.ReportRunDownload.as_view(), name="api-report-run-download"),
]
