"""Small helpers shared by the HTML views: capability guard, denial logging, mapping domain errors to forms."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import access, logs
from .errors import DomainError, NotFound, PermissionDenied
from .models import SecurityEvent


def denied(request: HttpRequest, message: str, capability: str = "") -> HttpResponse:
    logs.security(SecurityEvent.Kind.DENIED, actor=request.user, username=getattr(request.user, "staff_no", ""),
                  capability=capability, method=request.method)
    # error pages leave the to-do badge out: no provider is asked (a refusal costs one query, not twenty)
    return render(request, "errors/403.html", {"message": message, "inbox_count": None}, status=403)


def not_found(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "errors/404.html", {"message": message, "inbox_count": None}, status=404)


def capability_required(code: str) -> Callable:
    """Anonymous → login page; lacking the capability → 403 page and a security-log entry."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not access.can(request.user, code):
                return denied(request, access.denial_reason(request.user, code), code)
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                return not_found(request, str(exc.message))
            except PermissionDenied as exc:
                return denied(request, str(exc.message), exc.params.get("capability", ""))

        wrapper.capability = code  # type: ignore[attr-defined]  (read by the authorization sweep test)
        return wrapper

    return decorator


def apply_error(form: forms.Form | None, request: HttpRequest, exc: DomainError) -> None:
    """Show a domain error on the form fields it names, else as a page message with its stable code."""
    placed = False
    if form is not None:
        for field, msgs in exc.fields.items():
            for m in msgs:
                form.add_error(field if field in form.fields else None, m)
                placed = True
        if not placed:
            form.add_error(None, f"{exc.message}")
    if not placed and form is None:
        messages.error(request, f"{exc.message}")


def paginate(request: HttpRequest, qs: Any, per_page: int = 25) -> Any:
    return Paginator(qs, per_page).get_page(request.GET.get("page"))
