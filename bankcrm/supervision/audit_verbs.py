from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

# Each part adds its verbs here.
register_verbs({
    "supervision.clause_saved": _("维护制度条款"),
    "supervision.controls_run": _("运行控制检查"),
    "supervision.finding_raised": _("登记检查发现"),
    "supervision.finding_assigned": _("指定整改责任人"),
    "supervision.action_added": _("添加整改措施"),
    "supervision.action_done": _("完成整改措施"),
    "supervision.action_rechecked": _("整改复查"),
    "supervision.finding_closed": _("关闭检查发现"),
    "supervision.accountability_recorded": _("登记问责"),
})

# ---- coverage, controls, findings (section A) ----
register_verbs({
    "supervision.clauses_installed": _("安装默认制度条款"),
    "supervision.finding_rectified": _("提交整改完成（待复查）"),
    "supervision.finding_overdue": _("检查发现整改逾期"),
})

# ---- inspections and access reviews (section B) ----
register_verbs({
    "supervision.checklists_installed": _("安装默认检查清单"),
    "supervision.plan_saved": _("保存检查计划"),
    "supervision.inspection_created": _("创建检查"),
    "supervision.inspection_sampled": _("抽取检查样本"),
    "supervision.inspection_item_recorded": _("记录检查结果"),
    "supervision.inspection_completed": _("完成检查"),
    "supervision.inspection_cancelled": _("取消检查"),
    "supervision.inspection_exported": _("导出检查报告"),
    "supervision.access_reviews_opened": _("发起权限复核"),
    "supervision.access_review_decided": _("权限复核决定"),
    "supervision.access_review_completed": _("完成权限复核"),
})

# ---- conduct, audit explorer, retention (section C) ----
register_verbs({
    "supervision.conduct_signal_raised": _("生成员工行为预警"),
    "supervision.conduct_run": _("运行员工行为监测"),
    "supervision.conduct_signal_reviewed": _("核查员工行为预警（无问题）"),
    "supervision.conduct_signal_escalated": _("员工行为预警升级为检查发现"),
    "supervision.leave_recorded": _("登记强制休假"),
    "supervision.rotation_recorded": _("登记岗位轮换"),
    "supervision.audit_verified": _("审计查询：校验审计链"),
    "supervision.audit_extracted": _("导出签名审计摘录"),
    "supervision.legal_hold_placed": _("设置法律保全"),
    "supervision.legal_hold_released": _("解除法律保全"),
    "supervision.retention_run": _("执行数据保留清理"),
})
