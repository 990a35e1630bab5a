"""Regulatory report files: the large-value transaction report (one file per business date, from that day's
large-value alerts) and the suspicious transaction report (one per escalated case, then follow-ups every few
months while the activity continues). Format and fields: docs/adr/0011-aml-monitoring-and-reports.md.

The files carry full identity data (the regulator needs it), so they are stored encrypted and every download is
audited and logged as a personal-data access.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, logs, params, sequences
from bankcrm.core.errors import NotFound, RuleViolation
from bankcrm.core.money import format_amount
from bankcrm.ledger.rules import add_months

from . import selectors
from .alerting import alerts_left_open
from .models import Alert, Case, RegulatoryReport

FORMAT_VERSION = "bankcrm-aml-1"
CATEGORY = {"0501": "cash", "0502": "transfer", "0503": "transfer", "0504": "transfer"}


def _sub(parent: ET.Element, tag: str, value: Any = None, **attrs: Any) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if value is not None:
        el.text = str(value)
    return el


def _customer(parent: ET.Element, c: Any) -> None:
    el = _sub(parent, "Customer", no=c.customer_no, kind=c.kind)
    _sub(el, "Name", c.name)
    _sub(el, "IdType", c.id_type)
    _sub(el, "IdNumber", c.id_number)
    _sub(el, "Nationality", c.nationality)
    if c.kind == "person":
        _sub(el, "Occupation", c.occupation)
    else:
        _sub(el, "Industry", c.industry)
        _sub(el, "LegalRepresentative", c.legal_representative)


def _transactions(parent: ET.Element, entries: list[Any], customer_id: int) -> None:
    for e in entries:
        mine_debit = e.debit_account.customer_id == customer_id
        own, other = (e.debit_account, e.credit_account) if mine_debit else (e.credit_account, e.debit_account)
        t = _sub(parent, "Transaction", no=e.txn_no)
        _sub(t, "Time", timezone.localtime(e.posted_at).isoformat(timespec="seconds"))
        _sub(t, "Kind", e.kind)
        _sub(t, "Direction", "out" if mine_debit else "in")
        _sub(t, "Currency", e.currency)
        _sub(t, "Amount", format_amount(e.amount_fen).replace(",", ""))
        _sub(t, "Account", own.number)
        _sub(t, "Channel", e.channel)
        _sub(t, "CrossBorder", "1" if e.cross_border else "0")
        cp = _sub(t, "Counterparty")
        if other.kind == "customer":
            _sub(cp, "Name", other.title)
            _sub(cp, "Account", other.number)
            _sub(cp, "Bank", str(_("本行")))
        elif other.internal_code == "cash":
            _sub(cp, "Name", str(_("现金")))
        else:
            _sub(cp, "Name", e.counterparty_name)
            _sub(cp, "Account", e.counterparty_account)
            _sub(cp, "Bank", e.counterparty_bank)
            _sub(cp, "Country", e.counterparty_country)


def _header(kind: str, number: str, actor: Any) -> ET.Element:
    root = ET.Element("AmlReport", {"format": FORMAT_VERSION, "kind": kind, "number": number})
    inst = _sub(root, "Institution")
    _sub(inst, "Name", getattr(settings, "BANK_NAME", "bankcrm"))
    _sub(inst, "Branch", actor.branch.label if getattr(actor, "branch", None) else "")
    _sub(root, "GeneratedAt", timezone.localtime().isoformat(timespec="seconds"))
    _sub(root, "GeneratedBy", f"{actor.staff_no} {actor.name}")
    return root


def _store(*, actor: Any, kind: str, number: str, root: ET.Element, records: int, **fields: Any) -> RegulatoryReport:
    content = ET.tostring(root, encoding="unicode", xml_declaration=False)
    content = '<?xml version="1.0" encoding="UTF-8"?>\n' + content
    report = RegulatoryReport.objects.create(
        number=number, kind=kind, records=records, content=content,
        sha256=hashlib.sha256(content.encode()).hexdigest(), generated_by=actor, generated_at=timezone.now(),
        **fields)
    return report


def _entries(ids: set[int]) -> dict[int, Any]:
    from bankcrm.ledger.models import JournalEntry

    return {e.pk: e for e in JournalEntry.objects.filter(pk__in=ids).select_related("debit_account", "credit_account")}


def large_report_generate(*, actor: Any, day: date) -> RegulatoryReport:
    """The large-value report for ``day``: every large-value alert of that day not yet reported, per customer and
    rule, with its transactions. The alerts become "reported"."""
    access.require(actor, "risk.report")
    with transaction.atomic():
        alerts = list(selectors.alerts_visible(actor).select_for_update().filter(
            report_kind="large", business_date=day, report__isnull=True,
            status__in=Alert.OPEN_STATUSES).order_by("customer_id", "rule_code", "id"))
        if not alerts:
            raise RuleViolation("nothing_to_report", _("%(d)s 没有待报告的大额交易") % {"d": day})
        alerts_by_pk = {a.pk: a for a in Alert.objects.filter(pk__in=[a.pk for a in alerts]).select_related("customer")}
        number = f"BH{day:%Y%m%d}{sequences.next_value('risk.report'):04d}"
        root = _header("large", number, actor)
        _sub(root, "BusinessDate", day.isoformat())
        entries = _entries({i for a in alerts for i in a.entry_ids})
        body = _sub(root, "Records")
        for a in (alerts_by_pk[x.pk] for x in alerts):
            rec = _sub(body, "Record", alert=f"A{a.pk}", rule=a.rule_code, category=CATEGORY.get(a.rule_code, ""),
                       direction=a.direction, currencyGroup=a.currency_group)
            _sub(rec, "Total", format_amount(a.total_minor).replace(",", ""))
            _sub(rec, "Threshold", format_amount(a.threshold_minor).replace(",", ""))
            _customer(rec, a.customer)
            _transactions(rec, [entries[i] for i in a.entry_ids if i in entries], a.customer_id)
        due = min((a.due_on for a in alerts if a.due_on), default=None)
        report = _store(actor=actor, kind="large", number=number, root=root, records=len(alerts), business_date=day,
                        due_on=due)
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(report=report, status=Alert.Status.REPORTED)
        alerts_left_open(a.customer_id for a in alerts)
        audit.record(actor=actor, verb="risk.report_generated", target_type="risk.RegulatoryReport",
                     target_id=report.pk, target_repr=number,
                     after={"kind": "large", "business_date": day, "records": len(alerts), "sha256": report.sha256})
    return report


def suspicious_report_generate(*, actor: Any, case_id: Any) -> RegulatoryReport:
    """The suspicious transaction report of an escalated case (or the next follow-up report of a reported one)."""
    access.require(actor, "risk.report")
    with transaction.atomic():
        case = selectors.cases_visible(actor).select_for_update().filter(pk=case_id).first() \
            if str(case_id).isdigit() else None
        if case is None:
            raise NotFound("case_not_found", _("案件不存在或无权查看"))
        if case.status not in (Case.Status.ESCALATED, Case.Status.REPORTED):
            raise RuleViolation("case_not_escalated", _("案件尚未确认可疑并上报合规，不能生成可疑交易报告"))
        followup = case.reports.filter(kind="suspicious").count()
        number = f"BS{timezone.localdate():%Y%m%d}{sequences.next_value('risk.report'):04d}"
        root = _header("suspicious", number, actor)
        _sub(root, "Case", case.number, followup=followup)
        _sub(root, "ConfirmedAt", timezone.localtime(case.confirmed_at).isoformat(timespec="seconds"))
        _sub(root, "Reason", case.decision_reason)
        people = _sub(root, "Subjects")
        _customer(people, case.customer)
        for other in case.related_customers.all():
            _customer(people, other)
        alerts = list(case.alerts.select_related("customer").order_by("id"))
        entries = _entries({i for a in alerts for i in a.entry_ids})
        body = _sub(root, "Indicators")
        for a in alerts:
            ind = _sub(body, "Indicator", alert=f"A{a.pk}", rule=a.rule_code, date=a.business_date.isoformat())
            for k, v in sorted(a.figures.items()):
                _sub(ind, "Figure", v, name=k)
            _transactions(ind, [entries[i] for i in a.entry_ids if i in entries], a.customer_id)
        today = timezone.localdate()
        report = _store(actor=actor, kind="suspicious", number=number, root=root, records=len(alerts), case=case,
                        followup_no=followup, due_on=case.report_due_on if followup == 0 else case.next_followup_on)
        if followup:
            case.next_followup_on = add_months(today, params.value("aml.suspicious_followup"))
        case.status = Case.Status.REPORTED
        case.save(update_fields=["status", "next_followup_on"])
        # The case's suspicious-kind alerts are now reported; its large-value alerts still go into their day's
        # large-value report (a different report with its own deadline).
        reported = case.alerts.exclude(status=Alert.Status.REPORTED).exclude(report_kind="large")
        alerts_left_open(reported.filter(status__in=Alert.OPEN_STATUSES).values_list("customer_id", flat=True))
        reported.update(status=Alert.Status.REPORTED, report=report)
        audit.record(actor=actor, verb="risk.report_generated", target_type="risk.RegulatoryReport",
                     target_id=report.pk, target_repr=number,
                     after={"kind": "suspicious", "case": case.number, "followup": followup, "sha256": report.sha256})
    return report


def report_submit(*, actor: Any, report_id: Any) -> RegulatoryReport:
    """Record that the file was submitted to the regulator's system (it is uploaded there by hand)."""
    access.require(actor, "risk.report")
    with transaction.atomic():
        report = selectors.reports_visible(actor).select_for_update().filter(pk=report_id).first() \
            if str(report_id).isdigit() else None
        if report is None:
            raise NotFound("report_not_found", _("报告不存在"))
        if report.status == RegulatoryReport.Status.SUBMITTED:
            raise RuleViolation("report_already_submitted", _("该报告已登记报送"))
        report.status, report.submitted_at, report.submitted_by = (
            RegulatoryReport.Status.SUBMITTED, timezone.now(), actor)
        report.save(update_fields=["status", "submitted_at", "submitted_by"])
        audit.record(actor=actor, verb="risk.report_submitted", target_type="risk.RegulatoryReport",
                     target_id=report.pk, target_repr=report.number, after={"status": report.status})
    return report


def report_download(*, actor: Any, report_id: Any) -> RegulatoryReport:
    """The report for download: audited, and logged as an access to the customers it names."""
    access.require(actor, "risk.report")
    with transaction.atomic():
        report = selectors.reports_visible(actor).filter(pk=report_id).first() if str(report_id).isdigit() else None
        if report is None:
            raise NotFound("report_not_found", _("报告不存在"))
        customers = set(report.alerts.values_list("customer_id", flat=True))
        if report.case_id:
            customers |= {report.case.customer_id}
        audit.record(actor=actor, verb="risk.report_downloaded", target_type="risk.RegulatoryReport",
                     target_id=report.pk, target_repr=report.number, after={"sha256": report.sha256})
        logs.access(actor=actor, view="risk.report_download", subject_type="customers.Customer",
                    subject_ids=sorted(customers), fields=["name", "id_number", "account_number", "transactions"])
    return report
