"""Customers (persons and companies), their managers over time, consents, and the search index.

Personal data classes (core.pii): identity numbers, phone numbers, e-mail and addresses are encrypted with blind
indexes for exact search; names stay plain (lists sort and search on them) but are scoped and every read is logged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, pii
from bankcrm.core.fields import BlindIndexField, EncryptedTextField

P, S = pii.PiiClass, pii.Sensitivity
pii.declare("customers.Customer.id_number", P.ENCRYPTED, S.C2, "id_number", "证件号码")
pii.declare("customers.Customer.mobile", P.ENCRYPTED, S.C2, "mobile", "手机号码")
pii.declare("customers.Customer.email", P.ENCRYPTED, S.C2, "email", "电子邮箱")
pii.declare("customers.Customer.address", P.ENCRYPTED, S.C2, "address", "联系地址")
pii.declare("customers.Customer.name", P.SCOPED, S.C1, "name", "客户姓名")
pii.declare("customers.Customer.birth_date", P.SCOPED, S.C2, "generic", "出生日期")
pii.declare("customers.ContactPoint.value", P.ENCRYPTED, S.C2, "generic", "其他联系方式（电话、地址、邮箱）")


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, actor) -> CustomerQuerySet:
        """Who may see which customers (ARCHITECTURE.md §3):

        - customer managers: the customers they manage now (primary or team member);
        - operations managers, branch supervisors, risk and compliance managers: customers of their branch subtree
          (every branch for head-office risk and compliance), plus any they manage themselves.
        """
        from bankcrm.core.access import Role

        if not getattr(actor, "is_authenticated", False) or not access.can(actor, "customers.view"):
            return self.none()
        if Role.COMPLIANCE_MANAGER not in actor.roles:
            # Restricted after an erasure request: stored for AML, not processed; only compliance sees it.
            self = self.exclude(status="restricted")
        managed = models.Exists(ManagerAssignment.objects.filter(customer=models.OuterRef("pk"), staff=actor,
                                                                 ended_at__isnull=True))
        if actor.roles & {Role.OPERATIONS_MANAGER, Role.BRANCH_SUPERVISOR, Role.RISK_MANAGER, Role.COMPLIANCE_MANAGER}:
            root = access.scope_root(actor)
            return self if root is None else self.filter(Q(branch__path__startswith=root) | managed)
        return self.filter(managed)


class Customer(models.Model):
    """A customer of the bank: a natural person or a company."""

    class Kind(models.TextChoices):
        PERSON = "person", _("个人")
        COMPANY = "company", _("企业")

    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("居民身份证")
        HMT_RESIDENCE = "hmt_residence", _("港澳台居民居住证")
        FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")
        PASSPORT = "passport", _("护照")
        HK_MACAU_PASS = "hk_macau_pass", _("港澳居民来往内地通行证")
        TAIWAN_PASS = "taiwan_pass", _("台湾居民来往大陆通行证")
        USCC = "uscc", _("统一社会信用代码")

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        CLOSED = "closed", _("已销户")
        RESTRICTED = "restricted", _("限制处理（仅保存）")

    class Gender(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    customer_no = models.CharField(_("客户号"), max_length=16, unique=True)
    kind = models.CharField(_("客户类型"), max_length=8, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("姓名/名称"), max_length=100, db_index=True)
    name_pinyin = models.CharField(max_length=200, db_index=True, blank=True)
    name_initials = models.CharField(max_length=40, db_index=True, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=20, choices=IdType.choices)
    id_number = EncryptedTextField(_("证件号码"))
    id_number_bidx = BlindIndexField(source="id_number", purpose="customer.id_number", unique=True, db_index=False)
    id_expires_on = models.DateField(_("证件有效期至"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    nationality = models.CharField(_("国籍"), max_length=3, default="CHN")
    mobile = EncryptedTextField(_("手机号码"), blank=True, default="")
    mobile_bidx = BlindIndexField(source="mobile", purpose="customer.mobile")
    mobile_last4 = models.CharField(max_length=4, blank=True, db_index=True)
    email = EncryptedTextField(_("电子邮箱"), blank=True, default="")
    address = EncryptedTextField(_("联系地址"), blank=True, default="")
    occupation = models.CharField(_("职业"), max_length=40, blank=True)
    industry = models.CharField(_("行业"), max_length=40, blank=True)
    employer = models.CharField(_("工作单位"), max_length=100, blank=True)
    income_band = models.CharField(_("年收入"), max_length=16, blank=True, choices=[
        ("<10w", _("10万元以下")), ("10-30w", _("10万至30万元")), ("30-100w", _("30万至100万元")), ("100w+", _("100万元以上"))])
    preferred_channel = models.CharField(_("偏好联系渠道"), max_length=16, blank=True, choices=[
        ("phone", _("电话")), ("wechat", _("微信")), ("sms", _("短信")), ("email", _("电子邮件")), ("branch", _("网点面谈"))])
    preferred_contact_time = models.CharField(_("偏好联系时间"), max_length=40, blank=True)
    language = models.CharField(_("沟通语言"), max_length=16, blank=True, default="zh")
    legal_representative = models.CharField(_("法定代表人"), max_length=40, blank=True)
    branch = models.ForeignKey("org.Branch", verbose_name=_("归属机构"), on_delete=models.PROTECT, related_name="customers")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    verified_at = models.DateTimeField(_("最近核实时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["customer_no"]
        verbose_name = _("客户")
        verbose_name_plural = _("客户")

    def __str__(self) -> str:
        return f"{self.customer_no} {self.name}"

    def audit_repr(self) -> str:
        from bankcrm.core.masking import mask_name

        return f"{self.customer_no} {mask_name(self.name)}"


class ManagerAssignment(models.Model):
    """A member of staff serving a customer over a period: the primary customer manager or a team member."""

    class Role(models.TextChoices):
        PRIMARY = "primary", _("主管客户经理")
        TEAM = "team", _("协办")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="team")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_assignments")
    role = models.CharField(max_length=8, choices=Role.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["staff", "ended_at"]), models.Index(fields=["customer", "ended_at"])]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(role="primary", ended_at__isnull=True),
                                    name="one_current_primary_manager"),
        ]


class Consent(models.Model):
    """A customer's consent under PIPL: purpose, scope, channel, granted and withdrawn times, evidence."""

    class Purpose(models.TextChoices):
        SENSITIVE = "sensitive", _("处理敏感个人信息（金融账户等）")
        MARKETING = "marketing", _("营销联系")
        SURVEY = "survey", _("满意度调查联系")
        SHARING = "sharing", _("向合作机构提供")

    class Channel(models.TextChoices):
        BRANCH = "branch", _("网点书面")
        ONLINE = "online", _("线上勾选")
        PHONE = "phone", _("电话录音")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("目的"), max_length=16, choices=Purpose.choices)
    scope = models.CharField(_("范围"), max_length=200, blank=True)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    evidence = models.CharField(_("凭证"), max_length=200, blank=True, help_text=_("如书面授权书编号、录音编号"))
    guardian_name = models.CharField(_("监护人"), max_length=40, blank=True)
    granted_at = models.DateTimeField()
    granted_recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "purpose"], condition=Q(withdrawn_at__isnull=True),
                                    name="one_active_consent_per_purpose"),
        ]


class NameBigram(models.Model):
    """Two-character pieces of customer names: the index that serves 2-character Chinese name search, which
    trigram indexes cannot (QUALITY.md P4). A 3+ character query intersects its bigrams."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    bigram = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["bigram", "customer"])]
        constraints = [models.UniqueConstraint(fields=["customer", "bigram"], name="one_bigram_per_customer")]


class Handover(models.Model):
    """A departing customer manager's portfolio moving to named successors under a supervisor, approved by a
    second person, executed in one transaction so that no customer is left without a manager."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草拟中")
        SUBMITTED = "submitted", _("待复核")
        EXECUTED = "executed", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    departing = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("移交人"), on_delete=models.PROTECT,
                                  related_name="handovers_out")
    reason = models.CharField(_("原因"), max_length=200)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    pending_action = models.ForeignKey("approvals.PendingAction", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["departing"], condition=Q(status__in=["draft", "submitted"]),
                                               name="one_open_handover_per_person")]


class HandoverItem(models.Model):
    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="items")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=8, choices=ManagerAssignment.Role.choices)
    successor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["handover", "customer"], name="one_item_per_customer")]


class Relationship(models.Model):
    """A link between two customers: family and household, corporate related parties, guarantors."""

    class Kind(models.TextChoices):
        SPOUSE = "spouse", _("配偶")
        PARENT = "parent", _("父母")
        CHILD = "child", _("子女")
        HOUSEHOLD = "household", _("同户家庭成员")
        LEGAL_REP = "legal_rep", _("法定代表人")
        BENEFICIAL_OWNER = "beneficial_owner", _("受益所有人")
        AUTHORISED = "authorised", _("授权办理人")
        RELATED_PARTY = "related_party", _("关联企业")
        GUARANTOR = "guarantor", _("担保人")

    # How the link reads from the other customer's page ("B is A's parent" → on B's page, A is B's child).
    INVERSE_LABELS = {"parent": _("子女"), "child": _("父母"), "legal_rep": _("担任法定代表人的企业"),
                      "beneficial_owner": _("受益的企业"), "authorised": _("授权其办理的客户"), "guarantor": _("被担保人")}

    from_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations_out")
    to_customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relations_in")
    kind = models.CharField(_("关系"), max_length=20, choices=Kind.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_customer", "to_customer", "kind"], condition=Q(ended_at__isnull=True),
                                    name="one_current_relationship"),
            models.CheckConstraint(condition=~Q(from_customer=models.F("to_customer")), name="relationship_not_self"),
        ]


# ---- Bulk import of customers (ADR 0008) ---------------------------------------------------------------------------
class CustomerImportQuerySet(models.QuerySet):
    def visible_to(self, actor) -> CustomerImportQuerySet:
        """Imports an actor may see: their own, and those of branches in their scope if they may import."""
        if not getattr(actor, "is_authenticated", False) or not access.can(actor, "customers.import"):
            return self.none()
        root = access.scope_root(actor)
        return self if root is None else self.filter(Q(uploaded_by=actor) | Q(branch__path__startswith=root))


class CustomerImport(models.Model):
    """A file of customers registered in bulk: uploaded, columns mapped, every row validated, then imported in the
    background (good rows only, or all or nothing). The file is deleted once the import has finished; counts, the
    error report (row, field, reason: no personal data) and the audit events remain."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("待确认列对应")
        VALIDATING = "validating", _("校验中")
        VALIDATED = "validated", _("已校验")
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        REJECTED = "rejected", _("未导入（存在错误行）")
        FAILED = "failed", _("失败")

    class Mode(models.TextChoices):
        GOOD_ROWS = "good_rows", _("导入正确的行，跳过错误行")
        ALL_OR_NOTHING = "all_or_nothing", _("全部正确才导入，有任何错误则不导入")

    file = models.FileField(_("文件"), upload_to="imports/%Y/%m/", blank=True, max_length=300)
    original_name = models.CharField(_("文件名"), max_length=200)
    size = models.BigIntegerField(_("文件大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    file_format = models.CharField(_("格式"), max_length=8)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(_("列对应"), default=dict, blank=True)
    mode = models.CharField(_("导入方式"), max_length=16, choices=Mode.choices, default=Mode.GOOD_ROWS)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    branch = models.ForeignKey("org.Branch", verbose_name=_("归属机构"), on_delete=models.PROTECT, related_name="+")
    default_manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("默认主管客户经理"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_imports")
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理"), default=0)
    last_row = models.PositiveIntegerField(default=0, help_text="the last file row whose batch committed (resume point)")
    valid_rows = models.PositiveIntegerField(_("正确行数"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    duplicate_rows = models.PositiveIntegerField(_("重复行数"), default=0)
    imported_rows = models.PositiveIntegerField(_("已导入"), default=0)
    error_report = models.FileField(_("错误报告"), upload_to="imports/reports/%Y/%m/", blank=True, max_length=300)
    error_sample = models.JSONField(default=list, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("客户导入")
        verbose_name_plural = _("客户导入")

    def __str__(self) -> str:
        return f"{self.pk} {self.original_name}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.original_name}"

    @property
    def progress(self) -> int:
        """Percent of rows processed in the current phase."""
        if self.status in (self.Status.DONE, self.Status.VALIDATED, self.Status.REJECTED):
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))

    @property
    def busy(self) -> bool:
        return self.status in (self.Status.VALIDATING, self.Status.QUEUED, self.Status.RUNNING)


class CustomerExport(models.Model):
    """An export of customers to Excel. Masked exports are produced at once; an unmasked export needs a reason and
    a second person's approval, and only the requester may download it, before it expires."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待复核")
        READY = "ready", _("可下载")
        DOWNLOADED = "downloaded", _("已下载")
        EXPIRED = "expired", _("已过期")
        REJECTED = "rejected", _("未获批准")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    query = models.CharField(max_length=100, blank=True)
    masked = models.BooleanField(default=True)
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    row_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class DataSubjectRequest(models.Model):
    """A customer exercising PIPL rights (arts. 44–50): a copy of their data, a correction, or deletion. Deletion
    gives way to AML retention: what the law requires is kept but restricted (stored, not processed)."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("查阅复制")
        CORRECTION = "correction", _("更正补充")
        DELETION = "deletion", _("删除")

    class Status(models.TextChoices):
        OPEN = "open", _("处理中")
        COMPLETED = "completed", _("已完成")
        REJECTED = "rejected", _("已拒绝")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subject_requests")
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("渠道"), max_length=8, choices=Consent.Channel.choices)
    details = models.CharField(_("请求内容"), max_length=500, blank=True)
    received_at = models.DateTimeField()
    due_on = models.DateField(_("答复期限"), db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=500, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]


class ContactPoint(models.Model):
    """Further phones, addresses and e-mails of a customer beyond the primary ones (encrypted, masked by default)."""

    class Kind(models.TextChoices):
        MOBILE = "mobile", _("手机")
        LANDLINE = "landline", _("固定电话")
        ADDRESS = "address", _("地址")
        EMAIL = "email", _("电子邮箱")

    MASK = {"mobile": "mobile", "landline": "generic", "address": "address", "email": "email"}

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    label = models.CharField(_("用途"), max_length=20, blank=True, help_text=_("如：家庭、单位、紧急联系人"))
    value = EncryptedTextField(_("内容"))
    value_bidx = BlindIndexField(source="value", purpose="customer.contact")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "created_at"]
