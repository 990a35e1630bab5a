from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "partners.partner_created": _("登记合作机构"),
    "partners.partner_updated": _("修改合作机构"),
    "partners.partner_suspended": _("暂停合作机构"),
    "partners.partner_activated": _("恢复合作机构"),
    "partners.products_linked": _("设置合作机构关联产品"),
    "partners.key_issued": _("签发合作机构 API 密钥"),
    "partners.key_rotated": _("轮换合作机构 API 密钥"),
    "partners.key_revoked": _("吊销合作机构 API 密钥"),
    "partners.endpoint_created": _("添加 Webhook 推送地址"),
    "partners.endpoint_updated": _("修改 Webhook 推送地址"),
    "partners.endpoint_secret_rotated": _("轮换 Webhook 签名密钥"),
    "partners.endpoint_tested": _("发送 Webhook 测试事件"),
    "partners.delivery_retried": _("立即重试 Webhook 推送"),
})
