"""State changes owned by core: rule parameters and the working-day calendar."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access, audit, params
from .errors import RuleViolation, ValidationFailed
from .models import CalendarDay, ParameterVersion


def parameter_set(*, actor: Any, code: str, value: Any, effective_from: datetime | None, reason: str) -> ParameterVersion:
    """Record a new value of a rule parameter, in force from ``effective_from`` (default: now). History is kept;
    a past instant cannot be rewritten, so decisions already taken keep the value they were taken under."""
    access.require(actor, "core.manage_parameters")
    try:
        params.definition(code)
    except KeyError:
        raise ValidationFailed("unknown_parameter", _("不存在的规则参数")) from None
    val = params.validate_value(code, value)
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("修改规则参数必须填写理由"), fields={"reason": [_("请填写理由")]})
    now = timezone.now()
    effective_from = effective_from or now
    if effective_from < now - timezone.timedelta(minutes=1):
        raise RuleViolation("parameter_retroactive", _("生效时间不能早于当前时间（不允许追溯修改）"))
    with transaction.atomic():
        before = params.value(code, effective_from)
        if ParameterVersion.objects.filter(code=code, effective_from=effective_from).exists():
            raise RuleViolation("parameter_version_exists", _("该生效时间已有参数版本"))
        pv = ParameterVersion.objects.create(code=code, value=val, effective_from=effective_from, reason=reason,
                                             created_by=actor)
        audit.record(actor=actor, verb="core.parameter_set", target=pv, target_repr=code,
                     before={"value": before}, after={"value": val, "effective_from": effective_from}, reason=reason)
    return pv


def calendar_day_set(*, actor: Any, day: date, kind: str, name: str) -> CalendarDay:
    access.require(actor, "core.manage_calendar")
    if kind not in CalendarDay.Kind.values:
        raise ValidationFailed("calendar_kind_invalid", _("日期类型只能是节假日或调休上班"), fields={"kind": [_("无效类型")]})
    if not (name or "").strip():
        raise ValidationFailed("calendar_name_required", _("请填写节日名称"), fields={"name": [_("必填")]})
    if kind == CalendarDay.Kind.WORKDAY and day.weekday() < 5:
        raise ValidationFailed("calendar_workday_on_weekday", _("调休上班日应为周末"), fields={"date": [_("调休上班日应为周六或周日")]})
    with transaction.atomic():
        existing = CalendarDay.objects.select_for_update().filter(date=day).first()
        before = audit.snapshot(existing, ["kind", "name"]) if existing else {}
        obj, _created = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name.strip()})
        audit.record(actor=actor, verb="core.calendar_day_set", target=obj, target_repr=day.isoformat(),
                     before=before, after=audit.snapshot(obj, ["kind", "name"]))
    return obj


def calendar_day_delete(*, actor: Any, day: date) -> None:
    access.require(actor, "core.manage_calendar")
    with transaction.atomic():
        obj = CalendarDay.objects.select_for_update().filter(date=day).first()
        if obj is None:
            raise ValidationFailed("calendar_day_missing", _("该日期没有特殊安排"))
        before = audit.snapshot(obj, ["kind", "name"])
        audit.record(actor=actor, verb="core.calendar_day_deleted", target=obj, target_repr=day.isoformat(), before=before)
        obj.delete()


KIND_ALIASES = {"holiday": "holiday", "节假日": "holiday", "放假": "holiday", "休": "holiday",
                "workday": "workday", "调休": "workday", "上班": "workday", "班": "workday"}


def calendar_import_csv(*, actor: Any, data: bytes) -> dict[str, Any]:
    """Import ``date,kind,name`` rows (UTF-8 or GBK). All-or-nothing: any bad row rejects the file with every
    error listed by row number; a re-import of the same file changes nothing."""
    access.require(actor, "core.manage_calendar")
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None or not text.strip():
        raise ValidationFailed("import_empty", _("文件为空或编码无法识别（支持 UTF-8 与 GBK）"))
    rows, errors = [], []
    reader = csv.reader(io.StringIO(text))
    for lineno, row in enumerate(reader, start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if lineno == 1 and row[0].strip().lower() in ("date", "日期"):
            continue
        if len(row) < 3:
            errors.append({"row": lineno, "reason": _("应有3列：日期,类型,名称")})
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            errors.append({"row": lineno, "reason": _("日期格式应为 YYYY-MM-DD")})
            continue
        kind = KIND_ALIASES.get(row[1].strip().lower())
        if kind is None:
            errors.append({"row": lineno, "reason": _("类型应为 holiday/节假日 或 workday/调休")})
            continue
        if kind == "workday" and day.weekday() < 5:
            errors.append({"row": lineno, "reason": _("调休上班日应为周末")})
            continue
        rows.append((day, kind, row[2].strip() or kind))
    if errors:
        raise ValidationFailed("import_rows_invalid", _("文件中有 %(n)d 行错误，未导入任何数据") % {"n": len(errors)},
                               rows=errors)
    created = updated = unchanged = 0
    with transaction.atomic():
        for day, kind, name in rows:
            obj = CalendarDay.objects.filter(date=day).first()
            if obj and obj.kind == kind and obj.name == name:
                unchanged += 1
                continue
            if obj:
                updated += 1
            else:
                created += 1
            CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name})
        audit.record(actor=actor, verb="core.calendar_imported", target_type="core.CalendarDay",
                     after={"created": created, "updated": updated, "unchanged": unchanged, "rows": len(rows)})
    return {"created": created, "updated": updated, "unchanged": unchanged}
