"""Approvals' contribution to the cross-feature inbox."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bankcrm.core.inbox import InboxItem, register_provider

from . import selectors


def _items(actor):
    for pa in selectors.pending_for_checker(actor).order_by("expires_at")[:50]:
        yield InboxItem(kind="approval", kind_label=_("待我复核"), title=pa.summary,
                        url=reverse("approvals:detail", args=[pa.pk]), due_at=pa.expires_at,
                        subtitle=f"{pa.maker.name} · {pa.maker.branch.label}")


def _count(actor) -> int:
    return selectors.pending_for_checker(actor).count()


register_provider("approvals", _items, _count)
