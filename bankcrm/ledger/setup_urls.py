from django.urls import path

from . import setup_views

urlpatterns = [path("ledger/setup/", setup_views.setup_view, name="ledger-setup")]
