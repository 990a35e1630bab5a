"""The rating's approvable action: lowering a HIGH rating (or a manual level below the model's) waits for a risk
manager other than the maker (approvals checks maker ≠ checker and the checker's capability)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register

from . import rating
from .models import AmlLevel, RiskRating


def describe(payload: dict[str, Any]) -> list[tuple[str, str]]:
    labels = dict(AmlLevel.choices)
    r = RiskRating.objects.filter(pk=payload.get("rating_id")).first()
    rows = [(_("客户"), rating._customer_repr(payload.get("customer_id"))),
            (_("现有等级"), str(labels.get(payload.get("from_level"), "—"))),
            (_("拟调整为"), str(labels.get(payload.get("level"), "—"))),
            (_("模型等级"), str(labels.get(payload.get("computed_level"), "—")))]
    if r is not None:
        rows += [(_("模型得分"), str(r.score)), (_("评级理由"), r.rationale)]
    return rows


register(ApprovableAction(rating.APPROVAL_ACTION, gettext_lazy("下调洗钱风险等级审批"), rating.execute_lowering,
                          checker_capability="risk.approve_rating", describe=describe, wants_pending_id=True))
