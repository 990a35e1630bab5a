"""Retention (PIPL art. 19 and 47; AML Law 2025 art. 34, DOMAIN_RULES.md §3 and reference/cn_rules.md §2.3): records
past their legal retention period are purged or anonymised by a job that skips anything under an active legal hold,
has a dry-run mode, and leaves an audit event with counts only.

Categories (each against real models; the period is a rule parameter in years):

``customer_identity`` — AML customer identity data, kept ``aml.retention`` (10) years **after the relationship ends**.
    A relationship has ended when the customer is closed or restricted and holds no account that is not closed; it
    ended at the latest of: the customer's last account closure, the end of their last manager assignment, their
    registration. Past the period the customer is **anonymised** (``anonymise_customer``): name, identity number
    (replaced by ``ANON-<customer number>`` so the unique blind index stays unique), birth date, gender, mobile,
    e-mail, address, occupation and profile fields emptied; further contacts and name-search bigrams deleted. The
    row, its customer number and every foreign key (accounts, journal, cases) stay, so nothing breaks.
``closed_customer_contact`` — the non-AML personal data of an ended relationship (e-mail, employer, industry, income
    band, contact preferences, further contacts: what a PIPL deletion request erases, ``customers.dsr.ERASED``), kept
    ``retention.closed_customer_contact`` years after the relationship ends, then emptied.
``survey_responses`` — survey answers older than ``retention.survey_responses`` years: free text (comment, keywords,
    answers) emptied; the CSAT/NPS scores and sentiment stay for statistics.
``access_log`` — the personal-data access log (``core.AccessEvent``) older than ``retention.access_log`` years:
    purged (deleted; the table refuses UPDATE but allows DELETE).
``security_log`` — the security log (``core.SecurityEvent``) older than ``retention.security_log`` years: purged.

Not purged: the **audit trail** (append-only and hash-chained; never purged) and the **ledger** (journal entries and
postings are immutable accounting records under the Accounting Archives Measures, 30 years — longer than the AML
period; they carry no identity data beyond the counterparty fields the trigger protects).

Anonymised records are remembered in ``RetentionDisposal`` so a second run skips them; purged rows are simply gone.
A **legal hold** on a customer covers their record, contacts and survey responses and the access-log rows naming
them; a hold on a member of staff (``org.Staff``) covers their access- and security-log rows; a hold on one record
(``surveys.Response`` 42, ``core.AccessEvent`` 7…) covers that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import CharField, Exists, F, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.params import define

from .models import LegalHold, RetentionDisposal, RetentionRun

define("retention.closed_customer_contact", "years", 1, gettext_lazy("已终止关系客户非必要个人信息保存期限（关系终止后）"),
       "PIPL art. 19, 47")
define("retention.survey_responses", "years", 3, gettext_lazy("满意度调查答卷文本保存期限"), "PIPL art. 19", minimum=1)
define("retention.access_log", "years", 3, gettext_lazy("个人信息访问日志保存期限"), "PIPL art. 55–56", minimum=3)
define("retention.security_log", "years", 3, gettext_lazy("安全日志保存期限"), "Cybersecurity Law art. 21 (≥ 6 months)",
       minimum=1)

BATCH = 500


@dataclass(frozen=True)
class Category:
    code: str
    label: Any
    param: str
    action: str  # anonymise | purge
    what: Any


CATEGORIES = [
    Category("customer_identity", gettext_lazy("客户身份资料（反洗钱）"), "aml.retention", "anonymise",
             gettext_lazy("业务关系终止后满期：匿名化客户身份与联系信息")),
    Category("closed_customer_contact", gettext_lazy("已终止关系客户的非必要信息"), "retention.closed_customer_contact",
             "anonymise", gettext_lazy("业务关系终止后满期：清除邮箱、单位、收入、偏好与其他联系方式")),
    Category("survey_responses", gettext_lazy("满意度调查答卷"), "retention.survey_responses", "anonymise",
             gettext_lazy("答卷满期：清除文字意见与关键词，保留评分")),
    Category("access_log", gettext_lazy("个人信息访问日志"), "retention.access_log", "purge",
             gettext_lazy("满期删除")),
    Category("security_log", gettext_lazy("安全日志"), "retention.security_log", "purge", gettext_lazy("满期删除")),
]
CATEGORY_CODES = [c.code for c in CATEGORIES]

CUSTOMER_ERASED = {"email": "", "industry": "", "employer": "", "income_band": "", "preferred_channel": "",
                   "preferred_contact_time": "", "language": ""}


# ---- Legal holds ---------------------------------------------------------------------------------------------------
@dataclass
class Holds:
    customers: set[int]
    staff: set[int]
    records: set[tuple[str, str]]


def active_holds() -> Holds:
    h = Holds(set(), set(), set())
    for cid, ttype, tid in LegalHold.objects.filter(released_at__isnull=True).values_list("customer_id", "target_type",
                                                                                          "target_id"):
        if cid:
            h.customers.add(cid)
        if ttype == "customers.Customer" and tid.isdigit():
            h.customers.add(int(tid))
        elif ttype == "org.Staff" and tid.isdigit():
            h.staff.add(int(tid))
        elif ttype:
            h.records.add((ttype, tid))
    return h


def hold_place(*, actor: Any, reason: str, customer_id: int | None = None, target_type: str = "",
               target_id: str = "") -> LegalHold:
    access.require(actor, "supervision.legal_hold")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("请填写保全原因"), fields={"reason": [_("必填")]})
    target_type, target_id = (target_type or "").strip(), str(target_id or "").strip()
    if not customer_id and not (target_type and target_id):
        raise ValidationFailed("hold_target_required", _("请指定客户或保全对象"),
                               fields={"customer_no": [_("请填写客户号，或填写对象类型与编号")]})
    if target_type and target_type not in HOLD_TYPES:
        raise ValidationFailed("hold_type_invalid", _("不支持的对象类型"), fields={"target_type": [_("无效的选项")]})
    with transaction.atomic():
        customer = None
        if customer_id:
            from bankcrm.customers.selectors import customer_get

            customer = customer_get(actor, customer_id)
        hold = LegalHold.objects.create(customer=customer, target_type=target_type, target_id=target_id,
                                        reason=reason[:300], placed_by=actor, placed_at=timezone.now())
        audit.record(actor=actor, verb="supervision.legal_hold_placed", target=hold,
                     after={"customer": customer.customer_no if customer else "", "target_type": target_type,
                            "target_id": target_id}, reason=reason)
    return hold


HOLD_TYPES = {"customers.Customer": gettext_lazy("客户"), "org.Staff": gettext_lazy("员工"),
              "surveys.Response": gettext_lazy("调查答卷"), "core.AccessEvent": gettext_lazy("访问日志记录"),
              "core.SecurityEvent": gettext_lazy("安全日志记录")}


def hold_release(*, actor: Any, hold_id: int, reason: str) -> LegalHold:
    access.require(actor, "supervision.legal_hold")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("请填写解除原因"), fields={"release_reason": [_("必填")]})
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().filter(pk=hold_id).first()
        if hold is None:
            raise NotFound("hold_not_found", _("法律保全不存在"))
        if hold.released_at:
            raise RuleViolation("hold_released", _("该法律保全已解除"))
        hold.released_by, hold.released_at, hold.release_reason = actor, timezone.now(), reason[:300]
        hold.save(update_fields=["released_by", "released_at", "release_reason"])
        audit.record(actor=actor, verb="supervision.legal_hold_released", target=hold, reason=reason,
                     after={"released_at": hold.released_at})
    return hold


# ---- Anonymisation ----------------------------------------------------------------------------------------------------
def anonymise_customer(customer: Any) -> None:
    """Replace or empty every personal field of a customer whose AML retention has ended. The customer number, the
    row and all foreign keys stay; the identity number becomes ``ANON-<customer number>`` (its blind index is unique).
    Further contacts and the name-search bigrams are deleted."""
    from bankcrm.customers.models import ContactPoint, NameBigram

    c = customer
    c.name, c.name_pinyin, c.name_initials = str(_("（已匿名）")), "", ""
    c.id_number, c.id_expires_on, c.gender, c.birth_date = f"ANON-{c.customer_no}", None, "", None
    c.mobile, c.mobile_last4, c.address, c.occupation, c.legal_representative = "", "", "", "", ""
    for field, value in CUSTOMER_ERASED.items():
        setattr(c, field, value)
    fields = ["name", "name_pinyin", "name_initials", "id_number", "id_number_bidx", "id_expires_on", "gender",
              "birth_date", "mobile", "mobile_bidx", "mobile_last4", "address", "occupation", "legal_representative",
              *CUSTOMER_ERASED, "updated_at"]
    c.save(update_fields=fields)
    ContactPoint.objects.filter(customer=c).delete()
    NameBigram.objects.filter(customer=c).delete()


def erase_customer_contact(customer: Any) -> None:
    """Empty the non-AML personal data of an ended relationship (what a PIPL deletion erases)."""
    from bankcrm.customers.models import ContactPoint

    for field, value in CUSTOMER_ERASED.items():
        setattr(customer, field, value)
    customer.save(update_fields=[*CUSTOMER_ERASED, "updated_at"])
    ContactPoint.objects.filter(customer=customer).delete()


def anonymise_response(response: Any) -> None:
    """Empty a survey response's free text; the scores stay for statistics."""
    type(response).objects.filter(pk=response.pk).update(comment="", keywords=[], answers={})


# ---- Eligibility ------------------------------------------------------------------------------------------------------
def cutoff(category: Category, now: datetime) -> datetime:
    return now - relativedelta(years=params.value(category.param, at=now))


def ended_customers():
    """Customers whose relationship has ended, annotated with ``ended_at`` (see the module docstring)."""
    from bankcrm.customers.models import Customer, ManagerAssignment
    from bankcrm.ledger.models import Account

    last_close = Subquery(Account.objects.filter(customer=OuterRef("pk")).values("customer")
                          .annotate(m=Max("closed_at")).values("m")[:1])
    last_assignment = Subquery(ManagerAssignment.objects.filter(customer=OuterRef("pk")).values("customer")
                               .annotate(m=Max("ended_at")).values("m")[:1])
    open_account = Account.objects.filter(customer=OuterRef("pk")).exclude(status=Account.Status.CLOSED)
    return (Customer.objects.filter(status__in=[Customer.Status.CLOSED, Customer.Status.RESTRICTED])
            .exclude(Exists(open_account))
            .annotate(ended_at=Greatest(Coalesce(last_close, F("created_at")), Coalesce(last_assignment,
                                                                                        F("created_at")))))


def _candidates(category: Category, now: datetime):
    """The queryset of records past their period and not yet handled (holds are applied afterwards)."""
    from django.db.models.functions import Cast

    from bankcrm.core.models import AccessEvent, SecurityEvent
    from bankcrm.surveys.models import Response

    limit = cutoff(category, now)
    if category.code in ("customer_identity", "closed_customer_contact"):
        done = RetentionDisposal.objects.filter(category__in=["customer_identity", category.code],
                                                target_type="customers.Customer",
                                                target_id=Cast(OuterRef("pk"), output_field=CharField()))
        return ended_customers().filter(ended_at__lt=limit).exclude(Exists(done)).order_by("pk")
    if category.code == "survey_responses":
        done = RetentionDisposal.objects.filter(category=category.code, target_type="surveys.Response",
                                                target_id=Cast(OuterRef("pk"), output_field=CharField()))
        return Response.objects.filter(created_at__lt=limit).exclude(Exists(done)).order_by("pk")
    if category.code == "access_log":
        return AccessEvent.objects.filter(occurred_at__lt=limit).order_by("pk")
    if category.code == "security_log":
        return SecurityEvent.objects.filter(occurred_at__lt=limit).order_by("pk")
    raise KeyError(category.code)


def _held(category: Category, obj: Any, holds: Holds) -> bool:
    code = category.code
    if code in ("customer_identity", "closed_customer_contact"):
        return obj.pk in holds.customers
    if code == "survey_responses":
        return obj.customer_id in holds.customers or ("surveys.Response", str(obj.pk)) in holds.records
    if code == "access_log":
        if obj.actor_id in holds.staff or ("core.AccessEvent", str(obj.pk)) in holds.records:
            return True
        return obj.subject_type == "customers.Customer" and any(
            str(i).isdigit() and int(i) in holds.customers for i in obj.subject_ids)
    if code == "security_log":
        return obj.actor_id in holds.staff or ("core.SecurityEvent", str(obj.pk)) in holds.records
    return False


def _dispose(category: Category, objs: list[Any], run: RetentionRun, now: datetime) -> int:
    if category.code == "customer_identity":
        for c in objs:
            anonymise_customer(c)
    elif category.code == "closed_customer_contact":
        for c in objs:
            erase_customer_contact(c)
    elif category.code == "survey_responses":
        for r in objs:
            anonymise_response(r)
    else:
        type(objs[0]).objects.filter(pk__in=[o.pk for o in objs]).delete()
        return len(objs)
    target_type = "customers.Customer" if category.code != "survey_responses" else "surveys.Response"
    RetentionDisposal.objects.bulk_create([RetentionDisposal(run=run, category=category.code, target_type=target_type,
                                                             target_id=str(o.pk), at=now) for o in objs])
    return len(objs)


# ---- The job ------------------------------------------------------------------------------------------------------------
def retention_run(*, actor: Any = None, dry_run: bool = True, now: datetime | None = None,
                  categories: list[str] | None = None) -> RetentionRun:
    """Find what is past its period in each category, skip what a legal hold covers, and (unless ``dry_run``)
    anonymise or purge the rest, in batches (each its own transaction: a crash is resumed by the next run). The run
    and one audit event record the counts per category: eligible, held, done."""
    if actor is not None:
        access.require(actor, "supervision.retention_run")
    now = now or timezone.now()
    with transaction.atomic():
        run = RetentionRun.objects.create(started_at=now, dry_run=dry_run, triggered_by=actor)
    holds = active_holds()
    counts: dict[str, dict[str, int]] = {}
    try:
        for cat in CATEGORIES:
            if categories and cat.code not in categories:
                continue
            eligible = held = done = 0
            last_pk = 0
            while True:
                batch = list(_candidates(cat, now).filter(pk__gt=last_pk)[:BATCH])
                if not batch:
                    break
                last_pk = batch[-1].pk
                keep = [o for o in batch if not _held(cat, o, holds)]
                eligible += len(batch)
                held += len(batch) - len(keep)
                if keep and not dry_run:
                    with transaction.atomic():
                        done += _dispose(cat, keep, run, now)
            counts[cat.code] = {"eligible": eligible, "held": held, "done": done,
                                "would": eligible - held if dry_run else 0}
    except Exception as exc:
        RetentionRun.objects.filter(pk=run.pk).update(status=RetentionRun.Status.FAILED, error=str(exc)[:2000],
                                                      counts=counts, finished_at=timezone.now())
        raise
    with transaction.atomic():
        run.status, run.counts, run.finished_at = RetentionRun.Status.DONE, counts, timezone.now()
        run.save(update_fields=["status", "counts", "finished_at"])
        audit.record(actor=actor, verb="supervision.retention_run", target=run, target_repr=f"#{run.pk}",
                     after={"dry_run": dry_run, "counts": counts})
    return run


def nightly() -> RetentionRun:
    """The scheduled job: a real run (the page offers dry runs on demand)."""
    return retention_run(actor=None, dry_run=False)


def runs_visible(actor: Any):
    if not access.can(actor, "supervision.retention"):
        return RetentionRun.objects.none()
    return RetentionRun.objects.select_related("triggered_by")


def holds_visible(actor: Any):
    if not access.can(actor, "supervision.retention"):
        return LegalHold.objects.none()
    return LegalHold.objects.select_related("customer", "placed_by", "released_by")
