"""Staff development and appraisal capabilities (DOMAIN_RULES.md §1), declared in the one policy table (core.access).

- Everyone takes the courses assigned to them, sees their own certificates and scorecards, self-assesses and appeals.
- Branch supervisors see their team's training status and scorecards, review, calibrate and sign off, and rank
  within their team; compliance managers see training across their scope and decide appeals.
- Administrators publish courses, requirements and gate rules, configure KPI schemes and periods, compute
  scorecards. Incentive pools are made by supervisors and approved by a second person; clawbacks are confirmed by
  compliance.
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, ALL_ROLES, APPROVE, COMPLIANCE, EXPORT, WRITE, capability
from bankcrm.core.access import Role as R

capability("people.training", ALL_ROLES, label=_("参加培训、查看本人证书"))
capability("people.training_team", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN},
           label=_("查看团队培训情况"))
capability("people.manage_training", {R.ADMIN}, {ADMIN, WRITE}, _("发布课程、培训要求与准入规则"))
capability("people.assign_training", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE},
           _("指定培训、录入外部证书"))
capability("people.appraisal", ALL_ROLES, label=_("查看本人考核、自评与申诉"))
capability("people.review", {R.BRANCH_SUPERVISOR}, {WRITE}, _("评价、校准与签署团队考核"))
capability("people.appeal_decide", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE},
           _("处理考核申诉"))
capability("people.manage_appraisal", {R.ADMIN}, {ADMIN, WRITE}, _("维护考核方案与考核期、计算记分卡"))
capability("people.incentives", {R.BRANCH_SUPERVISOR, R.ADMIN}, {WRITE}, _("设立与分配奖金池"))
capability("people.approve_incentives", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {APPROVE},
           _("复核奖金池分配"))
capability("people.clawback", {R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE, COMPLIANCE},
           _("确认或豁免绩效追索"))
capability("people.export", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, {EXPORT},
           _("导出培训、考核与奖金发放报表"))

# ---- incentives ----
capability("people.incentive_pools", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN},
           label=_("查看奖金池（本人管辖范围）"))
capability("people.manage_incentive_schemes", {R.ADMIN}, {ADMIN, WRITE}, _("维护激励方案"))
capability("people.my_incentives", ALL_ROLES, label=_("查看本人奖金与追索"))
