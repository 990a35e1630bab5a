"""Incentives in the navigation (员工发展 › 奖金池 / 我的激励 / 绩效追索), the inbox (pools waiting for my approval,
clawbacks waiting for my decision) and a home-page section for supervisors and compliance."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.money import format_amount
from bankcrm.core.navigation import NavEntry, register

from . import incentive_selectors as sel

PEOPLE = _("员工发展")  # the top-level menu shared by training, appraisal and incentives
register(NavEntry(PEOPLE, _("奖金池"), "people:pools", "people.incentive_pools", "cash-stack", 85))
register(NavEntry(PEOPLE, _("我的激励"), "people:my_incentives", "people.my_incentives", "award", 86))
register(NavEntry(PEOPLE, _("绩效追索"), "people:clawbacks", "people.clawback", "arrow-counterclockwise", 87))

LIMIT = 8


def _items(actor: Any):
    for p in sel.pools_awaiting_approval(actor).order_by("pending_action__created_at")[:30]:
        yield InboxItem(kind="people_pool_approval", kind_label=_("奖金池复核"),
                        title=f"{p.branch.name} {p.period} · ¥{format_amount(p.amount_fen)}",
                        url=reverse("people:pool", args=[p.pk]),
                        due_at=p.pending_action.expires_at if p.pending_action_id else None,
                        subtitle=gettext("分配结果待复核"))
    for c in sel.clawbacks_to_decide(actor)[:30]:
        yield InboxItem(kind="people_clawback", kind_label=_("绩效追索"),
                        title=f"{c.award.staff.staff_no} {c.award.staff.name} · {c.get_source_display()} "
                              f"{c.source_ref}",
                        url=reverse("people:clawback_decide", args=[c.pk]),
                        subtitle=gettext("拟追索 %(a)s 元") % {"a": format_amount(c.amount_fen)})


def _count(actor: Any) -> int:
    return sel.pools_awaiting_approval(actor).count() + sel.clawbacks_to_decide(actor).count()


register_provider("people.incentives", _items, _count)


def home_context(request: Any) -> dict[str, Any] | None:
    """Pools awaiting my approval and clawbacks waiting for my decision; nothing when both are empty."""
    user = request.user
    pools = list(sel.pools_awaiting_approval(user).order_by("pending_action__created_at")[:LIMIT + 1])
    clawbacks = list(sel.clawbacks_to_decide(user)[:LIMIT + 1])
    mine = list(sel.pools_visible(user).filter(status__in=["allocated", "approved"], created_by=user)
                .select_related("branch", "period")[:LIMIT]) if access.can(user, "people.incentives") else []
    if not (pools or clawbacks or mine):
        return None
    return {"inc": {"pools": pools[:LIMIT], "pools_more": len(pools) > LIMIT, "clawbacks": clawbacks[:LIMIT],
                    "clawbacks_more": len(clawbacks) > LIMIT, "mine": mine}}


register_home(HomeSection(code="people.incentives", order=40, template="people/incentives/_home.html",
                          context=home_context, capability="people.incentive_pools"))
