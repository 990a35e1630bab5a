"""Wealth pages. Each feature keeps its views in its own module and adds its routes here."""

from django.urls import path

app_name = "wealth"

urlpatterns: list = []

# ---- Shelf, NAV, distribution, qualified investors, AUM (helper UI-A) ----
from . import views_aum, views_shelf  # noqa: E402

urlpatterns += [
    path("wealth/products/", views_shelf.product_list, name="products"),
    path("wealth/products/new/", views_shelf.product_new, name="product_new"),
    path("wealth/products/<int:pk>/", views_shelf.product_detail, name="product"),
    path("wealth/products/<int:pk>/edit/", views_shelf.product_edit, name="product_edit"),
    path("wealth/products/<int:pk>/shelf/", views_shelf.product_shelf, name="product_shelf"),
    path("wealth/products/<int:pk>/nav/", views_shelf.product_nav, name="product_nav"),
    path("wealth/products/<int:pk>/distribution/", views_shelf.product_distribution, name="product_distribution"),
    path("wealth/customers/<int:pk>/qualified/", views_shelf.qualified, name="qualified"),
    path("wealth/aum/", views_aum.aum_page, name="aum"),
]

# ---- Sales, holdings and return visits (views_sales, views_visits) ----
from . import views_sales as vs  # noqa: E402
from . import views_visits as vv  # noqa: E402

urlpatterns += [
    path("wealth/sales/", vs.sale_list, name="sales"),
    path("wealth/customers/<int:pk>/sales/new/", vs.sale_new, name="sale_new"),
    path("wealth/sales/<int:pk>/", vs.sale_detail, name="sale"),
    path("wealth/sales/<int:pk>/confirm/", vs.sale_confirm, name="sale_confirm"),
    path("wealth/sales/<int:pk>/cancel/", vs.sale_cancel, name="sale_cancel"),
    path("wealth/sales/<int:pk>/withdraw/", vs.sale_withdraw, name="sale_withdraw"),
    path("wealth/holdings/", vs.holding_list, name="holdings"),
    path("wealth/holdings/<int:pk>/", vs.holding_detail, name="holding"),
    path("wealth/holdings/<int:pk>/redeem/", vs.holding_redeem, name="holding_redeem"),
    path("wealth/return-visits/", vv.return_visit_list, name="return_visits"),
    path("wealth/return-visits/<int:pk>/", vv.return_visit_form, name="return_visit"),
]
