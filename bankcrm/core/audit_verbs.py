from django.utils.translation import gettext_lazy as _

from .audit import register_verbs

register_verbs({
    "core.parameter_set": _("修改规则参数"),
    "core.calendar_day_set": _("设置工作日历"),
    "core.calendar_day_deleted": _("删除工作日历"),
    "core.calendar_imported": _("导入工作日历"),
    "core.audit_verified": _("校验审计链"),
    "core.audit_exported": _("导出审计日志"),
    "core.personal_data_unmasked": _("查看完整个人信息"),
    "core.keys_rotated": _("轮换加密密钥"),
})
