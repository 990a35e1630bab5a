"""Wealth pages. Each feature keeps its views in its own module and adds its routes here."""

from django.urls import path  # noqa: F401

app_name = "wealth"

urlpatterns: list = []
