from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

# Each part adds its verbs here (training, appraisal, incentives).
register_verbs({
    "people.course_saved": _("维护培训课程"),
    "people.course_published": _("发布培训课程"),
    "people.course_retired": _("停用培训课程"),
    "people.attachment_added": _("上传课程附件"),
    "people.requirement_saved": _("维护培训要求"),
    "people.gate_rule_saved": _("维护培训准入规则"),
    "people.training_assigned": _("分派培训任务"),
    "people.training_waived": _("免除培训任务"),
    "people.quiz_submitted": _("提交培训测验"),
    "people.certificate_issued": _("颁发培训证书"),
    "people.certificate_revoked": _("撤销培训证书"),
    "people.scheme_saved": _("维护考核方案"),
    "people.scheme_activated": _("启用考核方案"),
    "people.period_opened": _("开启考核期"),
    "people.period_closed": _("结束考核期"),
    "people.scorecards_computed": _("计算考核记分卡"),
    "people.self_assessed": _("考核自评"),
    "people.scorecard_reviewed": _("上级评价"),
    "people.scorecard_calibrated": _("考核校准"),
    "people.scorecard_signed_off": _("签署考核结果"),
    "people.appeal_raised": _("提出考核申诉"),
    "people.appeal_decided": _("处理考核申诉"),
    "people.incentive_scheme_saved": _("维护激励方案"),
    "people.pool_saved": _("设立奖金池"),
    "people.pool_allocated": _("分配奖金池"),
    "people.pool_submitted": _("提交奖金池复核"),
    "people.pool_approved": _("复核奖金池"),
    "people.pool_paid": _("奖金发放"),
    "people.clawback_proposed": _("发起绩效追索"),
    "people.clawback_decided": _("确认或豁免绩效追索"),
    "people.payout_exported": _("导出奖金发放表"),
})

# ---- incentives ----
register_verbs({
    "people.pool_reopened": _("奖金池复核未通过，退回已分配"),
    "people.clawback_scanned": _("执行绩效追索检查"),
})

# ---- training ----
register_verbs({
    "people.training_reminded": _("培训到期提醒"),
    "people.training_exported": _("导出团队培训情况"),
})
