from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "risk.questionnaire_saved": _("保存风险承受能力问卷"),
    "risk.questionnaire_published": _("发布风险承受能力问卷"),
    "risk.suitability_assessed": _("风险承受能力评估"),
    "risk.suitability_checked": _("适当性校验"),
    "risk.rating_model_saved": _("保存评级模型"),
    "risk.rated": _("洗钱风险评级"),
    "risk.rating_submitted": _("下调高风险评级提交审批"),
    "risk.due_diligence_opened": _("发起尽职调查"),
    "risk.due_diligence_completed": _("完成尽职调查"),
    "risk.rule_saved": _("维护监测规则"),
    "risk.alerts_raised": _("生成监测预警"),
    "risk.alerts_refreshed": _("更新预警的触发数据（当日累计增加）"),
    "risk.alert_closed": _("排除预警"),
    "risk.case_opened": _("立案调查"),
    "risk.case_updated": _("更新调查案件"),
    "risk.case_note_added": _("添加调查记录"),
    "risk.case_closed": _("结案（排除）"),
    "risk.case_escalated": _("上报合规"),
    "risk.report_generated": _("生成监管报告"),
    "risk.report_submitted": _("报送监管报告"),
    "risk.report_downloaded": _("下载监管报告"),
    "risk.watchlist_imported": _("导入监控名单"),
    "risk.screening_run": _("名单筛查"),
    "risk.monitoring_run": _("夜间监测批处理"),
})
