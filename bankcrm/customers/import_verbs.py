"""Audit verbs of customer imports (kept apart from audit_verbs.py, which the registration feature owns)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "customers.imported": _("批量导入客户"),
    "customers.import_uploaded": _("上传客户导入文件"),
    "customers.import_started": _("开始导入客户"),
    "customers.import_cancelled": _("取消客户导入"),
})
