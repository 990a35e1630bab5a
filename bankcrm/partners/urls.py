from django.urls import path

from . import views

app_name = "partners"

urlpatterns = [
    path("partners/", views.partner_list, name="list"),
    path("partners/new/", views.partner_new, name="new"),
    path("partners/<int:pk>/", views.partner_detail, name="detail"),
    path("partners/<int:pk>/edit/", views.partner_edit, name="edit"),
    path("partners/<int:pk>/status/", views.partner_status, name="status"),
    path("partners/<int:pk>/products/", views.partner_products, name="products"),
    path("partners/<int:pk>/keys/", views.key_issue, name="key_issue"),
    path("partners/<int:pk>/endpoints/new/", views.endpoint_new, name="endpoint_new"),
    path("partners/keys/<int:pk>/rotate/", views.key_rotate, name="key_rotate"),
    path("partners/keys/<int:pk>/revoke/", views.key_revoke, name="key_revoke"),
    path("partners/endpoints/<int:pk>/", views.endpoint_edit, name="endpoint_edit"),
    path("partners/endpoints/<int:pk>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path("partners/endpoints/<int:pk>/test/", views.endpoint_test, name="endpoint_test"),
    path("partners/deliveries/", views.delivery_list, name="deliveries"),
    path("partners/deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
    path("partners/calls/", views.call_list, name="calls"),
]
