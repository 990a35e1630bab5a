"""Customer state changes: registration, updates with history, verification, managers, consents, unmasking."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, crypto, logs, masking, outbox, params, sequences
from bankcrm.core.access import Role
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed, from_django

from . import rules, selectors
from .models import Consent, Customer, ManagerAssignment, NameBigram
from .validation import clean_email, clean_identity, clean_mobile

PROFILE_FIELDS = ("kind", "name", "id_type", "id_number", "id_expires_on", "gender", "birth_date", "nationality", "mobile",
                  "email", "address", "occupation", "industry", "employer", "income_band", "preferred_channel",
                  "preferred_contact_time", "language", "legal_representative", "branch", "status")
EDITABLE = ("name", "id_expires_on", "nationality", "mobile", "email", "address", "occupation", "industry", "employer",
            "income_band", "preferred_channel", "preferred_contact_time", "language", "legal_representative")
REVEALABLE = {"id_number": "id_number", "mobile": "mobile", "email": "email", "address": "address"}

# Facts other features consume after commit (AML rating and watch-list screening of new and changed customers).
TOPIC_REGISTERED = "customers.registered"
TOPIC_CHANGED = "customers.changed"


def _duplicate_error(actor: Any, existing: Customer) -> RuleViolation:
    if selectors.customers_visible(actor).filter(pk=existing.pk).exists():
        return RuleViolation("customer_duplicate", _("该证件号码已登记为客户 %(no)s（%(name)s），请勿重复登记") % {
            "no": existing.customer_no, "name": masking.mask_name(existing.name)}, fields={"id_number": [_("已登记")]},
            customer_id=existing.pk)
    return RuleViolation("customer_duplicate_hidden", _("该证件号码已在本行登记，但不在您的管户范围内，请联系网点负责人"),
                         fields={"id_number": [_("已登记")]})


def _index_name(customer: Customer) -> None:
    customer.name_pinyin, customer.name_initials = rules.name_keys(customer.name)
    customer.mobile_last4 = customer.mobile[-4:] if customer.mobile else ""


def _write_bigrams(customer: Customer, replace: bool = False) -> None:
    if replace:
        NameBigram.objects.filter(customer=customer).delete()
    NameBigram.objects.bulk_create([NameBigram(customer=customer, bigram=b) for b in sorted(rules.bigrams(customer.name))])


def customer_register(*, actor: Any, kind: str, name: str, id_type: str, id_number: str, mobile: str = "", email: str = "",
                      address: str = "", branch_id: int | None = None, primary_manager_id: int | None = None,
                      **profile: Any) -> Customer:
    """Register a customer after checking the identity number (birth date and gender come from it) and refusing a
    second customer with the same number. The registering customer manager becomes the primary manager unless
    another is named."""
    access.require(actor, "customers.register")
    if kind not in Customer.Kind.values:
        raise ValidationFailed("kind_invalid", _("无效的客户类型"), fields={"kind": [_("无效的客户类型")]})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed("name_required", _("请填写客户姓名或名称"), fields={"name": [_("必填")]})
    ident = clean_identity(kind, id_type, id_number)
    mobile, email = clean_mobile(mobile), clean_email(email)
    unknown = set(profile) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("unknown_fields", _("不能设置的字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        from bankcrm.org.selectors import branch_get, staff_get

        branch = branch_get(actor, branch_id) if branch_id else actor.branch
        existing = Customer.objects.filter(id_number_bidx=crypto.blind_index(ident.id_number, "customer.id_number")).first()
        if existing:
            raise _duplicate_error(actor, existing)
        if primary_manager_id:
            manager = staff_get(actor, primary_manager_id) if primary_manager_id != actor.pk else actor
        elif Role.CUSTOMER_MANAGER in actor.roles:
            manager = actor
        else:
            manager = None
        if manager is not None and (Role.CUSTOMER_MANAGER not in manager.roles or not manager.is_active):
            raise ValidationFailed("manager_invalid", _("主管客户经理必须是在岗的客户经理"),
                                   fields={"primary_manager": [_("必须是在岗的客户经理")]})
        customer = Customer(kind=kind, name=name, id_type=ident.id_type, id_number=ident.id_number,
                            birth_date=ident.birth_date, gender=ident.gender, mobile=mobile, email=email,
                            address=(address or "").strip(), branch=branch, created_by=actor,
                            customer_no=rules.customer_no_from_sequence(sequences.next_value("customer_no")),
                            verified_at=timezone.now(), **{k: (v or "") if k != "id_expires_on" else v for k, v in profile.items()})
        _index_name(customer)
        try:
            customer.full_clean(exclude=["id_number_bidx", "mobile_bidx", "created_by"])
        except ValidationError as exc:
            raise from_django(exc) from None
        try:
            with transaction.atomic():
                customer.save(force_insert=True)
        except IntegrityError:  # a concurrent registration of the same number won the race
            raise _duplicate_error(actor, Customer.objects.get(id_number_bidx=customer.id_number_bidx)) from None
        _write_bigrams(customer)
        if manager is not None:
            ManagerAssignment.objects.create(customer=customer, staff=manager, role=ManagerAssignment.Role.PRIMARY,
                                             started_at=timezone.now(), assigned_by=actor, reason=_("登记客户"))
        audit.record(actor=actor, verb="customers.registered", target=customer,
                     after={**audit.snapshot(customer, PROFILE_FIELDS), "primary_manager": manager.pk if manager else None})
        outbox.publish(TOPIC_REGISTERED, {"customer_id": customer.pk})  # ids only: no personal data in events
    return customer


def customer_update(*, actor: Any, customer_id: int, reason: str = "", **changes: Any) -> Customer:
    """Change profile fields. Identity numbers are not edited here (a wrong number is a new registration with the
    old one closed); every change keeps its before/after (masked) in the audit trail."""
    access.require(actor, "customers.edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("unknown_fields", _("不能修改的字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    if "mobile" in changes:
        changes["mobile"] = clean_mobile(changes["mobile"])
    if "email" in changes:
        changes["email"] = clean_email(changes["email"])
    if "name" in changes:
        changes["name"] = " ".join((changes["name"] or "").split())
        if not changes["name"]:
            raise ValidationFailed("name_required", _("请填写客户姓名或名称"), fields={"name": [_("必填")]})
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        if customer.status != Customer.Status.ACTIVE:
            raise RuleViolation("customer_not_active", _("该客户不是正常状态，不能修改"))
        before = audit.snapshot(customer, PROFILE_FIELDS)
        name_changed = "name" in changes and changes["name"] != customer.name
        for k, v in changes.items():
            setattr(customer, k, v if v is not None or k == "id_expires_on" else "")
        _index_name(customer)
        try:
            customer.full_clean(exclude=["id_number_bidx", "mobile_bidx", "created_by"])
        except ValidationError as exc:
            raise from_django(exc) from None
        customer.save()
        if name_changed:
            _write_bigrams(customer, replace=True)
        b, a = audit.diff(before, audit.snapshot(customer, PROFILE_FIELDS))
        if a:
            audit.record(actor=actor, verb="customers.updated", target=customer, before=b, after=a, reason=reason)
            outbox.publish(TOPIC_CHANGED, {"customer_id": customer.pk, "fields": sorted(a)})
    return customer


def customer_verify(*, actor: Any, customer_id: int, note: str = "") -> Customer:
    """Record that the customer's information was re-verified with the customer (periodic re-verification)."""
    access.require(actor, "customers.edit")
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        before = customer.verified_at
        customer.verified_at = timezone.now()
        customer.save(update_fields=["verified_at", "updated_at"])
        audit.record(actor=actor, verb="customers.verified", target=customer, before={"verified_at": before},
                     after={"verified_at": customer.verified_at}, reason=note)
    return customer


def manager_assign(*, actor: Any, customer_id: int, staff_id: int, role: str = ManagerAssignment.Role.PRIMARY,
                   reason: str) -> ManagerAssignment:
    """Make a customer manager the primary manager (the previous one's period ends) or add a team member."""
    access.require(actor, "customers.assign_manager")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写调整原因"), fields={"reason": [_("必填")]})
    if role not in ManagerAssignment.Role.values:
        raise ValidationFailed("role_invalid", _("无效的分工"))
    from bankcrm.org.selectors import staff_get

    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        staff = staff_get(actor, staff_id)
        if Role.CUSTOMER_MANAGER not in staff.roles or not staff.may_work_now():
            raise RuleViolation("not_a_customer_manager", _("只能分配给在岗的客户经理"))
        if _region(staff.branch.path) != _region(customer.branch.path):
            raise RuleViolation("manager_other_branch", _("客户经理不属于该客户所在分支机构"))
        now = timezone.now()
        current = customer.team.filter(ended_at__isnull=True, staff=staff).first()
        if current and current.role == role:
            raise RuleViolation("already_assigned", _("该员工已在为此客户服务"))
        if role == ManagerAssignment.Role.PRIMARY:
            previous = customer.team.filter(role=role, ended_at__isnull=True).first()
            if previous:
                previous.ended_at = now
                previous.save(update_fields=["ended_at"])
            if current:  # promoted from team member
                current.ended_at = now
                current.save(update_fields=["ended_at"])
        else:
            previous = None
        assignment = ManagerAssignment.objects.create(customer=customer, staff=staff, role=role, started_at=now,
                                                      assigned_by=actor, reason=reason)
        audit.record(actor=actor, verb="customers.manager_assigned", target=customer,
                     before={"primary_manager": previous.staff_id if previous else None},
                     after={"staff": staff.pk, "role": role}, reason=reason)
    return assignment


def _region(path: str) -> str:
    """The branch (second level of the tree) a path belongs to: /001/101/10101/ → /001/101/."""
    return "/".join(path.split("/")[:3]) + "/"


def manager_remove(*, actor: Any, customer_id: int, assignment_id: int, reason: str) -> None:
    access.require(actor, "customers.assign_manager")
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        a = customer.team.filter(pk=assignment_id, ended_at__isnull=True).first()
        if a is None:
            raise NotFound("assignment_not_found", _("该服务关系不存在或已结束"))
        if a.role == ManagerAssignment.Role.PRIMARY:
            raise RuleViolation("primary_needs_successor", _("主管客户经理不能直接移除，请改为分配新的主管客户经理"))
        a.ended_at = timezone.now()
        a.save(update_fields=["ended_at"])
        audit.record(actor=actor, verb="customers.manager_removed", target=customer, before={"staff": a.staff_id},
                     reason=reason)


def consent_grant(*, actor: Any, customer_id: int, purpose: str, channel: str, scope: str = "", evidence: str = "",
                  guardian_name: str = "") -> Consent:
    """Record a consent. Customers under the guardian age (PIPL: 14) need a guardian's consent, named here."""
    access.require(actor, "customers.manage_consent")
    if purpose not in Consent.Purpose.values or channel not in Consent.Channel.values:
        raise ValidationFailed("consent_invalid", _("无效的授权目的或渠道"))
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        age = rules.age_on(customer.birth_date, timezone.localdate())
        if age is not None and age < params.value("privacy.guardian_age") and not guardian_name.strip():
            msg = _("客户未满%(n)d周岁，须由监护人同意并填写监护人姓名") % {"n": params.value("privacy.guardian_age")}
            raise ValidationFailed("guardian_required", msg, fields={"guardian_name": [msg]})
        if customer.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists():
            raise RuleViolation("consent_exists", _("该目的的授权已生效"))
        consent = Consent.objects.create(customer=customer, purpose=purpose, channel=channel, scope=scope.strip(),
                                         evidence=evidence.strip(), guardian_name=guardian_name.strip(),
                                         granted_at=timezone.now(), granted_recorded_by=actor)
        audit.record(actor=actor, verb="customers.consent_granted", target=customer,
                     after={"purpose": purpose, "channel": channel, "scope": consent.scope, "guardian": bool(guardian_name)})
    return consent


def consent_withdraw(*, actor: Any, customer_id: int, consent_id: int, reason: str = "") -> Consent:
    access.require(actor, "customers.manage_consent")
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        consent = customer.consents.filter(pk=consent_id, withdrawn_at__isnull=True).first()
        if consent is None:
            raise NotFound("consent_not_found", _("授权不存在或已撤回"))
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit.record(actor=actor, verb="customers.consent_withdrawn", target=customer, before={"purpose": consent.purpose},
                     reason=reason)
    return consent


def customer_reveal(*, actor: Any, customer_id: int, field: str, reason: str) -> str:
    """Show one personal field in full. Needs the unmask capability (never interns or temporary workers) and a
    reason; the unmasking goes to the audit trail and the access log."""
    if field not in REVEALABLE and not field.startswith("contact_"):
        raise ValidationFailed("field_not_revealable", _("该字段不能查看完整信息"))
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("查看完整信息必须填写事由"), fields={"reason": [_("请填写事由")]})
    if not access.can(actor, "customers.unmask"):
        raise PermissionDenied("permission_denied", access.denial_reason(actor, "customers.unmask"),
                               capability="customers.unmask")
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id)
        if field.startswith("contact_"):
            contact = customer.contacts.filter(pk=int(field[8:]) if field[8:].isdigit() else 0, ended_at__isnull=True).first()
            if contact is None:
                raise NotFound("contact_not_found", _("联系方式不存在或已停用"))
            value = contact.value
        else:
            value = getattr(customer, field)
        audit.record(actor=actor, verb="customers.field_revealed", target=customer, after={"field": field}, reason=reason)
        logs.access(actor=actor, view="customers.reveal", subject_type="customers.Customer", subject_ids=[customer.pk],
                    fields=[field], unmasked=True, reason=reason)
    return value


def customer_age(customer: Customer, day: date | None = None) -> int | None:
    return rules.age_on(customer.birth_date, day or timezone.localdate())


def relationship_add(*, actor: Any, customer_id: int, other_customer_id: int, kind: str, note: str = ""):
    """Link two customers the actor may both see (family, related parties, guarantors)."""
    from .models import Relationship

    access.require(actor, "customers.edit")
    if kind not in Relationship.Kind.values:
        raise ValidationFailed("relationship_kind_invalid", _("无效的关系类型"), fields={"kind": [_("无效的关系类型")]})
    with transaction.atomic():
        a = selectors.customer_get(actor, customer_id, for_update=True)
        b = selectors.customer_get(actor, other_customer_id)
        if a.pk == b.pk:
            raise RuleViolation("relationship_self", _("不能与客户本人建立关系"))
        person_kinds = {"spouse", "parent", "child", "household"}
        if kind in person_kinds and (a.kind != Customer.Kind.PERSON or b.kind != Customer.Kind.PERSON):
            raise RuleViolation("relationship_person_only", _("家庭关系只能在个人客户之间建立"))
        if Relationship.objects.filter(_pair_q(a, b), kind=kind, ended_at__isnull=True).exists():
            raise RuleViolation("relationship_exists", _("该关系已存在"))
        rel = Relationship.objects.create(from_customer=a, to_customer=b, kind=kind, note=note.strip()[:200], created_by=actor)
        audit.record(actor=actor, verb="customers.relationship_added", target=a,
                     after={"other": b.pk, "kind": kind, "relationship": rel.pk})
    return rel


def relationship_end(*, actor: Any, customer_id: int, relationship_id: int) -> None:
    from .models import Relationship

    access.require(actor, "customers.edit")
    with transaction.atomic():
        a = selectors.customer_get(actor, customer_id, for_update=True)
        rel = Relationship.objects.filter(_pair_q(a, None), pk=relationship_id, ended_at__isnull=True).first()
        if rel is None:
            raise NotFound("relationship_not_found", _("关系不存在或已解除"))
        rel.ended_at = timezone.now()
        rel.save(update_fields=["ended_at"])
        audit.record(actor=actor, verb="customers.relationship_ended", target=a, before={"relationship": rel.pk, "kind": rel.kind})


def _pair_q(a: Customer, b: Customer | None):
    from django.db.models import Q

    if b is None:
        return Q(from_customer=a) | Q(to_customer=a)
    return (Q(from_customer=a) & Q(to_customer=b)) | (Q(from_customer=b) & Q(to_customer=a))


def contact_add(*, actor: Any, customer_id: int, kind: str, value: str, label: str = ""):
    """Add a further phone, address or e-mail (validated like the primary ones; mobiles stored in E.164)."""
    from .models import ContactPoint

    access.require(actor, "customers.edit")
    if kind not in ContactPoint.Kind.values:
        raise ValidationFailed("contact_kind_invalid", _("无效的联系方式类型"), fields={"kind": [_("无效的类型")]})
    value = (value or "").strip()
    if kind == "mobile":
        value = clean_mobile(value, field="value")
    elif kind == "email":
        value = clean_email(value)
    if not value:
        raise ValidationFailed("contact_value_required", _("请填写联系方式"), fields={"value": [_("必填")]})
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        cp = ContactPoint.objects.create(customer=customer, kind=kind, label=label.strip()[:20], value=value, created_by=actor)
        audit.record(actor=actor, verb="customers.contact_added", target=customer,
                     after={"contact": cp.pk, "kind": kind, "value": masking.mask(ContactPoint.MASK[kind], value)})
    return cp


def contact_end(*, actor: Any, customer_id: int, contact_id: int) -> None:
    from .models import ContactPoint

    access.require(actor, "customers.edit")
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id, for_update=True)
        cp = ContactPoint.objects.filter(customer=customer, pk=contact_id, ended_at__isnull=True).first()
        if cp is None:
            raise NotFound("contact_not_found", _("联系方式不存在或已停用"))
        cp.ended_at = timezone.now()
        cp.save(update_fields=["ended_at"])
        audit.record(actor=actor, verb="customers.contact_ended", target=customer, before={"contact": cp.pk, "kind": cp.kind})
