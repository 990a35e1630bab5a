"""State changes of the organisation: branches, staff, roles, access ending, TOTP and API tokens.

Every function takes the acting member of staff, checks capability and scope, runs in a transaction, validates,
writes, and records one audit event (ARCHITECTURE.md §2).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.access import EmploymentType, Role
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed, from_django
from bankcrm.core.identifiers import IdentifierError, normalise_mobile

from . import selectors
from .models import ApiToken, Branch, LiveSession, RoleAssignment, Staff

BRANCH_FIELDS = ("code", "name", "name_en", "kind", "parent", "address", "is_active")
STAFF_FIELDS = ("staff_no", "name", "branch", "employment_type", "title", "contract_start", "contract_end",
                "mobile", "email", "is_active")
# Granting these roles needs a second administrator (maker-checker), on creation and on change.
PRIVILEGED_ROLES = frozenset({Role.ADMIN, Role.COMPLIANCE_MANAGER})
GRANT_ACTION = "org.grant_privileged_role"


# ---- Bootstrap --------------------------------------------------------------------------------------------------
def bank_bootstrap(*, head_office_code: str, head_office_name: str, admin_staff_no: str, admin_name: str,
                   admin_password: str, head_office_name_en: str = "") -> Staff:
    """Create the head office and the first administrator of an empty installation (manage.py bootstrap_bank).

    The system is the actor; refused once any branch exists, so it cannot be used to add an administrator later.
    """
    with transaction.atomic():
        if Branch.objects.exists():
            raise RuleViolation("already_bootstrapped", _("系统已初始化，不能再次创建总行和首个管理员"))
        head = Branch(code=head_office_code, name=head_office_name, name_en=head_office_name_en,
                      kind=Branch.Kind.HEAD_OFFICE, path=_branch_path(head_office_code, None))
        head.full_clean()
        head.save()
        audit.record(actor=None, verb="org.branch_created", target=head, after=audit.snapshot(head, BRANCH_FIELDS),
                     reason="bootstrap")
        admin = Staff(staff_no=admin_staff_no.upper(), name=admin_name, branch=head, employment_type=EmploymentType.EMPLOYEE)
        _set_password_checked(admin, admin_password)
        admin.full_clean(exclude=["password"])
        admin.save()
        RoleAssignment.objects.create(staff=admin, role=Role.ADMIN)
        audit.record(actor=None, verb="org.staff_created", target=admin,
                     after={**audit.snapshot(admin, STAFF_FIELDS), "roles": [Role.ADMIN]}, reason="bootstrap")
    return admin


# ---- Branches ---------------------------------------------------------------------------------------------------
def _branch_path(code: str, parent: Branch | None) -> str:
    return f"{parent.path if parent else '/'}{code}/"


def branch_create(*, actor: Any, code: str, name: str, kind: str, parent_id: int | None = None, name_en: str = "",
                  address: str = "") -> Branch:
    access.require(actor, "org.manage_branches")
    code = (code or "").strip()
    if not code.isalnum():
        raise ValidationFailed("branch_code_invalid", _("机构代码只能包含字母和数字"), fields={"code": [_("只能包含字母和数字")]})
    with transaction.atomic():
        parent = selectors.branch_get(actor, parent_id) if parent_id else None
        if parent is None and Branch.objects.filter(parent__isnull=True).exists():
            raise RuleViolation("branch_single_root", _("只能有一个总行，请选择上级机构"))
        if parent is not None and not parent.is_active:
            raise RuleViolation("branch_parent_inactive", _("上级机构已停用"))
        branch = Branch(code=code, name=(name or "").strip(), name_en=(name_en or "").strip(), kind=kind, parent=parent,
                        address=(address or "").strip(), path=_branch_path(code, parent))
        try:
            branch.full_clean()
        except ValidationError as exc:
            raise from_django(exc) from None
        branch.save()
        audit.record(actor=actor, verb="org.branch_created", target=branch, after=audit.snapshot(branch, BRANCH_FIELDS))
    return branch


def branch_update(*, actor: Any, branch_id: int, name: str, name_en: str = "", address: str = "",
                  is_active: bool = True) -> Branch:
    access.require(actor, "org.manage_branches")
    with transaction.atomic():
        branch = selectors.branch_get(actor, branch_id, for_update=True)
        before = audit.snapshot(branch, BRANCH_FIELDS)
        if not is_active and branch.is_active:
            if branch.children.filter(is_active=True).exists():
                raise RuleViolation("branch_has_active_children", _("该机构下仍有启用的下级机构，不能停用"))
            if branch.staff.filter(is_active=True).exists():
                raise RuleViolation("branch_has_active_staff", _("该机构仍有在岗员工，请先调整员工所属机构"))
        branch.name, branch.name_en, branch.address, branch.is_active = name.strip(), name_en.strip(), address.strip(), is_active
        try:
            branch.full_clean()
        except ValidationError as exc:
            raise from_django(exc) from None
        branch.save()
        b, a = audit.diff(before, audit.snapshot(branch, BRANCH_FIELDS))
        if a:
            audit.record(actor=actor, verb="org.branch_updated", target=branch, before=b, after=a)
    return branch


# ---- Staff ------------------------------------------------------------------------------------------------------
def _clean_contact(mobile: str, email: str) -> tuple[str, str]:
    mobile = (mobile or "").strip()
    if mobile:
        try:
            mobile = normalise_mobile(mobile)
        except IdentifierError as exc:
            raise ValidationFailed(exc.code, exc.message, fields={"mobile": [exc.message]}) from None
    return mobile, (email or "").strip().lower()


def _check_contract(employment_type: str, start: date | None, end: date | None) -> None:
    if employment_type not in EmploymentType.__members__.values():
        raise ValidationFailed("employment_type_invalid", _("无效的用工类型"), fields={"employment_type": [_("无效的用工类型")]})
    if employment_type != EmploymentType.EMPLOYEE and end is None:
        msg = _("顾问、实习生和临时工必须填写合同结束日期")
        raise ValidationFailed("contract_end_required", msg, fields={"contract_end": [msg]})
    if start and end and end < start:
        msg = _("合同结束日期不能早于开始日期")
        raise ValidationFailed("contract_dates_order", msg, fields={"contract_end": [msg]})


def _check_roles(roles: list[str]) -> set[str]:
    wanted = set(roles or [])
    unknown = wanted - set(Role.__members__.values())
    if unknown:
        raise ValidationFailed("role_invalid", _("无效的角色"), fields={"roles": [_("无效的角色")]})
    if not wanted:
        raise ValidationFailed("role_required", _("至少选择一个角色"), fields={"roles": [_("至少选择一个角色")]})
    return wanted


def staff_create(*, actor: Any, staff_no: str, name: str, branch_id: int, employment_type: str, roles: list[str],
                 password: str, contract_start: date | None = None, contract_end: date | None = None, title: str = "",
                 mobile: str = "", email: str = "") -> Staff:
    """Create a member of staff. Privileged roles (administrator, compliance) are not granted here: they are
    submitted for a second administrator's approval."""
    access.require(actor, "org.manage_staff")
    wanted = _check_roles(roles)
    _check_contract(employment_type, contract_start, contract_end)
    mobile, email = _clean_contact(mobile, email)
    with transaction.atomic():
        branch = selectors.branch_get(actor, branch_id)
        if not branch.is_active:
            raise RuleViolation("branch_inactive", _("所选机构已停用"))
        staff = Staff(staff_no=(staff_no or "").strip().upper(), name=(name or "").strip(), branch=branch,
                      employment_type=employment_type, title=title.strip(), contract_start=contract_start,
                      contract_end=contract_end, mobile=mobile, email=email)
        _set_password_checked(staff, password)
        try:
            staff.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise from_django(exc) from None
        try:
            with transaction.atomic():
                staff.save()
        except IntegrityError:
            raise ValidationFailed("staff_no_taken", _("工号已存在"), fields={"staff_no": [_("工号已存在")]}) from None
        direct = wanted - PRIVILEGED_ROLES
        for role in sorted(direct):
            RoleAssignment.objects.create(staff=staff, role=role, granted_by=actor)
        audit.record(actor=actor, verb="org.staff_created", target=staff,
                     after={**audit.snapshot(staff, STAFF_FIELDS), "roles": sorted(direct)})
        for role in sorted(wanted & PRIVILEGED_ROLES):
            _submit_privileged_grant(actor, staff, role)
    return staff


def _set_password_checked(staff: Staff, password: str) -> None:
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password, staff)
    except ValidationError as exc:
        raise ValidationFailed("password_weak", "；".join(exc.messages), fields={"password": exc.messages}) from None
    staff.set_password(password)


def staff_update(*, actor: Any, staff_id: int, name: str, branch_id: int, employment_type: str, title: str = "",
                 contract_start: date | None = None, contract_end: date | None = None, mobile: str = "",
                 email: str = "") -> Staff:
    access.require(actor, "org.manage_staff")
    _check_contract(employment_type, contract_start, contract_end)
    mobile, email = _clean_contact(mobile, email)
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        before = audit.snapshot(staff, STAFF_FIELDS)
        branch = selectors.branch_get(actor, branch_id)
        ends_access = (staff.branch_id != branch.pk or staff.employment_type != employment_type)
        staff.name, staff.branch, staff.employment_type, staff.title = name.strip(), branch, employment_type, title.strip()
        staff.contract_start, staff.contract_end, staff.mobile, staff.email = contract_start, contract_end, mobile, email
        try:
            staff.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise from_django(exc) from None
        if ends_access:  # a new branch or employment type changes scope and ceilings: sign in again
            staff.auth_version += 1
        staff.save()
        b, a = audit.diff(before, audit.snapshot(staff, STAFF_FIELDS))
        if a:
            audit.record(actor=actor, verb="org.staff_updated", target=staff, before=b, after=a)
        if ends_access:
            sessions_end_for(staff, reason="profile_changed")
    return staff


def staff_set_roles(*, actor: Any, staff_id: int, roles: list[str], reason: str = "") -> dict[str, list[str]]:
    """Set a member of staff's roles. Removals and ordinary roles apply at once; privileged additions wait for a
    second administrator. Any change ends the person's sessions so the new roles apply on the next request."""
    access.require(actor, "org.manage_staff")
    wanted = _check_roles(roles)
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        if staff.pk == actor.pk and Role.ADMIN not in wanted and Role.ADMIN in staff.roles:
            raise RuleViolation("cannot_remove_own_admin", _("不能移除自己的管理员角色"))
        current = set(staff.roles)
        removed = current - wanted
        added_direct = (wanted - current) - PRIVILEGED_ROLES
        added_pending = (wanted - current) & PRIVILEGED_ROLES
        if removed:
            RoleAssignment.objects.filter(staff=staff, role__in=removed).delete()
        for role in sorted(added_direct):
            RoleAssignment.objects.create(staff=staff, role=role, granted_by=actor)
        if removed or added_direct:
            Staff.objects.filter(pk=staff.pk).update(auth_version=staff.auth_version + 1)
            audit.record(actor=actor, verb="org.staff_roles_changed", target=staff, before={"roles": sorted(current)},
                         after={"roles": sorted((current - removed) | added_direct)}, reason=reason)
            sessions_end_for(staff, reason="roles_changed")
        for role in sorted(added_pending):
            _submit_privileged_grant(actor, staff, role, reason)
    return {"removed": sorted(removed), "added": sorted(added_direct), "pending": sorted(added_pending)}


def role_revoke(*, actor: Any, staff_id: int, role: str, reason: str) -> bool:
    """Take one role away from a member of staff in the actor's scope — the outcome of an access review. Never one's
    own role; a reason is required. Like a removal in ``staff_set_roles``: the assignment goes, the person's auth
    version is bumped so cached roles stop working, every live session ends. Returns False when the role was not
    held (a repeated decision changes nothing)."""
    access.require(actor, "org.revoke_role")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("撤销角色须填写理由"), fields={"reason": [_("请填写撤销理由")]})
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        if staff.pk == actor.pk:
            raise RuleViolation("cannot_revoke_own_role", _("不能撤销自己的角色"))
        current = sorted(staff.roles)
        deleted, _n = RoleAssignment.objects.filter(staff=staff, role=role).delete()
        if not deleted:
            return False
        Staff.objects.filter(pk=staff.pk).update(auth_version=staff.auth_version + 1)
        audit.record(actor=actor, verb="org.staff_roles_changed", target=staff, before={"roles": current},
                     after={"roles": [r for r in current if r != role]}, reason=reason)
        sessions_end_for(staff, reason="roles_changed")
    return True


def _submit_privileged_grant(actor: Any, staff: Staff, role: str, reason: str = "") -> None:
    """Submit a privileged grant for a second administrator. The one exception is an installation with a single
    administrator (just bootstrapped): nobody could approve, so the second administrator is granted directly and the
    audit event says why (docs/adr/0004)."""
    from bankcrm.approvals.services import approval_submit
    from bankcrm.core.access import ROLE_LABELS

    admins = RoleAssignment.objects.filter(role=Role.ADMIN, staff__is_active=True).exclude(staff=staff)
    if role == Role.ADMIN and admins.count() == 1 and admins.filter(staff=actor).exists():
        before = sorted(staff.roles)
        RoleAssignment.objects.create(staff=staff, role=role, granted_by=actor)
        audit.record(actor=actor, verb="org.staff_roles_changed", target=staff, before={"roles": before},
                     after={"roles": sorted({*before, role})}, reason=_("初始化：系统仅有一名管理员，直接授予第二名管理员"))
        return
    approval_submit(actor=actor, action_code=GRANT_ACTION, payload={"staff_id": staff.pk, "role": role},
                    summary=_("授予 %(name)s（%(no)s）%(role)s 角色") % {"name": staff.name, "no": staff.staff_no,
                                                                      "role": ROLE_LABELS[Role(role)]},
                    target=staff, reason=reason)


def execute_privileged_grant(*, payload: dict[str, Any], maker: Any, checker: Any) -> dict[str, Any]:
    """Approved grant of a privileged role: re-checked against the current state, then applied."""
    access.require(checker, "org.manage_staff")
    staff = Staff.objects.select_for_update().filter(pk=payload["staff_id"]).first()
    if staff is None or not staff.is_active:
        raise RuleViolation("staff_inactive", _("该员工已停用，不能授予角色"))
    if staff.employment_type != EmploymentType.EMPLOYEE:
        raise RuleViolation("privileged_role_employee_only", _("管理员和合规经理角色只能授予正式员工"))
    role = payload["role"]
    if RoleAssignment.objects.filter(staff=staff, role=role).exists():
        return {"granted": False, "already": True}
    before = sorted(staff.roles)
    RoleAssignment.objects.create(staff=staff, role=role, granted_by=maker)
    Staff.objects.filter(pk=staff.pk).update(auth_version=staff.auth_version + 1)
    audit.record(actor=checker, verb="org.staff_roles_changed", target=staff, before={"roles": before},
                 after={"roles": sorted({*before, role})}, reason=_("复核通过"))
    sessions_end_for(staff, reason="roles_changed")
    return {"granted": True, "staff_id": staff.pk, "role": role}


def staff_deactivate(*, actor: Any, staff_id: int, reason: str) -> Staff:
    access.require(actor, "org.manage_staff")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写停用原因"), fields={"reason": [_("请填写停用原因")]})
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        if staff.pk == actor.pk:
            raise RuleViolation("cannot_deactivate_self", _("不能停用自己的账户"))
        if not staff.is_active:
            raise RuleViolation("staff_already_inactive", _("该员工已是停用状态"))
        _deactivate(staff, reason)
        audit.record(actor=actor, verb="org.staff_deactivated", target=staff, before={"is_active": True},
                     after={"is_active": False}, reason=reason)
    return staff


def _deactivate(staff: Staff, reason: str) -> None:
    staff.is_active = False
    staff.deactivated_at = timezone.now()
    staff.deactivation_reason = reason[:200]
    staff.auth_version += 1
    staff.save(update_fields=["is_active", "deactivated_at", "deactivation_reason", "auth_version", "updated_at"])
    sessions_end_for(staff, reason="deactivated")
    from . import hooks

    hooks.access_ended(staff, reason)  # e.g. customers opens a handover of the person's portfolio


def staff_reactivate(*, actor: Any, staff_id: int, reason: str) -> Staff:
    access.require(actor, "org.manage_staff")
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        if staff.is_active:
            raise RuleViolation("staff_already_active", _("该员工已是启用状态"))
        if not staff.contract_valid_on(timezone.localdate()):
            raise RuleViolation("contract_expired", _("合同已到期，请先延长合同结束日期"))
        staff.is_active, staff.deactivated_at, staff.deactivation_reason = True, None, ""
        staff.save(update_fields=["is_active", "deactivated_at", "deactivation_reason", "updated_at"])
        audit.record(actor=actor, verb="org.staff_reactivated", target=staff, before={"is_active": False},
                     after={"is_active": True}, reason=reason)
    return staff


def staff_set_password(*, actor: Any, staff_id: int, password: str) -> Staff:
    """An administrator sets a new password (for example after a lost password); the person's sessions end."""
    access.require(actor, "org.manage_staff")
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        _set_password_checked(staff, password)
        staff.save(update_fields=["password", "updated_at"])
        audit.record(actor=actor, verb="org.staff_password_reset", target=staff)
        sessions_end_for(staff, reason="password_reset")
    return staff


def password_change_own(*, actor: Any, old_password: str, new_password: str, keep_session_key: str = "") -> None:
    with transaction.atomic():
        staff = Staff.objects.select_for_update().get(pk=actor.pk)
        if not staff.check_password(old_password):
            raise ValidationFailed("old_password_wrong", _("原密码不正确"), fields={"old_password": [_("原密码不正确")]})
        _set_password_checked(staff, new_password)
        staff.save(update_fields=["password", "updated_at"])
        audit.record(actor=actor, verb="org.password_changed", target=staff)
        sessions_end_for(staff, reason="password_changed", keep=keep_session_key)


def staff_set_language(*, actor: Any, language: str) -> None:
    """Save the person's interface language (applied at each login)."""
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise ValidationFailed("language_invalid", _("不支持的语言"), fields={"language": [_("不支持的语言")]})
    with transaction.atomic():
        staff = Staff.objects.select_for_update().get(pk=actor.pk)
        if staff.preferred_language == language:
            return
        before = staff.preferred_language
        staff.preferred_language = language
        staff.save(update_fields=["preferred_language", "updated_at"])
        audit.record(actor=actor, verb="org.language_set", target=staff, before={"preferred_language": before},
                     after={"preferred_language": language})


def contracts_expire_due(*, today: date | None = None) -> int:
    """Deactivate consultants, interns and temporary workers whose contract ended before today. Idempotent."""
    today = today or timezone.localdate()
    done = 0
    ids = list(Staff.objects.filter(is_active=True, contract_end__lt=today)
               .exclude(employment_type=EmploymentType.EMPLOYEE).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            staff = Staff.objects.select_for_update().filter(pk=pk, is_active=True).first()
            if staff is None or staff.contract_valid_on(today):
                continue
            _deactivate(staff, _("合同已于 %(d)s 到期") % {"d": staff.contract_end})
            audit.record(actor=None, verb="org.staff_contract_expired", target=staff, before={"is_active": True},
                         after={"is_active": False, "contract_end": staff.contract_end})
            done += 1
    return done


# ---- Sessions ---------------------------------------------------------------------------------------------------
def session_register(*, staff: Staff, ip: str, user_agent: str) -> LiveSession:
    return LiveSession.objects.create(staff=staff, session_key=secrets.token_urlsafe(32), ip=ip,
                                      user_agent=user_agent[:200], auth_version=staff.auth_version)


def sessions_end_for(staff: Staff, *, reason: str, keep: str = "") -> int:
    """End every live session of a member of staff, whatever backend stores the session data."""
    qs = LiveSession.objects.filter(staff=staff, ended_at__isnull=True)
    if keep:
        qs = qs.exclude(session_key=keep)
    return qs.update(ended_at=timezone.now(), end_reason=reason)


def staff_end_sessions(*, actor: Any, staff_id: int) -> int:
    """An administrator ends every session of a member of staff (a lost laptop, a suspected compromise)."""
    access.require(actor, "org.manage_staff")
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id)
        n = sessions_end_for(staff, reason="ended_by_admin")
        audit.record(actor=actor, verb="org.session_ended", target=staff, after={"sessions": n})
    return n


def session_end(*, actor: Any, session_id: int) -> None:
    with transaction.atomic():
        qs = LiveSession.objects.filter(pk=session_id, ended_at__isnull=True)
        if not access.can(actor, "org.manage_staff"):
            qs = qs.filter(staff=actor)
        else:
            qs = qs.filter(staff__in=Staff.objects.visible_to(actor))
        session = qs.select_for_update().first()
        if session is None:
            raise NotFound("session_not_found", _("会话不存在或已结束"))
        session.ended_at, session.end_reason = timezone.now(), "ended_by_user" if session.staff_id == actor.pk else "ended_by_admin"
        session.save(update_fields=["ended_at", "end_reason"])
        audit.record(actor=actor, verb="org.session_ended", target=session.staff, after={"session_id": session.pk})


# ---- TOTP -------------------------------------------------------------------------------------------------------
def totp_begin_enrolment(*, actor: Any):
    """Create (or reuse) an unconfirmed TOTP device for the actor and return it, for the QR code."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=actor, name="bankcrm", confirmed=False)
    return device


def totp_confirm(*, actor: Any, token: str):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=actor, confirmed=False).first()
        if device is None:
            raise RuleViolation("totp_no_enrolment", _("请先生成二维码"))
        if not device.verify_token((token or "").strip()):
            raise ValidationFailed("totp_invalid", _("动态口令不正确，请核对手机上的6位数字"), fields={"token": [_("动态口令不正确")]})
        TOTPDevice.objects.filter(user=actor, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(actor=actor, verb="org.totp_enrolled", target=actor)
    return device


def totp_reset(*, actor: Any, staff_id: int, reason: str) -> None:
    """An administrator removes a person's authenticator (lost phone); they enrol again at next login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    access.require(actor, "org.manage_staff")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写原因"), fields={"reason": [_("请填写原因")]})
    with transaction.atomic():
        staff = selectors.staff_get(actor, staff_id, for_update=True)
        if staff.pk == actor.pk:
            raise RuleViolation("cannot_reset_own_totp", _("不能重置自己的动态口令"))
        deleted, _x = TOTPDevice.objects.filter(user=staff).delete()
        audit.record(actor=actor, verb="org.totp_reset", target=staff, after={"devices_removed": deleted}, reason=reason)
        sessions_end_for(staff, reason="totp_reset")


# ---- API tokens -------------------------------------------------------------------------------------------------
def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, actor: Any, name: str, days: int = 90) -> tuple[ApiToken, str]:
    access.require(actor, "org.own_api_tokens")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("token_name_required", _("请填写令牌名称"), fields={"name": [_("必填")]})
    if not 1 <= int(days) <= 365:
        raise ValidationFailed("token_days_range", _("有效期应为1至365天"), fields={"days": [_("有效期应为1至365天")]})
    prefix = secrets.token_hex(4)
    secret = f"bcrm_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(staff=actor, name=name[:60], prefix=prefix, digest=token_digest(secret),
                                        expires_at=timezone.now() + timedelta(days=int(days)))
        audit.record(actor=actor, verb="org.api_token_created", target=actor,
                     after={"token_id": token.pk, "prefix": prefix, "expires_at": token.expires_at})
    return token, secret


def token_revoke(*, actor: Any, token_id: int) -> None:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id, staff=actor, revoked_at__isnull=True).first()
        if token is None:
            raise NotFound("token_not_found", _("令牌不存在或已吊销"))
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor=actor, verb="org.api_token_revoked", target=actor, after={"token_id": token.pk})
