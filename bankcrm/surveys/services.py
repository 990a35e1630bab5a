"""Survey services: templates (versions), campaigns, sampling runs, event invitations, the crash-safe dispatch,
the customer's answer through the public token and the follow-up that closes the loop (a feedback case)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, outbox, params
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed

from . import rules, sentiment, transports
from .models import Campaign, CampaignRun, Invitation, Response, SurveyTemplate

log = logging.getLogger(__name__)
TOPIC_FOLLOWUP = "surveys.followup"
DEFAULT_CODE = "standard"
DEFAULT_QUESTIONS = [
    {"code": "csat", "kind": "csat", "text": "您对本次服务的总体满意度如何？", "required": True},
    {"code": "nps", "kind": "nps", "text": "您有多大可能把我行推荐给亲友？", "required": True},
    {"code": "comment", "kind": "text", "text": "您还有什么想对我们说的？（选填）", "required": False},
]


# ---- Templates ------------------------------------------------------------------------------------------------------
def template_save(*, actor: Any, code: str, name: str, questions: list[dict[str, Any]], intro: str = "",
                  note: str = "") -> SurveyTemplate:
    """Save a new version of template ``code`` (the first version if new); the previous one stops being current.
    Campaigns keep the version they were created with until they are pointed at the new one."""
    access.require(actor, "surveys.manage_templates")
    code, name = (code or "").strip(), (name or "").strip()
    errors = rules.validate_questions(questions)
    if not rules.CODE_RE.match(code.replace("-", "_")):
        errors["code"] = [str(_("模板代码须为小写字母开头的字母、数字或下划线"))]
    if not name or len(name) > 80:
        errors["name"] = [str(_("请填写名称（80字以内）"))]
    if errors:
        raise ValidationFailed("template_invalid", _("调查模板有误，请检查后重新提交"), fields=errors)
    clean = [{k: q[k] for k in ("code", "kind", "text", "required", "options") if k in q} for q in questions]
    for q in clean:
        q["text"], q["required"] = str(q["text"]).strip(), bool(q.get("required"))
    with transaction.atomic():
        last = SurveyTemplate.objects.select_for_update().filter(code=code).order_by("-version").first()
        SurveyTemplate.objects.filter(code=code, is_current=True).update(is_current=False)
        t = SurveyTemplate.objects.create(code=code, version=(last.version + 1) if last else 1, name=name,
                                          intro=(intro or "").strip()[:300], questions=clean, note=(note or "")[:200],
                                          created_by=actor if getattr(actor, "pk", None) else None)
        audit.record(actor=actor, verb="surveys.template_saved", target=t,
                     before={"version": last.version, "questions": last.questions} if last else None,
                     after={"version": t.version, "name": name, "questions": clean}, reason=t.note)
    return t


def template_install_default(*, actor: Any = None) -> SurveyTemplate:
    """The standard CSAT + NPS + comment questionnaire (idempotent; installed by the demo and `surveys_bootstrap`)."""
    current = SurveyTemplate.objects.filter(code=DEFAULT_CODE, is_current=True).first()
    if current is not None:
        return current
    with transaction.atomic():
        t = SurveyTemplate.objects.create(code=DEFAULT_CODE, version=1, name=str(_("标准满意度调查")),
                                          intro=str(_("感谢您抽出一分钟时间。您的评价只用于改进服务。")),
                                          questions=DEFAULT_QUESTIONS, note=str(_("系统内置")))
        audit.record(actor=actor, verb="surveys.template_saved", target=t, after={"version": 1, "builtin": True})
    return t


# ---- Campaigns ------------------------------------------------------------------------------------------------------
CAMPAIGN_FIELDS = ("name", "trigger", "frequency", "per_manager", "template_id", "channel", "min_interval_days",
                   "valid_days", "csat_low", "nps_low", "active")


def campaign_save(*, actor: Any, campaign_id: int | None = None, branch_id: int | None = None,
                  **data: Any) -> Campaign:
    """Create a campaign (scoped to ``branch_id``, default the actor's branch, which must lie in the actor's scope)
    or change one the actor may see."""
    from bankcrm.org.models import Branch

    access.require(actor, "surveys.manage_campaigns")
    data = {k: v for k, v in data.items() if k in CAMPAIGN_FIELDS}
    errors: dict[str, list[str]] = {}
    with transaction.atomic():
        if campaign_id is not None:
            c = _campaign_for_update(actor, campaign_id)
            before = audit.snapshot(c, CAMPAIGN_FIELDS)
        else:
            c, before = Campaign(created_by=actor, per_manager=10, channel="sms"), None
            branch = Branch.objects.filter(pk=branch_id or actor.branch_id).first()
            root = access.scope_root(actor)
            if branch is None or (root is not None and not branch.path.startswith(root)):
                raise ValidationFailed("campaign_branch_invalid", _("范围机构无效"),
                                       fields={"branch": [str(_("请选择您管辖范围内的机构"))]})
            c.branch, c.branch_path = branch, branch.path
        for k, v in data.items():
            setattr(c, k, v)
        c.name = (c.name or "").strip()
        if not c.name or len(c.name) > 80:
            errors["name"] = [str(_("请填写活动名称（80字以内）"))]
        if c.trigger not in Campaign.Trigger.values:
            errors["trigger"] = [str(_("请选择触发方式"))]
        if c.trigger == Campaign.Trigger.PERIODIC and c.frequency not in Campaign.Frequency.values:
            errors["frequency"] = [str(_("定期抽样须选择周期"))]
        if c.trigger != Campaign.Trigger.PERIODIC:
            c.frequency = ""
        if c.channel not in Campaign.Channel.values:
            errors["channel"] = [str(_("请选择发送渠道"))]
        if not c.template_id or not SurveyTemplate.objects.filter(pk=c.template_id).exists():
            errors["template"] = [str(_("请选择调查模板"))]
        if not 1 <= int(c.per_manager or 0) <= 500:
            errors["per_manager"] = [str(_("每位客户经理抽样数须为 1 至 500"))]
        if c.csat_low is not None and not 1 <= c.csat_low <= 5:
            errors["csat_low"] = [str(_("须为 1 至 5"))]
        if c.nps_low is not None and not 0 <= c.nps_low <= 10:
            errors["nps_low"] = [str(_("须为 0 至 10"))]
        if c.valid_days is not None and not 1 <= c.valid_days <= 90:
            errors["valid_days"] = [str(_("须为 1 至 90 天"))]
        if c.min_interval_days is not None and c.min_interval_days > 3650:
            errors["min_interval_days"] = [str(_("间隔过长"))]
        if errors:
            raise ValidationFailed("campaign_invalid", _("调查活动设置有误，请检查后重新提交"), fields=errors)
        c.save()
        audit.record(actor=actor, verb="surveys.campaign_saved", target=c, before=before,
                     after=audit.snapshot(c, CAMPAIGN_FIELDS))
    return c


def _campaign_for_update(actor: Any, campaign_id: Any) -> Campaign:
    from . import selectors

    c = selectors.campaigns_manageable(actor).select_for_update().filter(pk=campaign_id).first() \
        if str(campaign_id).isdigit() else None
    if c is None:
        raise NotFound("campaign_not_found", _("调查活动不存在或无权查看"))
    return c


def _min_interval(c: Campaign) -> int:
    return c.min_interval_days if c.min_interval_days is not None else params.value("surveys.min_interval")


def _last_surveyed(customer_ids: list[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for i in range(0, len(customer_ids), 500):
        part = customer_ids[i:i + 500]
        out.update(Invitation.objects.filter(customer_id__in=part).exclude(status=Invitation.Status.CANCELLED)
                   .values("customer_id").annotate(last=Max("created_at")).values_list("customer_id", "last"))
    return out


def _consented(customer: Any) -> bool:
    try:
        access.require_gate("customers.survey_contact", None, customer=customer)
    except RuleViolation:
        return False
    return True


def _latest_products(customer_ids: list[int]) -> dict[int, str]:
    """The product of each customer's most recently opened account (one query per 500 customers)."""
    from bankcrm.ledger.models import Account

    out: dict[int, str] = {}
    for i in range(0, len(customer_ids), 500):
        for cid, name in (Account.objects.filter(customer_id__in=customer_ids[i:i + 500], kind="customer")
                          .order_by("customer_id", "-opened_at", "-id").values_list("customer_id", "product__name")):
            out.setdefault(cid, name or "")
    return out


def campaign_run(*, actor: Any, campaign_id: int, now: datetime | None = None) -> CampaignRun:
    """Sample a periodic campaign for the current period (once per period): up to N consenting customers of each
    customer manager in the campaign's branch subtree who were not surveyed within the minimum interval; their
    invitations are planned here and sent by `dispatch`."""
    from bankcrm.customers.models import Customer, ManagerAssignment

    access.require(actor, "surveys.manage_campaigns")
    now = now or timezone.now()
    with transaction.atomic():
        c = _campaign_for_update(actor, campaign_id)
        if c.trigger != Campaign.Trigger.PERIODIC or not c.active:
            raise RuleViolation("campaign_not_periodic", _("只有启用中的定期抽样活动可以手动运行"))
        period = rules.period_key(timezone.localtime(now).date(), c.frequency)
        if CampaignRun.objects.filter(campaign=c, period=period).exists():
            raise RuleViolation("campaign_period_done", _("本期已抽样，不能重复运行（%(p)s）") % {"p": rules.period_label(period)})
        primaries = dict(ManagerAssignment.objects.filter(
            role="primary", ended_at__isnull=True, customer__status="active",
            customer__branch__path__startswith=c.branch_path).values_list("customer_id", "staff_id"))
        customers = {x.pk: x for x in Customer.objects.filter(pk__in=list(primaries)).select_related("branch")}
        last = _last_surveyed(sorted(customers))
        candidates = [rules.Candidate(cid, primaries[cid], _consented(customers[cid]), last.get(cid))
                      for cid in sorted(customers)]
        sample = rules.sample_per_manager(candidates, per_manager=c.per_manager, now=now,
                                          min_interval_days=_min_interval(c), seed=f"{c.pk}:{period}")
        run = CampaignRun.objects.create(campaign=c, period=period, sampled=len(sample.chosen),
                                         skipped_consent=sample.skipped_consent,
                                         skipped_interval=sample.skipped_interval,
                                         created_by=actor if getattr(actor, "pk", None) else None, created_at=now)
        products = _latest_products(sorted(s.customer_id for s in sample.chosen))
        Invitation.objects.bulk_create([
            Invitation(campaign=c, run=run, template=c.template, customer_id=s.customer_id, manager_id=s.manager_id,
                       branch=customers[s.customer_id].branch, branch_path=customers[s.customer_id].branch.path,
                       trigger=c.trigger, product=products.get(s.customer_id, ""), channel=c.channel,
                       source_ref=f"c{c.pk}:{period}:{s.customer_id}", created_at=now)
            for s in sample.chosen])
        audit.record(actor=actor, verb="surveys.campaign_run", target=c, after={
            "period": period, "sampled": run.sampled, "skipped_consent": run.skipped_consent,
            "skipped_interval": run.skipped_interval})
    return run


def periodic_runs_due(now: datetime | None = None) -> int:
    """The daily job: sample every active periodic campaign whose current period has no run yet (system actor)."""
    now = now or timezone.now()
    done = 0
    for c in Campaign.objects.filter(active=True, trigger=Campaign.Trigger.PERIODIC).order_by("id"):
        period = rules.period_key(timezone.localtime(now).date(), c.frequency)
        if CampaignRun.objects.filter(campaign=c, period=period).exists():
            continue
        try:
            campaign_run(actor=_system(), campaign_id=c.pk, now=now)
            done += 1
        except (RuleViolation, IntegrityError):
            continue
    return done


class _System:
    """The scheduler acting for the bank (head office administrator scope) in jobs and consumers."""

    pk = None
    is_authenticated = True
    is_active = True
    roles = frozenset({"admin"})
    employment_type = "employee"
    branch_path = "/"
    branch_id = None
    staff_no = "system"
    name = "system"


def _system() -> Any:
    return _System()


def event_invitations(*, trigger: str, customer_id: int, ref: str, product: str = "",
                      now: datetime | None = None) -> int:
    """Plan invitations for an event (account opened, complaint closed, wealth product sold) in every active
    campaign on that trigger whose branch subtree holds the customer, if the customer consented and was not
    surveyed within the interval. Idempotent: one invitation per campaign and cause. Returns how many."""
    from bankcrm.customers.models import Customer, ManagerAssignment

    now = now or timezone.now()
    customer = Customer.objects.filter(pk=customer_id).select_related("branch").first()
    if customer is None:
        return 0
    campaigns = [c for c in Campaign.objects.filter(active=True, trigger=trigger).select_related("template")
                 if customer.branch.path.startswith(c.branch_path)]
    if not campaigns or not _consented(customer):
        return 0
    manager = ManagerAssignment.objects.filter(customer_id=customer_id, role="primary", ended_at__isnull=True) \
        .values_list("staff_id", flat=True).first()
    made = 0
    with transaction.atomic():
        for c in campaigns:
            last = _last_surveyed([customer_id]).get(customer_id)
            source_ref = f"c{c.pk}:{ref}"
            if rules.within_interval(last, now, _min_interval(c)) or \
                    Invitation.objects.filter(source_ref=source_ref).exists():
                continue
            inv = Invitation.objects.create(campaign=c, template=c.template, customer=customer, manager_id=manager,
                                            branch=customer.branch, branch_path=customer.branch.path,
                                            trigger=trigger, product=product[:60], channel=c.channel,
                                            source_ref=source_ref, created_at=now)
            audit.record(actor=None, verb="surveys.invitations_planned", target=inv,
                         after={"campaign": c.pk, "trigger": trigger, "ref": ref})
            made += 1
    return made


# ---- Dispatch (QUALITY.md R14) ---------------------------------------------------------------------------------------
def public_link(token: str) -> str:
    return getattr(settings, "SURVEYS_PUBLIC_URL", "").rstrip("/") + reverse("surveys:answer", args=[token])


def _new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 URL-safe characters


def dispatch(*, campaign_id: int | None = None, chunk: int = 100, now: datetime | None = None,
             deliver: Callable[..., bool] | None = None) -> dict[str, int]:
    """Send every planned invitation, in id order, a chunk per transaction: each invitation gets its token (only
    the hash is stored), its message is delivered (the outbox transport writes in the same transaction) and it is
    marked sent — all commit together or not at all. A killed run leaves whole chunks planned, so the next run
    sends exactly those: nothing twice, nothing missed. Consent is checked again at sending."""
    deliver = deliver or transports.deliver
    now = now or timezone.now()
    counts = {"sent": 0, "cancelled": 0}
    after = 0
    while True:
        qs = Invitation.objects.filter(status=Invitation.Status.PLANNED, id__gt=after)
        if campaign_id is not None:
            qs = qs.filter(campaign_id=campaign_id)
        ids = list(qs.order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            return counts
        with transaction.atomic():
            locked = Invitation.objects.filter(pk__in=ids, status=Invitation.Status.PLANNED)
            if connection.features.has_select_for_update:
                locked = locked.select_for_update(skip_locked=True, of=("self",))
            sent, cancelled = [], []
            for inv in locked.select_related("customer", "campaign").order_by("id"):
                reason = "" if _consented(inv.customer) else "consent_withdrawn"
                days = inv.campaign.valid_days or params.value("surveys.link_valid")
                token = _new_token()
                inv.token_hash, inv.expires_at = rules.token_hash(token), now + timedelta(days=days)
                if not reason and not deliver(inv, link=public_link(token), days=days):
                    reason = "no_address"
                if reason:
                    Invitation.objects.filter(pk=inv.pk).update(status=Invitation.Status.CANCELLED,
                                                                cancel_reason=reason)
                    cancelled.append(inv.pk)
                    continue
                Invitation.objects.filter(pk=inv.pk).update(status=Invitation.Status.SENT, token_hash=inv.token_hash,
                                                            expires_at=inv.expires_at, sent_at=now)
                sent.append(inv.pk)
            if sent or cancelled:
                audit.record(actor=None, verb="surveys.invitations_sent", target_type="surveys.Invitation",
                             target_id=sent[0] if sent else cancelled[0],
                             after={"sent": sent, "cancelled": cancelled})
        counts["sent"] += len(sent)
        counts["cancelled"] += len(cancelled)
        after = ids[-1]


def dispatch_now(*, actor: Any, campaign_id: int) -> dict[str, int]:
    """Staff asks to send a campaign's planned invitations now (instead of waiting for the job)."""
    access.require(actor, "surveys.manage_campaigns")
    from . import selectors

    if not selectors.campaigns_manageable(actor).filter(pk=campaign_id).exists():
        raise NotFound("campaign_not_found", _("调查活动不存在或无权查看"))
    return dispatch(campaign_id=campaign_id)


def invitations_expire(now: datetime | None = None) -> int:
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(Invitation.objects.filter(status=Invitation.Status.SENT, expires_at__lt=now)
                   .values_list("id", flat=True)[:5000])
        if ids:
            Invitation.objects.filter(pk__in=ids).update(status=Invitation.Status.EXPIRED)
            audit.record(actor=None, verb="surveys.invitations_expired", target_type="surveys.Invitation",
                         target_id=ids[0], after={"count": len(ids)})
    return len(ids)


# ---- The customer's answer --------------------------------------------------------------------------------------------
def invitation_for_token(token: str, *, now: datetime | None = None, lock: bool = False) -> tuple[Invitation | None, str]:
    """(invitation, '') when the token opens a survey now, else (None, reason): 'unknown' (malformed, never issued,
    or of a cancelled invitation — indistinguishable on purpose), 'used' or 'expired'."""
    if not rules.well_formed(token):
        return None, "unknown"
    qs = Invitation.objects.select_related("template")
    if lock and connection.features.has_select_for_update:
        qs = qs.select_for_update(of=("self",))
    inv = qs.filter(token_hash=rules.token_hash(token)).first()
    if inv is None or inv.status in (Invitation.Status.PLANNED, Invitation.Status.CANCELLED):
        return None, "unknown"
    if inv.status == Invitation.Status.ANSWERED:
        return None, "used"
    if inv.status == Invitation.Status.EXPIRED or (inv.expires_at and inv.expires_at <= (now or timezone.now())):
        return None, "expired"
    return inv, ""


def response_submit(*, token: str, data: dict[str, Any], now: datetime | None = None) -> Response:
    """The customer's answers (no login: the token is the authority, used once). Scores, sentiment and keywords are
    computed here; a low score or a negative comment publishes a follow-up that opens a feedback case."""
    now = now or timezone.now()
    with transaction.atomic():
        inv, reason = invitation_for_token(token, now=now, lock=True)
        if inv is None:
            raise RuleViolation(f"survey_{reason}", REASONS[reason])
        questions = inv.template.questions
        answers, errors = rules.clean_answers(questions, data)
        if errors:
            raise ValidationFailed("survey_answers_invalid", _("请完成必答题"), fields=errors)
        csat, nps, comment = rules.scores(questions, answers)
        c = inv.campaign
        low = rules.is_low(csat, nps, csat_low=c.csat_low or params.value("surveys.csat_low"),
                           nps_low=c.nps_low if c.nps_low is not None else params.value("surveys.nps_low"))
        mood = sentiment.predict(comment) if comment else ""
        r = Response.objects.create(invitation=inv, customer_id=inv.customer_id, answers=answers, csat=csat, nps=nps,
                                    comment=comment, sentiment=mood, keywords=sentiment.keywords(comment),
                                    low_score=low, needs_followup=low or mood == Response.Sentiment.NEGATIVE,
                                    created_at=now)
        updated = Invitation.objects.filter(pk=inv.pk, status=Invitation.Status.SENT).update(
            status=Invitation.Status.ANSWERED, answered_at=now)
        if updated != 1:  # a concurrent submit won (SQLite has no row lock): single use holds
            raise RuleViolation("survey_used", REASONS["used"])
        audit.record(actor=None, verb="surveys.answered", target=inv, after={
            "csat": csat, "nps": nps, "sentiment": mood, "low_score": low, "followup": r.needs_followup})
        if r.needs_followup:
            outbox.publish(TOPIC_FOLLOWUP, {"response_id": r.pk})
    return r


REASONS = {
    "unknown": _("该链接无效。请确认链接完整，或联系您的客户经理。"),
    "used": _("该问卷已经提交过了，感谢您的反馈。每个链接只能提交一次。"),
    "expired": _("该问卷链接已过期。感谢您的关注，如有意见欢迎致电我行客服热线。"),
}


# ---- Closing the loop -----------------------------------------------------------------------------------------------
def supervisor_for(manager: Any) -> int | None:
    """A branch supervisor of the manager's branch, else of the nearest parent branch that has one (active staff,
    never the manager themself)."""
    from bankcrm.org.models import Staff

    if manager is None:
        return None
    branch = manager.branch
    while branch is not None:
        sid = (Staff.objects.filter(branch=branch, is_active=True, role_assignments__role="branch_supervisor")
               .exclude(pk=manager.pk).order_by("staff_no").values_list("pk", flat=True).first())
        if sid is not None:
            return sid
        branch = branch.parent
    return None


def followup_summary(r: Response) -> str:
    parts = []
    if r.csat is not None:
        parts.append(f"满意度 {r.csat}/5")
    if r.nps is not None:
        parts.append(f"推荐意愿 {r.nps}/10")
    if r.sentiment == Response.Sentiment.NEGATIVE:
        parts.append("评语负面")
    text = f"满意度调查反馈（{'，'.join(parts)}）"
    if r.comment:
        text += f"：{r.comment[:200]}"
    return text


def open_feedback_case(**kwargs: Any) -> Any:
    """The adapter to the service app's one entry point (imported here so the apps stay decoupled)."""
    from bankcrm.service import services as service_services

    return service_services.feedback_case_open(**kwargs)


def followup(response_id: int) -> str:
    """Open (idempotently, per source_ref) the feedback case for a low or negative answer, assigned to the
    customer's primary manager's branch supervisor — not the manager. Returns the case reference."""
    from bankcrm.customers.models import ManagerAssignment

    r = Response.objects.select_related("invitation", "invitation__manager", "invitation__manager__branch").get(
        pk=response_id)
    if r.case_ref:
        return r.case_ref
    primary = (ManagerAssignment.objects.filter(customer_id=r.customer_id, role="primary", ended_at__isnull=True)
               .select_related("staff", "staff__branch").first())
    manager = primary.staff if primary else r.invitation.manager
    case = open_feedback_case(customer_id=r.customer_id, summary=followup_summary(r),
                              source_ref=f"survey:{r.invitation_id}", assignee_id=supervisor_for(manager), actor=None)
    ref = str(getattr(case, "number", None) or getattr(case, "pk", None) or case)[:40]
    with transaction.atomic():
        Response.objects.filter(pk=r.pk).update(case_ref=ref)
        audit.record(actor=None, verb="surveys.feedback_case_opened", target=r.invitation,
                     after={"case": ref, "response": r.pk})
    return ref
