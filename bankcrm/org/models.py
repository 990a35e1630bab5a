"""Branches (a tree stored as a materialised path), staff (the custom user), their roles and live sessions."""

from __future__ import annotations

from datetime import date
from functools import cached_property

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, pii
from bankcrm.core.access import EMPLOYMENT_LABELS, ROLE_LABELS, EmploymentType, Role
from bankcrm.core.fields import BlindIndexField, EncryptedTextField

pii.declare("org.Staff.mobile", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C2, "mobile", "员工手机号")
pii.declare("org.Staff.email", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C2, "email", "员工电子邮箱")


class BranchQuerySet(models.QuerySet):
    def visible_to(self, actor) -> BranchQuerySet:
        """The actor's scope subtree, plus the ancestors of their own branch (so names along the path resolve)."""
        if not getattr(actor, "is_authenticated", False) or not actor.roles:
            return self.none()
        root = access.scope_root(actor)
        if root is None:
            return self
        return self.filter(Q(path__startswith=root) | Q(path__in=_ancestor_paths(actor.branch_path)))


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


class Branch(models.Model):
    """An office of the bank. ``path`` is the materialised path of branch codes, e.g. ``/001/004/``."""

    class Kind(models.TextChoices):
        HEAD_OFFICE = "head_office", _("总行")
        BRANCH = "branch", _("分行")
        SUB_BRANCH = "sub_branch", _("支行")

    code = models.CharField(_("机构代码"), max_length=12, unique=True)
    name = models.CharField(_("机构名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    kind = models.CharField(_("机构类型"), max_length=12, choices=Kind.choices)
    parent = models.ForeignKey("self", verbose_name=_("上级机构"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BranchQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("机构")
        verbose_name_plural = _("机构")

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    @property
    def label(self) -> str:
        """The branch's name in the interface language (English name when the person reads English)."""
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") and self.name_en else self.name


class StaffQuerySet(models.QuerySet):
    def visible_to(self, actor) -> StaffQuerySet:
        """Administrators and head-office compliance see everyone; supervisors their subtree; others themselves."""
        if not getattr(actor, "is_authenticated", False):
            return self.none()
        if access.can(actor, "org.view_staff"):
            return self.filter(access.branch_scope_q(actor, "branch__path"))
        return self.filter(pk=actor.pk)

    def with_roles(self) -> StaffQuerySet:
        return self.select_related("branch").prefetch_related("role_assignments")


class StaffManager(BaseUserManager.from_queryset(StaffQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> Staff:
        return self.get(staff_no__iexact=username)


class Staff(AbstractBaseUser):
    """A member of staff: employee, consultant, intern or temporary worker, with one or more roles.

    Non-employees carry a contract end date after which their account stops working without anyone acting: the
    authentication backend and the session guard refuse them, and a nightly job deactivates them.
    """

    staff_no = models.CharField(_("工号"), max_length=20, unique=True)
    name = models.CharField(_("姓名"), max_length=40)
    branch = models.ForeignKey(Branch, verbose_name=_("所属机构"), on_delete=models.PROTECT, related_name="staff")
    employment_type = models.CharField(_("用工类型"), max_length=12, choices=[(t.value, EMPLOYMENT_LABELS[t]) for t in EmploymentType],
                                       default=EmploymentType.EMPLOYEE)
    title = models.CharField(_("职务"), max_length=40, blank=True)
    contract_start = models.DateField(_("合同开始日期"), null=True, blank=True)
    contract_end = models.DateField(_("合同结束日期"), null=True, blank=True)
    mobile = EncryptedTextField(_("手机号"), blank=True, default="")
    mobile_bidx = BlindIndexField(source="mobile", purpose="staff.mobile")
    email = EncryptedTextField(_("电子邮箱"), blank=True, default="")
    is_active = models.BooleanField(_("启用"), default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=200, blank=True)
    auth_version = models.PositiveIntegerField(default=1, help_text="bumped when roles change or access ends")
    preferred_language = models.CharField(max_length=8, blank=True, default="")
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StaffManager()

    USERNAME_FIELD = "staff_no"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["staff_no"]
        verbose_name = _("员工")
        verbose_name_plural = _("员工")
        constraints = [
            models.CheckConstraint(
                condition=Q(contract_end__isnull=True) | Q(contract_start__isnull=True) | Q(contract_end__gte=models.F("contract_start")),
                name="staff_contract_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.staff_no}）"

    def audit_repr(self) -> str:
        return f"{self.staff_no} {self.name}"

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(a.role for a in self.role_assignments.all())

    @property
    def role_labels(self) -> list[str]:
        return [str(ROLE_LABELS[Role(r)]) for r in sorted(self.roles)]

    @property
    def branch_path(self) -> str:
        return self.branch.path

    @property
    def is_staff(self) -> bool:  # Django admin is not used; staff are never "staff" in Django's sense
        return False

    @property
    def is_superuser(self) -> bool:
        return False

    def contract_valid_on(self, day: date) -> bool:
        if self.employment_type == EmploymentType.EMPLOYEE or self.contract_end is None:
            return self.contract_start is None or self.contract_start <= day
        return (self.contract_start is None or self.contract_start <= day) and day <= self.contract_end

    def may_work_now(self) -> bool:
        return self.is_active and self.contract_valid_on(timezone.localdate())

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    @property
    def employment_label(self) -> str:
        return str(EMPLOYMENT_LABELS[EmploymentType(self.employment_type)])

    @property
    def sees_masked_names(self) -> bool:
        return self.employment_type in (EmploymentType.INTERN, EmploymentType.TEMPORARY)


class RoleAssignment(models.Model):
    """One role held by one member of staff; quarterly access reviews confirm or revoke these rows."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=24, choices=[(r.value, ROLE_LABELS[r]) for r in Role])
    granted_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["staff", "role"], name="one_assignment_per_role")]
        ordering = ["role"]


class LiveSession(models.Model):
    """A session that is alive, whatever session backend holds it, so that access can be ended at once."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="live_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    auth_version = models.PositiveIntegerField(default=1)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=["staff", "ended_at"])]
        ordering = ["-created_at"]


class LoginThrottle(models.Model):
    """Failure counter for one user name or one client IP; rows are locked while counted so parallel attempts
    never overshoot the limit."""

    class Scope(models.TextChoices):
        USER = "user"
        IP = "ip"

    scope = models.CharField(max_length=4, choices=Scope.choices)
    key = models.CharField(max_length=80)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_throttle_per_key")]


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the secret is shown once at creation."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=60)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("到期时间"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
