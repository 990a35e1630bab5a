from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "surveys.template_saved": _("保存调查模板"),
    "surveys.campaign_saved": _("保存调查活动"),
    "surveys.campaign_run": _("调查活动抽样"),
    "surveys.invitations_planned": _("生成调查邀请"),
    "surveys.invitations_sent": _("发送调查邀请"),
    "surveys.invitations_expired": _("调查邀请过期"),
    "surveys.answered": _("客户提交满意度答卷"),
    "surveys.feedback_case_opened": _("满意度低分转反馈案件"),
})
