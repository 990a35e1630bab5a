"""Demo data of management reports: two scheduled reports, each run once so that files exist to download — the
compliance manager's monthly Excel of branch performance across the bank, and the Beijing branch supervisor's
weekly PDF of complaints for their branch."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from bankcrm.core.demo import SeedContext, register

from . import schedule_services as services


def _staff(staff_no: str) -> Any:
    from bankcrm.org.models import Staff

    return Staff.objects.select_related("branch").filter(staff_no=staff_no, is_active=True).first()


def run(ctx: SeedContext) -> None:
    plans = [("CO001", "全行分支机构经营月报", "branch_performance", "monthly", "xlsx", False),
             ("SV101", "本分行投诉周报", "complaints", "weekly", "pdf", True)]
    done = []
    for staff_no, name, report, frequency, fmt, own_branch in plans:
        owner = _staff(staff_no)
        if owner is None:
            ctx.out(f"reports: {staff_no} not found, schedule '{name}' skipped")
            continue
        with transaction.atomic():
            s = services.schedule_create(actor=owner, name=name, report=report, frequency=frequency, file_format=fmt,
                                         branch=owner.branch.path if own_branch else "")
            r = services.schedule_run(actor=owner, schedule_id=s.pk)
        done.append(f"{owner.staff_no}「{name}」{r.period} {r.status}")
    ctx.out("reports: 定时报表 " + "；".join(done) + "（管理报表 → 定时报表 下载）")


register("reports", 72, run)  # after supervision (59–64) and partners (70)
