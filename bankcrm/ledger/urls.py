from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("ledger/teller/", views.teller, name="teller"),
    path("ledger/teller/confirm/", views.teller_confirm, name="teller_confirm"),
    path("ledger/teller/pick/", views.teller_pick, name="teller_pick"),
    path("ledger/teller/result/<str:key>/", views.teller_result, name="teller_result"),
    path("ledger/accounts/", views.account_lookup, name="lookup"),
    path("ledger/accounts/<int:pk>/", views.account_detail, name="account"),
    path("ledger/accounts/<int:pk>/statement/", views.statement, name="statement"),
    path("ledger/accounts/<int:pk>/statement/<str:fmt>/", views.statement_export, name="statement_export"),
    path("ledger/accounts/<int:pk>/<str:action>/", views.account_action, name="account_action"),
    path("ledger/entries/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("ledger/customers/<int:pk>/open-account/", views.account_open, name="account_open"),
    path("ledger/cash-box/", views.cash_box, name="cash_box"),
    path("ledger/cash-box/open/", views.cash_box_open, name="cash_box_open"),
    path("ledger/cash-box/count/", views.cash_box_count, name="cash_box_count"),
    path("ledger/cash-box/<int:pk>/", views.cash_box_detail, name="cash_box_detail"),
]
