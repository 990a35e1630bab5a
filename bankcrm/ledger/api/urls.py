from django.urls import path

from . import views as v

urlpatterns = [
    path("ledger/products/", v.ProductList.as_view(), name="api-ledger-products"),
    path("ledger/accounts/", v.AccountListCreate.as_view(), name="api-ledger-accounts"),
    path("ledger/accounts/<int:pk>/", v.AccountDetail.as_view(), name="api-ledger-account"),
    path("ledger/accounts/<int:pk>/statement/", v.AccountStatement.as_view(), name="api-ledger-statement"),
    path("ledger/accounts/<int:pk>/freeze/", v.AccountFreeze.as_view(), name="api-ledger-freeze"),
    path("ledger/accounts/<int:pk>/unfreeze/", v.AccountUnfreeze.as_view(), name="api-ledger-unfreeze"),
    path("ledger/accounts/<int:pk>/reactivate/", v.AccountReactivate.as_view(), name="api-ledger-reactivate"),
    path("ledger/accounts/<int:pk>/close/", v.AccountClose.as_view(), name="api-ledger-close"),
    path("ledger/transactions/", v.TransactionListCreate.as_view(), name="api-ledger-transactions"),
    path("ledger/transactions/<str:ref>/", v.TransactionDetail.as_view(), name="api-ledger-transaction"),
    path("ledger/transactions/<str:ref>/reverse/", v.TransactionReverse.as_view(), name="api-ledger-reverse"),
    path("ledger/cash-counts/", v.CashCountCreate.as_view(), name="api-ledger-cash-counts"),
    path("ledger/limits/", v.LimitListChange.as_view(), name="api-ledger-limits"),
    path("ledger/fx-rates/", v.FxRateListSet.as_view(), name="api-ledger-fx-rates"),
    path("ledger/products/<int:pk>/rates/", v.ProductRateSet.as_view(), name="api-ledger-product-rates"),
]
