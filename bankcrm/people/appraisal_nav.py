"""Appraisal navigation (under the 员工发展 menu the training part opens), the inbox provider and the home section:
for everyone, their scorecard awaiting self-assessment or inside the appeal window; for supervisors, the cards of their
team to review or sign off; for appeal deciders, open appeals."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, params
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import appraisal_selectors as sel
from .appraisal_rules import within_days
from .models import Scorecard

S = Scorecard.Status
PEOPLE = _("员工发展")
register(NavEntry(PEOPLE, _("我的考核"), "people:appraisal", "people.appraisal", "clipboard-data", 84))
register(NavEntry(PEOPLE, _("团队考核"), "people:appraisal_team", "people.review", "people-fill", 85))
register(NavEntry(PEOPLE, _("考核申诉"), "people:appraisal_appeals", "people.appeal_decide", "flag", 86))
register(NavEntry(PEOPLE, _("考核方案"), "people:appraisal_schemes", "people.manage_appraisal", "sliders", 87))


def _mine(actor: Any) -> list[dict]:
    out = []
    window = params.value("appraisal.appeal_window")
    today = timezone.localdate()
    for c in sel.my_scorecards(actor).filter(status__in=[S.COMPUTED, S.SIGNED_OFF]).order_by("-period__starts_on")[:4]:
        if c.status == S.COMPUTED:
            out.append({"card": c, "text": gettext("记分卡待自评"), "hint": gettext("提交自评后由上级评价")})
        elif c.signed_off_at and within_days(timezone.localtime(c.signed_off_at).date(), today, window):
            left = window - (today - timezone.localtime(c.signed_off_at).date()).days
            out.append({"card": c, "text": gettext("考核结果已签署"),
                        "hint": gettext("如有异议可在 %(n)d 天内申诉") % {"n": left}})
    return out


def _team(actor: Any) -> dict | None:
    if not access.can(actor, "people.review"):
        return None
    latest = (Scorecard.objects.filter(sel._scope_q(actor)).exclude(staff=actor)
              .order_by("-period__starts_on").values_list("period_id", flat=True).first())
    if latest is None:
        return None
    period = sel.period_get(actor, latest)
    cards = sel.team_scorecards(actor, period)
    review = cards.filter(status__in=[S.COMPUTED, S.SELF_ASSESSED]).count()
    sign = cards.filter(status__in=[S.REVIEWED, S.CALIBRATED]).count()
    return {"period": period, "review": review, "sign": sign} if (review or sign) else None


def _home(request: Any) -> dict | None:
    user = request.user
    mine, team = _mine(user), _team(user)
    appeals = sel.appeals_to_decide(user).count()
    if not (mine or team or appeals):
        return None
    return {"mine": mine, "team": team, "appeals": appeals}


register_home(HomeSection(code="people.appraisal", order=40, template="people/appraisal/_home.html", context=_home,
                          capability="people.appraisal"))


def _items(actor: Any):
    if not access.can(actor, "people.appraisal"):
        return
    for m in _mine(actor):
        yield InboxItem(kind="people_scorecard", kind_label=_("考核"), title=f"{m['card'].period} · {m['text']}",
                        url=reverse("people:appraisal_card", args=[m["card"].pk]), subtitle=m["hint"])
    team = _team(actor)
    if team:
        yield InboxItem(kind="people_team_scorecards", kind_label=_("团队考核"),
                        title=gettext("%(p)s 待评价 %(r)d 人，待签署 %(s)d 人") % {"p": team["period"], "r": team["review"],
                                                                          "s": team["sign"]},
                        url=reverse("people:appraisal_team") + f"?period={team['period'].pk}")
    for a in sel.appeals_to_decide(actor)[:20]:
        yield InboxItem(kind="people_appeal", kind_label=_("考核申诉"),
                        title=f"{a.scorecard.staff.name} · {a.scorecard.period}",
                        url=reverse("people:appraisal_appeal_decide", args=[a.pk]))


def _count(actor: Any) -> int:
    if not access.can(actor, "people.appraisal"):
        return 0
    team = _team(actor)
    return len(_mine(actor)) + (1 if team else 0) + sel.appeals_to_decide(actor).count()


register_provider("people.appraisal", _items, _count)
