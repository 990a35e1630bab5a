from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.approval_list, name="list"),
    path("approvals/<int:pk>/", views.approval_detail, name="detail"),
    path("approvals/<int:pk>/<str:decision>/", views.approval_decide, name="decide"),
]
