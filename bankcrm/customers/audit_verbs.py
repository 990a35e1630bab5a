from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "customers.registered": _("登记客户"),
    "customers.updated": _("修改客户信息"),
    "customers.verified": _("核实客户信息"),
    "customers.manager_assigned": _("分配客户经理"),
    "customers.manager_removed": _("移除协办客户经理"),
    "customers.consent_granted": _("登记客户授权"),
    "customers.consent_withdrawn": _("撤回客户授权"),
    "customers.field_revealed": _("查看客户完整信息"),
    "customers.dsr_opened": _("受理个人信息主体请求"),
    "customers.dsr_exported": _("导出个人信息副本"),
    "customers.dsr_completed": _("完成个人信息主体请求"),
    "customers.dsr_erased": _("删除个人信息（保留反洗钱必需资料并限制处理）"),
    "customers.exported": _("导出客户（脱敏）"),
    "customers.export_requested": _("申请完整信息导出"),
    "customers.export_downloaded": _("下载完整信息导出"),
    "customers.contact_added": _("增加客户联系方式"),
    "customers.contact_ended": _("停用客户联系方式"),
    "customers.relationship_added": _("登记客户关系"),
    "customers.relationship_ended": _("解除客户关系"),
    "customers.handover_opened": _("发起客户移交"),
    "customers.handover_successor_set": _("指定接手客户经理"),
    "customers.handover_submitted": _("提交客户移交复核"),
    "customers.handover_cancelled": _("取消客户移交"),
    "customers.handover_executed": _("完成客户移交"),
})
