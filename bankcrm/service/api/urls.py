"""service API routes (under /api/v1/)."""

from django.urls import path

from . import views as v

urlpatterns: list = [
    path("service/complaints/", v.ComplaintListCreate.as_view(), name="api-service-complaints"),
    path("service/complaints/<int:pk>/", v.ComplaintDetail.as_view(), name="api-service-complaint"),
    path("service/complaints/<int:pk>/acknowledge/", v.ComplaintAcknowledge.as_view(),
         name="api-service-complaint-acknowledge"),
    path("service/complaints/<int:pk>/assign/", v.ComplaintAssign.as_view(), name="api-service-complaint-assign"),
    path("service/complaints/<int:pk>/extend/", v.ComplaintExtend.as_view(), name="api-service-complaint-extend"),
    path("service/complaints/<int:pk>/decide/", v.ComplaintDecide.as_view(), name="api-service-complaint-decide"),
    path("service/complaints/<int:pk>/close/", v.ComplaintClose.as_view(), name="api-service-complaint-close"),
    path("service/complaints/<int:pk>/rectifications/", v.ComplaintRectifications.as_view(),
         name="api-service-complaint-rectifications"),
    path("service/complaints/<int:pk>/letter/", v.ComplaintLetter.as_view(), name="api-service-complaint-letter"),
    path("service/rectifications/<int:pk>/done/", v.RectificationDone.as_view(), name="api-service-rectification-done"),
    path("service/requests/", v.RequestListCreate.as_view(), name="api-service-requests"),
    path("service/requests/<int:pk>/", v.RequestDetail.as_view(), name="api-service-request"),
    path("service/requests/<int:pk>/respond/", v.RequestRespond.as_view(), name="api-service-request-respond"),
    path("service/requests/<int:pk>/assign/", v.RequestAssign.as_view(), name="api-service-request-assign"),
    path("service/requests/<int:pk>/resolve/", v.RequestResolve.as_view(), name="api-service-request-resolve"),
    path("service/requests/<int:pk>/close/", v.RequestClose.as_view(), name="api-service-request-close"),
    path("service/root-causes/", v.RootCauseList.as_view(), name="api-service-root-causes"),
    path("service/stats/", v.Stats.as_view(), name="api-service-stats"),
]
