"""Service pages: complaints, service requests, statistics and the root-cause taxonomy."""

from django.urls import path

from . import views as v

app_name = "service"

urlpatterns: list = [
    path("service/complaints/", v.complaint_list, name="complaints"),
    path("service/customers/<int:pk>/complaints/new/", v.complaint_new, name="complaint_new"),
    path("service/complaints/<int:pk>/", v.complaint_detail, name="complaint"),
    path("service/complaints/<int:pk>/acknowledge/", v.complaint_acknowledge, name="complaint_acknowledge"),
    path("service/complaints/<int:pk>/assign/", v.complaint_assign, name="complaint_assign"),
    path("service/complaints/<int:pk>/extend/", v.complaint_extend, name="complaint_extend"),
    path("service/complaints/<int:pk>/decide/", v.complaint_decide, name="complaint_decide"),
    path("service/complaints/<int:pk>/close/", v.complaint_close, name="complaint_close"),
    path("service/complaints/<int:pk>/rectifications/", v.complaint_rectify, name="complaint_rectify"),
    path("service/rectifications/<int:pk>/done/", v.rectification_done, name="rectification_done"),
    path("service/complaints/<int:pk>/letter/", v.letter, name="letter"),
    path("service/complaints/<int:pk>/letter.pdf", v.letter_pdf, name="letter_pdf"),
    path("service/requests/", v.request_list, name="requests"),
    path("service/customers/<int:pk>/requests/new/", v.request_new, name="request_new"),
    path("service/requests/<int:pk>/", v.request_detail, name="request"),
    path("service/requests/<int:pk>/respond/", v.request_respond, name="request_respond"),
    path("service/requests/<int:pk>/assign/", v.request_assign, name="request_assign"),
    path("service/requests/<int:pk>/resolve/", v.request_resolve, name="request_resolve"),
    path("service/requests/<int:pk>/close/", v.request_close, name="request_close"),
    path("service/notifications/<int:pk>/read/", v.notification_read, name="notification_read"),
    path("service/stats/", v.stats, name="stats"),
    path("service/stats/export/", v.stats_xlsx, name="stats_xlsx"),
    path("service/stats/regulator-file/", v.regulator_file, name="regulator_file"),
    path("service/root-causes/", v.causes, name="causes"),
]
