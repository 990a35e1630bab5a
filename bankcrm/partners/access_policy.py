"""Partner capabilities, in the one policy table (core.access).

- Administrators register partner organisations, issue, rotate and revoke their API keys, maintain webhook endpoints
  and retry deliveries; compliance managers read everything (keys only by their public id), including the call log.
- The partner API is reserved to partner keys: ``partners.api`` is held by the pseudo-role of an authenticated
  partner key (``PARTNER``), never by a member of staff, so a staff session or token reaching a partner route is
  refused (403, security log) like any missing capability. What a key may do within it is its scopes
  (``partner_auth.PartnerScope``).
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, WRITE, capability
from bankcrm.core.access import Role as R

PARTNER = "partner"  # the role a verified partner key acts under (partner_auth.PartnerPrincipal); no staff holds it

capability("partners.view", {R.ADMIN, R.COMPLIANCE_MANAGER}, label=_("查看合作机构、推送记录与接口调用日志"))
capability("partners.manage", {R.ADMIN}, {ADMIN, WRITE}, _("管理合作机构、API 密钥与推送地址"))
capability("partners.api", {PARTNER}, label=_("合作机构接口（仅限合作机构密钥）"))  # type: ignore[arg-type]
