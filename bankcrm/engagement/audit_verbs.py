from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "engagement.interaction_logged": _("记录客户互动"),
    "engagement.interaction_planned": _("计划客户互动"),
    "engagement.interaction_changed": _("修改客户互动"),
    "engagement.task_created": _("创建任务"),
    "engagement.task_done": _("完成任务"),
    "engagement.plan_started": _("启动行动计划"),
    "engagement.referral": _("客户转介"),
    "engagement.opportunity": _("商机变更"),
    "engagement.needs_saved": _("保存需求档案"),
    "engagement.template_saved": _("维护行动计划模板"),
    "engagement.recommendation_decided": _("处理推荐"),
    "engagement.model_trained": _("训练模型"),
    "engagement.segments_computed": _("计算客户分群"),
})

# Next best action (helper 3: nba.py)
register_verbs({"engagement.recommendations_refreshed": _("生成下一步最佳行动推荐")})

# Insights and life events (helper 2: insight_services.py)
register_verbs({"engagement.insights_extracted": _("提取客户洞察"), "engagement.life_events_swept": _("生成客户事件")})
register_verbs({"engagement.intents_saved": _("维护意图词典")})
register_verbs({"engagement.work_handed_over": _("客户移交：未完成的任务、商机与计划联系随客户转交接手人")})
