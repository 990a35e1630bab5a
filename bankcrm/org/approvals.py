"""Org's approvable actions, registered with the approvals app at start-up."""

from django.utils.translation import gettext_lazy as _

from bankcrm.approvals.registry import ApprovableAction, register
from bankcrm.core.access import ROLE_LABELS, Role

from .models import Staff
from .services import GRANT_ACTION, execute_privileged_grant


def describe_grant(payload: dict) -> list[tuple[str, str]]:
    staff = Staff.objects.filter(pk=payload.get("staff_id")).select_related("branch").first()
    who = f"{staff.name}（{staff.staff_no}）· {staff.branch.name} · {staff.employment_label}" if staff else str(payload.get("staff_id"))
    return [(str(_("员工")), who), (str(_("授予角色")), str(ROLE_LABELS.get(Role(payload.get("role")), payload.get("role"))))]


register(ApprovableAction(code=GRANT_ACTION, label=_("授予特权角色"), execute=execute_privileged_grant,
                          checker_capability="org.manage_staff", describe=describe_grant))
