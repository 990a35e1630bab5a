"""Org's approvable actions, registered with the approvals app at start-up."""

from django.utils.translation import gettext_lazy as _

from bankcrm.approvals.registry import ApprovableAction, register

from .services import GRANT_ACTION, execute_privileged_grant

register(ApprovableAction(code=GRANT_ACTION, label=_("授予特权角色"), execute=execute_privileged_grant,
                          checker_capability="org.manage_staff"))
