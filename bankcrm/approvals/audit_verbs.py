from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "approvals.submitted": _("提交复核"),
    "approvals.approved": _("复核通过并执行"),
    "approvals.execution_failed": _("复核通过但执行失败"),
    "approvals.rejected": _("复核拒绝"),
    "approvals.cancelled": _("撤回复核"),
    "approvals.expired": _("复核超时"),
})
