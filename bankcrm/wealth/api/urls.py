"""Wealth API routes (under /api/v1/wealth/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
