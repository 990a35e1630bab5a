"""Risk API routes (under /api/v1/risk/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
