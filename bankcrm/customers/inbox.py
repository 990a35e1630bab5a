"""Customer information stays accurate: expired or soon-expiring identity documents, and customers not re-verified
within the configured period, appear in their manager's inbox (DOMAIN_RULES.md §1, CRM principle)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import masking, params
from bankcrm.core.inbox import InboxItem, register_provider

from .models import Customer, ManagerAssignment


def _mine(actor):
    """Active customers the actor manages as primary manager (their own to-do list, not the whole branch)."""
    return Customer.objects.filter(status=Customer.Status.ACTIVE).filter(
        pk__in=ManagerAssignment.objects.filter(staff=actor, role="primary", ended_at__isnull=True).values("customer_id"))


def _documents(actor):
    horizon = timezone.localdate() + timedelta(days=params.value("customers.document_expiry_warning"))
    return _mine(actor).filter(id_expires_on__isnull=False, id_expires_on__lte=horizon).order_by("id_expires_on")


def _reverify(actor):
    cutoff = timezone.now() - relativedelta(months=params.value("customers.reverify_period"))
    return _mine(actor).filter(Q(verified_at__lt=cutoff) | Q(verified_at__isnull=True)).order_by("verified_at")


def _doc_items(actor):
    today = timezone.localdate()
    for c in _documents(actor)[:50]:
        expired = c.id_expires_on < today
        title = (_("%(name)s 的证件已于 %(d)s 过期，请联系客户更新") if expired else _("%(name)s 的证件将于 %(d)s 到期")) % {
            "name": masking.mask_name(c.name) if actor.sees_masked_names else c.name, "d": c.id_expires_on}
        yield InboxItem(kind="document", kind_label=gettext_lazy("证件到期"), title=title,
                        url=reverse("customers:detail", args=[c.pk]),
                        due_at=timezone.make_aware(datetime.combine(c.id_expires_on, time.max)), subtitle=c.customer_no)


def _reverify_items(actor):
    for c in _reverify(actor)[:50]:
        yield InboxItem(kind="reverify", kind_label=gettext_lazy("信息复核"),
                        title=_("%(name)s 的客户信息超过复核周期未核实") % {
                            "name": masking.mask_name(c.name) if actor.sees_masked_names else c.name},
                        url=reverse("customers:detail", args=[c.pk]), due_at=None, subtitle=c.customer_no)


register_provider("customers.documents", _doc_items, lambda a: _documents(a).count())
register_provider("customers.reverify", _reverify_items, lambda a: _reverify(a).count())
