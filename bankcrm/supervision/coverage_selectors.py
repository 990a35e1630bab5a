"""Reads of the coverage matrix: clauses with their controls and the latest figures, a control's run history and its
live exceptions in the actor's scope.

Figures come from the latest completed ``ControlRun`` of each control (bank-wide); the exceptions a viewer can list are
scoped to their branch subtree. Every read needs ``supervision.view``.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from bankcrm.core import access

from . import controls as registry
from . import finding_rules as fr
from .finding_selectors import findings_visible
from .models import Clause, ControlRun, Finding

EXCEPTION_LIMIT = 200
# matrix colours (Bootstrap classes) by tone (finding_rules.tone)
TONE_CSS = {"ok": "text-bg-success", "danger": "text-bg-danger", "warning": "text-bg-warning",
            "notice": "text-bg-info", "manual": "text-bg-light border", "none": "text-bg-light border text-secondary",
            "unknown": "text-bg-light border text-secondary"}
SEVERITY_CSS = {"critical": "text-bg-danger", "high": "text-bg-warning", "medium": "text-bg-info",
                "low": "text-bg-secondary"}


def clauses_visible(actor: Any):
    if not access.can(actor, "supervision.view"):
        return Clause.objects.none()
    return Clause.objects.prefetch_related("controls").order_by("position", "code")


def clause_get(actor: Any, code: str) -> Clause:
    from django.utils.translation import gettext as _

    from bankcrm.core.errors import NotFound

    c = clauses_visible(actor).filter(code=code).first()
    if c is None:
        raise NotFound("clause_not_found", _("条款不存在"))
    return c


def latest_runs(codes: list[str] | None = None) -> dict[str, ControlRun]:
    """The latest completed run of each control (one indexed query per control)."""
    out = {}
    for code in codes if codes is not None else [c.code for c in registry.automated()]:
        run = ControlRun.objects.filter(control=code, status=ControlRun.Status.DONE).order_by("-started_at").first()
        if run is not None:
            out[code] = run
    return out


def control_figures(actor: Any) -> dict[str, dict[str, Any]]:
    """Per control: its definition, latest run, compliance %, matrix text, tone, and the live findings in the viewer's
    scope (three queries plus one per automated control)."""
    runs = latest_runs()
    now = timezone.now()
    oldest = dict(Finding.objects.filter(source=Finding.Source.CONTROL, status__in=fr.LIVE)
                  .values("control").annotate(m=Min("raised_at")).values_list("control", "m"))
    scoped = dict(findings_visible(actor).filter(status__in=fr.LIVE).exclude(control="")
                  .values("control").annotate(n=Count("id")).values_list("control", "n"))
    out = {}
    for code, c in registry.REGISTRY.items():
        run = runs.get(code)
        row: dict[str, Any] = {"control": c, "code": code, "run": run, "automated": c.automated,
                               "scope_open": scoped.get(code, 0), "severity": c.severity}
        if run is not None:
            age = (now - oldest[code]).days if oldest.get(code) else None
            row.update(percent=fr.compliance_percent(run.population, run.exceptions),
                       text=fr.measure_text(str(c.measure_label or c.label), run.population, run.exceptions),
                       tone=fr.tone(c.severity, run.exceptions, age, fr.rectify_days(c.severity)),
                       oldest_days=age)
        else:
            row.update(percent=None, text="", tone="manual" if not c.automated else "none", oldest_days=None)
        row["css"] = TONE_CSS[row["tone"]]
        row["severity_css"] = SEVERITY_CSS[c.severity]
        out[code] = row
    return out


def matrix(actor: Any) -> list[dict[str, Any]]:
    """Every clause with its controls and their figures."""
    figures = control_figures(actor)
    rows = []
    for clause in clauses_visible(actor):
        ctl = [figures.get(cc.control) or {"code": cc.control, "control": None, "automated": False,
                                            "tone": "unknown", "text": "", "run": None,
                                            "css": TONE_CSS["unknown"]}
               for cc in clause.controls.all()]
        worst = min((fr.SEVERITY_RANK.get(r.get("severity", "low"), 9) for r in ctl
                     if r.get("tone") in ("danger", "warning", "notice")), default=None)
        rows.append({"clause": clause, "controls": ctl, "worst": worst,
                     "automated": sum(1 for r in ctl if r.get("automated"))})
    return rows


def chart(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Bar chart data: exceptions by automated control (latest run)."""
    rows = [r for r in figures.values() if r["automated"] and r["run"] is not None]
    rows.sort(key=lambda r: -r["run"].exceptions)
    return {"labels": [str(r["control"].label) for r in rows], "values": [r["run"].exceptions for r in rows],
            "tones": [r["tone"] for r in rows]}


def runs_of(code: str, limit: int = 14) -> list[ControlRun]:
    return list(ControlRun.objects.filter(control=code).select_related("triggered_by").order_by("-started_at")[:limit])


def live_exceptions(actor: Any, control: registry.Control, limit: int = EXCEPTION_LIMIT) -> dict[str, Any]:
    """The control's exceptions now, in the actor's scope (at most ``limit``), each with its live finding if raised."""
    from bankcrm.org.models import Branch, Staff

    if not control.automated or not access.can(actor, "supervision.view"):
        return {"rows": [], "more": False}
    assert control.exceptions is not None
    excs = list(islice(control.exceptions(access.scope_root(actor)), limit + 1))
    more = len(excs) > limit
    excs = excs[:limit]
    findings = {f.key: f for f in findings_visible(actor).filter(key__in=[e.key for e in excs])
                .exclude(status=Finding.Status.CLOSED)}
    branches = dict(Branch.objects.filter(pk__in={e.branch_id for e in excs}).values_list("id", "name"))
    staff = {s["id"]: s for s in Staff.objects.filter(pk__in={e.staff_id for e in excs if e.staff_id})
             .values("id", "staff_no", "name")}
    rows = []
    for e in excs:
        s = staff.get(e.staff_id) if e.staff_id else None
        rows.append({"exc": e, "finding": findings.get(e.key), "branch": branches.get(e.branch_id, ""),
                     "staff": f"{s['staff_no']} {s['name']}" if s else ""})
    return {"rows": rows, "more": more}
