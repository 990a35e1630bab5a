from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "org.branch_created": _("新增机构"),
    "org.branch_updated": _("修改机构"),
    "org.staff_created": _("新增员工"),
    "org.staff_updated": _("修改员工信息"),
    "org.staff_roles_changed": _("变更员工角色"),
    "org.staff_deactivated": _("停用员工账户"),
    "org.staff_reactivated": _("启用员工账户"),
    "org.staff_contract_expired": _("合同到期自动停用"),
    "org.staff_password_reset": _("重置员工密码"),
    "org.password_changed": _("修改本人密码"),
    "org.language_set": _("设置界面语言"),
    "org.session_ended": _("结束会话"),
    "org.totp_enrolled": _("绑定动态口令"),
    "org.totp_reset": _("重置动态口令"),
    "org.api_token_created": _("创建 API 令牌"),
    "org.api_token_revoked": _("吊销 API 令牌"),
})
