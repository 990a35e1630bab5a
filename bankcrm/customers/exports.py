"""Customer exports to Excel. Masked by default (identity numbers 6+4, mobiles 3+4, names surname + *). An unmasked
export needs the unmask capability, a reason and a second person's approval; the approved file is built at download
time (no personal-data file waits on disk), downloadable once by the requester before it expires, and every sheet
carries who exported it and when."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register
from bankcrm.approvals.services import approval_submit
from bankcrm.core import access, audit, logs, masking
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed

from . import selectors
from .models import Customer, CustomerExport

MAX_MASKED = 50_000
MAX_UNMASKED = 5_000
DOWNLOAD_HOURS = 24
ACTION = "customers.export_unmasked"
COLUMNS = [("customer_no", gettext_lazy("客户号")), ("name", gettext_lazy("姓名/名称")), ("kind", gettext_lazy("客户类型")),
           ("id_type", gettext_lazy("证件类型")), ("id_number", gettext_lazy("证件号码")), ("mobile", gettext_lazy("手机号码")),
           ("email", gettext_lazy("电子邮箱")), ("address", gettext_lazy("联系地址")), ("branch", gettext_lazy("归属机构")),
           ("status", gettext_lazy("状态"))]


def _row(c: Customer, masked: bool) -> list[str]:
    m = masking
    return [c.customer_no, m.mask_name(c.name) if masked else c.name, c.get_kind_display(), c.get_id_type_display(),
            m.mask_id_number(c.id_number) if masked else c.id_number, m.mask_mobile(c.mobile) if masked else c.mobile,
            m.mask_email(c.email) if masked else c.email, m.mask_address(c.address) if masked else c.address,
            c.branch.name, c.get_status_display()]


def _workbook(actor: Any, customers: list[Customer], *, masked: bool, query: str, reason: str = "", export_id: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = str(_("客户"))
    now = timezone.localtime()
    header = [
        (_("导出编号"), f"#{export_id}"), (_("导出人"), f"{actor.staff_no} {actor.name}"), (_("导出时间"), now.strftime("%Y-%m-%d %H:%M:%S")),
        (_("查询条件"), query or _("（全部可见客户）")), (_("脱敏"), _("是") if masked else _("否（已经复核批准）")),
    ]
    if reason:
        header.append((_("事由"), reason))
    for k, v in header:
        ws.append([str(k), ILLEGAL_CHARACTERS_RE.sub("", str(v))])  # the query and reason are typed text: no control characters
    ws.append([str(_("本文件含客户个人信息，仅限本行工作使用，不得外传。"))])
    ws.append([])
    ws.append([str(label) for _f, label in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for c in customers:
        ws.append(_row(c, masked))
    for col, width in zip("ABCDEFGHIJ", (14, 16, 8, 14, 22, 16, 24, 30, 16, 8), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _customers(actor: Any, query: str, limit: int) -> list[Customer]:
    qs = selectors.search(actor, query).select_related("branch").order_by("customer_no")
    rows = list(qs[: limit + 1])
    if len(rows) > limit:
        raise RuleViolation("export_too_large", _("导出结果超过 %(n)d 条，请缩小查询范围") % {"n": limit})
    return rows


def export_masked(*, actor: Any, query: str) -> tuple[CustomerExport, bytes]:
    access.require(actor, "customers.export")
    with transaction.atomic():
        customers = _customers(actor, query, MAX_MASKED)
        exp = CustomerExport.objects.create(requested_by=actor, query=query[:100], masked=True, row_count=len(customers),
                                            status=CustomerExport.Status.DOWNLOADED, downloaded_at=timezone.now())
        data = _workbook(actor, customers, masked=True, query=query, export_id=exp.pk)
        exp.file_name = f"customers-{exp.pk}-masked.xlsx"
        exp.save(update_fields=["file_name"])
        audit.record(actor=actor, verb="customers.exported", target=exp, target_type="customers.CustomerExport",
                     target_repr=f"#{exp.pk}", after={"rows": len(customers), "masked": True, "query": query[:100]})
        logs.access(actor=actor, view="customers.export", subject_type="customers.Customer", subject_ids=[c.pk for c in customers],
                    fields=["name", "id_number", "mobile", "email", "address"], channel="export")
    return exp, data


def export_request_unmasked(*, actor: Any, query: str, reason: str) -> CustomerExport:
    access.require(actor, "customers.export")
    if not access.can(actor, "customers.unmask"):
        raise PermissionDenied("permission_denied", access.denial_reason(actor, "customers.unmask"), capability="customers.unmask")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("完整信息导出必须填写事由"), fields={"reason": [_("请填写事由")]})
    with transaction.atomic():
        customers = _customers(actor, query, MAX_UNMASKED)
        if not customers:
            raise RuleViolation("export_empty", _("没有可导出的客户"))
        exp = CustomerExport.objects.create(requested_by=actor, query=query[:100], masked=False, reason=reason.strip()[:200],
                                            row_count=len(customers))
        approval_submit(actor=actor, action_code=ACTION, target=actor, reason=reason,
                        payload={"export_id": exp.pk, "customer_ids": [c.pk for c in customers], "query": query[:100]},
                        summary=_("完整信息导出：%(n)d 名客户（%(q)s）") % {"n": len(customers), "q": query or _("全部可见客户")})
        audit.record(actor=actor, verb="customers.export_requested", target=exp, target_type="customers.CustomerExport",
                     target_repr=f"#{exp.pk}", after={"rows": len(customers), "masked": False}, reason=reason)
    return exp


def execute_unmasked_export(*, payload: dict, maker: Any, checker: Any) -> dict:
    exp = CustomerExport.objects.select_for_update().filter(pk=payload["export_id"], status=CustomerExport.Status.PENDING).first()
    if exp is None:
        raise RuleViolation("export_not_pending", _("导出申请状态已变化"))
    if not access.can(maker, "customers.unmask") or not maker.may_work_now():
        raise RuleViolation("requester_lost_access", _("申请人已无查看完整信息的权限"))
    exp.status, exp.approved_by = CustomerExport.Status.READY, checker
    exp.expires_at = timezone.now() + timedelta(hours=DOWNLOAD_HOURS)
    exp.save(update_fields=["status", "approved_by", "expires_at"])
    return {"export_id": exp.pk, "expires_at": exp.expires_at.isoformat()}


def export_download(*, actor: Any, export_id: int) -> tuple[CustomerExport, bytes]:
    """The requester downloads an approved unmasked export, once, before it expires."""
    with transaction.atomic():
        exp = CustomerExport.objects.select_for_update().filter(pk=export_id, requested_by=actor).first()
        if exp is None:
            raise NotFound("export_not_found", _("导出文件不存在"))
        if exp.status != CustomerExport.Status.READY:
            raise RuleViolation("export_not_ready", _("该导出当前不可下载（%(s)s）") % {"s": exp.get_status_display()})
        if exp.expires_at and exp.expires_at <= timezone.now():
            exp.status = CustomerExport.Status.EXPIRED
            exp.save(update_fields=["status"])
            raise RuleViolation("export_expired", _("下载期限已过，请重新申请"))
        from bankcrm.approvals.models import PendingAction

        pa = PendingAction.objects.filter(action_code=ACTION, payload__export_id=exp.pk, status="executed").first()
        ids = pa.payload["customer_ids"] if pa else []
        # Still only customers the requester may see now.
        customers = list(selectors.customers_visible(actor).filter(pk__in=ids).select_related("branch").order_by("customer_no"))
        data = _workbook(actor, customers, masked=False, query=exp.query, reason=exp.reason, export_id=exp.pk)
        exp.status, exp.downloaded_at = CustomerExport.Status.DOWNLOADED, timezone.now()
        exp.file_name = f"customers-{exp.pk}.xlsx"
        exp.save(update_fields=["status", "downloaded_at", "file_name"])
        audit.record(actor=actor, verb="customers.export_downloaded", target=exp, target_type="customers.CustomerExport",
                     target_repr=f"#{exp.pk}", after={"rows": len(customers), "masked": False}, reason=exp.reason)
        logs.access(actor=actor, view="customers.export_unmasked", subject_type="customers.Customer",
                    subject_ids=[c.pk for c in customers], fields=["name", "id_number", "mobile", "email", "address"],
                    channel="export", unmasked=True, reason=exp.reason)
    return exp, data


def describe(payload: dict) -> list[tuple[str, str]]:
    return [(_("客户数"), str(len(payload.get("customer_ids", [])))), (_("查询条件"), payload.get("query") or _("全部可见客户"))]


register(ApprovableAction(code=ACTION, label=gettext_lazy("客户完整信息导出"), execute=execute_unmasked_export,
                          checker_capability="customers.export", describe=describe))
