from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "reports.exported": _("导出管理报表"),
    "reports.schedule_created": _("新建定时报表"),
    "reports.schedule_updated": _("修改定时报表"),
    "reports.schedule_deactivated": _("停用定时报表"),
    "reports.run_generated": _("生成定时报表文件"),
    "reports.run_failed": _("定时报表生成失败"),
    "reports.run_downloaded": _("下载定时报表文件"),
})
