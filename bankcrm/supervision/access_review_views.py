"""权限复核 pages: the quarter's reviews (mine first, overdue flagged), one review as staff × roles with confirm /
revoke (a reason is required to revoke), completion, and compliance's "open this quarter's reviews"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bankcrm.core import access
from bankcrm.core.access import ROLE_LABELS, Role
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import access_review_selectors as sel
from . import access_review_services as services
from . import inspection_rules as rules
from .inspection_forms import DecideForm
from .models import AccessReview, AccessReviewItem


@capability_required("supervision.view")
def review_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    period = request.GET.get("period", "")
    scope = request.GET.get("scope", "")
    qs = sel.reviews_visible(user, period=period, mine=scope == "mine")
    if scope == "overdue":
        qs = qs.filter(n_overdue__gt=0)
    page = paginate(request, qs, 30)
    today = timezone.localdate()
    for r in page:
        r.progress = round(100 * (r.n_items - r.n_pending) / r.n_items) if r.n_items else 100
        r.overdue = r.status == AccessReview.Status.OPEN and r.due_on < today and r.n_pending
    periods = list(sel.reviews_visible(user).values_list("period", flat=True).distinct().order_by("-period"))
    overdue = sel.access_review_overdue_items(actor=user)
    labels = _labels()
    overdue_items = list(overdue[:50])
    for it in overdue_items:
        it.role_label = labels.get(it.role, it.role)
    return render(request, "supervision/access_reviews/list.html", {
        "page": page, "period": period, "scope": scope, "periods": periods, "current": rules.quarter_of(today)[0],
        "overdue_items": overdue_items, "overdue_count": overdue.count(),
        "can_open": access.can(user, "supervision.access_reviews_open")})


def _labels() -> dict[str, str]:
    return {r.value: str(ROLE_LABELS[r]) for r in Role}


def _detail(request: HttpRequest, review: AccessReview, *, bad: dict[int, DecideForm] | None = None,
            status: int = 200) -> HttpResponse:
    user = request.user
    items = list(sel.items_of(review))
    can_decide = services.may_decide(user, review) and review.status == AccessReview.Status.OPEN
    labels = _labels()
    staff_rows: list[dict[str, Any]] = []
    index: dict[int, dict[str, Any]] = {}
    for it in items:
        row = index.get(it.staff_id)
        if row is None:
            row = index[it.staff_id] = {"staff": it.staff, "items": []}
            staff_rows.append(row)
        row["items"].append({"item": it, "label": labels.get(it.role, it.role), "own": it.staff_id == user.pk,
                             "form": (bad or {}).get(it.pk)})
    pending = sum(1 for i in items if i.decision == AccessReviewItem.Decision.PENDING)
    return render(request, "supervision/access_reviews/detail.html", {
        "review": review, "rows": staff_rows, "total": len(items), "pending": pending, "done": len(items) - pending,
        "revoked": sum(1 for i in items if i.decision == AccessReviewItem.Decision.REVOKED),
        "progress": round(100 * (len(items) - pending) / len(items)) if items else 100,
        "overdue": review.status == AccessReview.Status.OPEN and review.due_on < timezone.localdate() and pending,
        "can_decide": can_decide}, status=status)


@capability_required("supervision.view")
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, sel.review_get(request.user, pk))


@capability_required("supervision.access_review")
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    item = sel.item_get(user, pk)
    form = DecideForm(request.POST)
    if form.is_valid():
        cd = form.cleaned_data
        try:
            saved = entrypoint(services.access_review_decide)(actor=user, item_id=item.pk, decision=cd["decision"],
                                                              reason=cd["reason"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            placed = False
            for name, msgs in exc.fields.items():
                if name in form.fields:
                    for m in msgs:
                        form.add_error(name, str(m))
                    placed = True
            if not placed:
                form.add_error(None, str(exc.message))
        else:
            role = _labels().get(saved.role, saved.role)
            if saved.decision == AccessReviewItem.Decision.REVOKED:
                messages.warning(request, _("已撤销 %(n)s 的“%(r)s”角色，其登录会话已结束") % {"n": saved.staff.name, "r": role})
            else:
                messages.success(request, _("已确认 %(n)s 的“%(r)s”角色") % {"n": saved.staff.name, "r": role})
            from django.urls import reverse

            return redirect(reverse("supervision:access_review", args=[item.review_id]) + f"#staff-{item.staff_id}")
    return _detail(request, sel.review_get(user, item.review_id), bad={item.pk: form}, status=400)


@capability_required("supervision.access_review")
@require_POST
def review_complete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        review = entrypoint(services.access_review_complete)(actor=request.user, review_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("supervision:access_review", pk=pk)
    messages.success(request, _("%(p)s 权限复核已完成") % {"p": review.period})
    return redirect("supervision:access_review", pk=pk)


@capability_required("supervision.access_reviews_open")
@require_POST
def reviews_open(request: HttpRequest) -> HttpResponse:
    opened = entrypoint(services.access_reviews_open)(actor=request.user)
    if opened:
        messages.success(request, _("已发起或更新 %(n)d 个机构的本季度权限复核") % {"n": len(opened)})
    else:
        messages.info(request, _("本季度权限复核已是最新，无需更新"))
    return redirect("supervision:access_reviews")
