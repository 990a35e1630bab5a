"""Risk pages. Each feature of the app keeps its views in its own module and adds its routes here."""

from django.urls import path  # noqa: F401

app_name = "risk"

urlpatterns: list = []
