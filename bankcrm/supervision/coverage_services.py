"""The regulation's clauses as editable data: install the defaults (``data/clauses.json``), edit a clause (each edit
is a new version; the previous text is kept in ``ClauseRevision``), link it to controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.errors import NotFound, RuleViolation, field_error

from . import controls as registry
from .models import Clause, ClauseControl, ClauseRevision

DATA = Path(__file__).resolve().parent / "data" / "clauses.json"
CLAUSE_FIELDS = ("title", "title_en", "text", "active")


def default_clauses() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text(encoding="utf-8"))["clauses"]


def clauses_install_default(*, actor: Any = None) -> dict[str, int]:
    """Create the clauses of DOMAIN_RULES.md §1 that are missing and the links to their controls that are missing.
    Idempotent; never overwrites a clause compliance has edited. ``actor`` None = setup/demo."""
    if actor is not None:
        access.require(actor, "supervision.clauses")
    created = links = 0
    with transaction.atomic():
        existing = {c.code: c for c in Clause.objects.all()}
        for row in default_clauses():
            clause = existing.get(row["code"])
            if clause is None:
                clause = Clause.objects.create(code=row["code"], title=row["title"], title_en=row.get("title_en", ""),
                                               text=row.get("text", ""), position=row.get("position", 0),
                                               updated_by=actor if getattr(actor, "pk", None) else None)
                created += 1
            have = set(clause.controls.values_list("control", flat=True))
            for code in row.get("controls", []):
                if code not in have:
                    ClauseControl.objects.create(clause=clause, control=code)
                    links += 1
        if created or links:
            audit.record(actor=actor, verb="supervision.clauses_installed", target_type="supervision.Clause",
                         after={"clauses": created, "links": links})
    return {"clauses": created, "links": links}


def clause_save(*, actor: Any, code: str, title: str | None = None, title_en: str | None = None,
                text: str | None = None, active: bool | None = None, controls: list[str] | None = None,
                reason: str = "") -> Clause:
    """Edit a clause (compliance or administrators). A change of wording makes a new version and keeps the previous
    one in ``ClauseRevision``; ``controls`` (codes from the registry) replaces the clause's links."""
    access.require(actor, "supervision.clauses")
    with transaction.atomic():
        clause = Clause.objects.select_for_update().filter(code=code).first()
        if clause is None:
            raise NotFound("clause_not_found", _("条款不存在"))
        before = {k: getattr(clause, k) for k in CLAUSE_FIELDS}
        before_controls = sorted(clause.controls.values_list("control", flat=True))
        new = dict(before)
        if title is not None:
            new["title"] = " ".join(title.split())
            if not new["title"]:
                raise field_error("title_required", "title", _("请填写条款内容"))
            if len(new["title"]) > 200:
                raise field_error("title_too_long", "title", _("最多 200 个字"))
        if title_en is not None:
            new["title_en"] = title_en.strip()[:300]
        if text is not None:
            new["text"] = text.strip()
        if active is not None:
            new["active"] = bool(active)
        wanted = before_controls
        if controls is not None:
            unknown = sorted(set(controls) - set(registry.REGISTRY))
            if unknown:
                raise field_error("control_unknown", "controls", _("未知的控制：%(c)s") % {"c": "、".join(unknown)})
            wanted = sorted(set(controls))
        wording_changed = any(new[k] != before[k] for k in ("title", "title_en", "text"))
        if not wording_changed and new["active"] == before["active"] and wanted == before_controls:
            raise RuleViolation("nothing_changed", _("没有修改任何内容"))
        if wording_changed:
            ClauseRevision.objects.create(clause=clause, version=clause.version, title=clause.title,
                                          title_en=clause.title_en, text=clause.text,
                                          edited_by=clause.updated_by, edited_at=clause.updated_at or timezone.now())
            clause.version += 1
        for k, v in new.items():
            setattr(clause, k, v)
        clause.updated_by = actor
        clause.save()
        if wanted != before_controls:
            clause.controls.exclude(control__in=wanted).delete()
            for c in set(wanted) - set(before_controls):
                ClauseControl.objects.create(clause=clause, control=c)
        b, a = audit.diff({**before, "controls": before_controls}, {**new, "controls": wanted})
        audit.record(actor=actor, verb="supervision.clause_saved", target=clause, before=b,
                     after={**a, "version": clause.version}, reason=(reason or "").strip())
    return clause
