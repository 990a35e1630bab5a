"""Wealth API routes (under /api/v1/wealth/)."""

from django.urls import path

from . import views as v

urlpatterns: list = [
    path("wealth/products/", v.ProductListCreate.as_view(), name="api-wealth-products"),
    path("wealth/products/<int:pk>/", v.ProductDetail.as_view(), name="api-wealth-product"),
    path("wealth/products/<int:pk>/shelf/", v.ProductShelf.as_view(), name="api-wealth-product-shelf"),
    path("wealth/products/<int:pk>/navs/", v.ProductNavs.as_view(), name="api-wealth-product-navs"),
    path("wealth/products/<int:pk>/distributions/", v.ProductDistributions.as_view(),
         name="api-wealth-product-distributions"),
    path("wealth/pos-check/", v.PosCheck.as_view(), name="api-wealth-pos-check"),
    path("wealth/sales/", v.SaleListCreate.as_view(), name="api-wealth-sales"),
    path("wealth/sales/<int:pk>/", v.SaleDetail.as_view(), name="api-wealth-sale"),
    path("wealth/sales/<int:pk>/confirm/", v.SaleConfirm.as_view(), name="api-wealth-sale-confirm"),
    path("wealth/sales/<int:pk>/withdraw/", v.SaleWithdraw.as_view(), name="api-wealth-sale-withdraw"),
    path("wealth/sales/<int:pk>/cancel/", v.SaleCancel.as_view(), name="api-wealth-sale-cancel"),
    path("wealth/holdings/", v.HoldingList.as_view(), name="api-wealth-holdings"),
    path("wealth/holdings/<int:pk>/", v.HoldingDetail.as_view(), name="api-wealth-holding"),
    path("wealth/holdings/<int:pk>/redeem/", v.HoldingRedeem.as_view(), name="api-wealth-holding-redeem"),
    path("wealth/return-visits/", v.ReturnVisitList.as_view(), name="api-wealth-return-visits"),
    path("wealth/return-visits/<int:pk>/", v.ReturnVisitDetail.as_view(), name="api-wealth-return-visit"),
    path("wealth/return-visits/<int:pk>/record/", v.ReturnVisitRecord.as_view(), name="api-wealth-return-visit-record"),
    path("wealth/customers/<int:customer_id>/qualified-investor/", v.QualifiedInvestors.as_view(),
         name="api-wealth-qualified-investor"),
    path("wealth/aum/", v.Aum.as_view(), name="api-wealth-aum"),
    path("wealth/customers/<int:customer_id>/aum/", v.CustomerAum.as_view(), name="api-wealth-customer-aum"),
]
