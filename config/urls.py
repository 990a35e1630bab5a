from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("bankcrm.org.urls")),
    path("", include("bankcrm.approvals.urls")),
    path("", include("bankcrm.customers.urls")),
    path("", include("bankcrm.ledger.urls")),
    path("", include("bankcrm.ledger.setup_urls")),
    path("", include("bankcrm.risk.urls")),
    path("", include("bankcrm.service.urls")),
    path("", include("bankcrm.surveys.urls")),
    path("", include("bankcrm.wealth.urls")),
    path("", include("bankcrm.engagement.urls")),
    path("", include("bankcrm.people.urls")),
    path("", include("bankcrm.supervision.urls")),
    path("", include("bankcrm.partners.urls")),
    path("", include("bankcrm.reports.urls")),
    path("", include("bankcrm.core.urls")),
]

handler404 = "bankcrm.core.views.error_404"
handler500 = "bankcrm.core.views.error_500"
