"""Partner API routes: staff administration under /api/v1/partners/, the partner's own API under /api/v1/partner/."""

from django.urls import path

from . import partner_views as pv
from . import views as v

urlpatterns = [
    path("partners/", v.PartnerListCreate.as_view(), name="api-partners"),
    path("partners/<int:pk>/", v.PartnerDetail.as_view(), name="api-partner"),
    path("partners/<int:pk>/status/", v.PartnerStatus.as_view(), name="api-partner-status"),
    path("partners/<int:pk>/products/", v.PartnerProducts.as_view(), name="api-partner-products"),
    path("partners/<int:pk>/keys/", v.PartnerKeys.as_view(), name="api-partner-keys"),
    path("partners/<int:pk>/endpoints/", v.PartnerEndpoints.as_view(), name="api-partner-endpoints"),
    path("partners/keys/<int:pk>/rotate/", v.KeyRotate.as_view(), name="api-partner-key-rotate"),
    path("partners/keys/<int:pk>/revoke/", v.KeyRevoke.as_view(), name="api-partner-key-revoke"),
    path("partners/endpoints/<int:pk>/", v.EndpointDetail.as_view(), name="api-partner-endpoint"),
    path("partners/endpoints/<int:pk>/rotate-secret/", v.EndpointRotateSecret.as_view(),
         name="api-partner-endpoint-rotate"),
    path("partners/endpoints/<int:pk>/test/", v.EndpointTest.as_view(), name="api-partner-endpoint-test"),
    path("partners/deliveries/", v.DeliveryList.as_view(), name="api-partner-deliveries"),
    path("partners/deliveries/<int:pk>/retry/", v.DeliveryRetry.as_view(), name="api-partner-delivery-retry"),
    path("partners/calls/", v.CallList.as_view(), name="api-partner-calls"),
    # the partner's own API (partner keys only)
    path("partner/me/", pv.PartnerMe.as_view(), name="api-partner-me"),
    path("partner/events/", pv.PartnerEvents.as_view(), name="api-partner-events"),
    path("partner/products/", pv.PartnerProducts.as_view(), name="api-partner-own-products"),
    path("partner/products/<str:code>/navs/", pv.PartnerNavPost.as_view(), name="api-partner-nav-post"),
]
