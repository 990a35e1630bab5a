from django.urls import path

from . import export_views, handover_views, views

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/new/", views.customer_register, name="register"),
    path("customers/export/", export_views.export_masked, name="export"),
    path("customers/exports/", export_views.export_list, name="exports"),
    path("customers/exports/request/", export_views.export_request, name="export_request"),
    path("customers/exports/<int:pk>/download/", export_views.export_download, name="export_download"),
    path("customers/handovers/", handover_views.handover_list, name="handovers"),
    path("customers/handovers/<int:pk>/", handover_views.handover_detail, name="handover"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/print/", views.customer_print, name="print"),
    path("customers/<int:pk>/reveal/", views.customer_reveal, name="reveal"),
    path("customers/<int:pk>/subject-requests/<int:request_id>/copy/", views.dsr_download, name="dsr_download"),
    path("customers/<int:pk>/<str:action>/", views.customer_action, name="action"),
]

from . import import_views  # noqa: E402  (customer imports, ADR 0008)

urlpatterns += [
    path("customers/import/", import_views.import_list, name="import_list"),
    path("customers/import/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("customers/import/<int:pk>/map/", import_views.import_map, name="import_map"),
    path("customers/import/<int:pk>/start/", import_views.import_start, name="import_start"),
    path("customers/import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("customers/import/<int:pk>/errors.csv", import_views.import_errors, name="import_errors"),
]
