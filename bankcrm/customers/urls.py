from django.urls import path

from . import handover_views, views

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/new/", views.customer_register, name="register"),
    path("customers/handovers/", handover_views.handover_list, name="handovers"),
    path("customers/handovers/<int:pk>/", handover_views.handover_detail, name="handover"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/reveal/", views.customer_reveal, name="reveal"),
    path("customers/<int:pk>/<str:action>/", views.customer_action, name="action"),
]
