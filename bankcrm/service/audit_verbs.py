from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "service.request_registered": _("登记服务请求"),
    "service.request_responded": _("响应服务请求"),
    "service.request_assigned": _("转派服务请求"),
    "service.request_resolved": _("解决服务请求"),
    "service.request_closed": _("关闭服务请求"),
    "service.complaint_registered": _("登记投诉"),
    "service.feedback_case_opened": _("开立客户反馈案件"),
    "service.complaint_acknowledged": _("受理投诉"),
    "service.complaint_assigned": _("分派投诉"),
    "service.complaint_extended": _("投诉延期"),
    "service.complaint_findings": _("记录投诉调查情况"),
    "service.complaint_decided": _("作出投诉处理决定"),
    "service.complaint_closed": _("投诉办结"),
    "service.rectification_added": _("新增整改措施"),
    "service.rectification_done": _("整改措施完成"),
    "service.letter_printed": _("打印投诉处理决定书"),
    "service.escalated": _("超时预警升级"),
    "service.root_cause_saved": _("维护投诉原因"),
    "service.stats_exported": _("导出投诉统计"),
    "service.report_generated": _("生成投诉监管统计报表"),
})
