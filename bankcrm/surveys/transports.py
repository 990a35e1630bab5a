"""Delivery of survey invitations through pluggable transports.

A transport formats the message for its channel (SMS: short, one line; e-mail: subject and body) and hands it to a
sink. The customer's phone number or e-mail address is read (decrypted) through the Customer model here and only
here, is never logged, and is stored only masked. Sinks:

- ``outbox`` (default, demo and tests): the message is written to the OutboxMessage table, in the dispatch chunk's
  transaction (so a killed dispatch never leaves a message without its invitation marked sent, nor the reverse),
  and staff read it on the 消息发件箱 page;
- ``mail`` (e-mail only): Django's mail backend, with the invitation's id as the Message-ID's local part so that a
  resumed run's resend is recognisable downstream.

``settings.SURVEYS_DELIVERY`` picks the sink; a real SMS gateway is a new sink with the same two-line interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext as _

from bankcrm.core import masking


@dataclass(frozen=True)
class Message:
    channel: str
    recipient: str  # plain: never stored or logged
    subject: str
    body: str


class Transport(Protocol):
    channel: str

    def recipient(self, customer: Any) -> str: ...

    def format(self, *, link: str, days: int, bank: str) -> tuple[str, str]: ...


class SmsTransport:
    channel = "sms"
    mask_kind = "mobile"

    def recipient(self, customer: Any) -> str:
        return customer.mobile or ""

    def format(self, *, link: str, days: int, bank: str) -> tuple[str, str]:
        body = _("【%(bank)s】感谢您近期到访。请花1分钟评价我们的服务：%(link)s （%(days)s天内有效，仅可提交一次）回复TD退订") % {
            "bank": bank, "link": link, "days": days}
        return "", body


class EmailTransport:
    channel = "email"
    mask_kind = "email"

    def recipient(self, customer: Any) -> str:
        return customer.email or ""

    def format(self, *, link: str, days: int, bank: str) -> tuple[str, str]:
        subject = _("%(bank)s 服务满意度调查") % {"bank": bank}
        body = _("尊敬的客户：\n\n感谢您选择%(bank)s。为了改进服务，诚邀您花一分钟填写满意度调查：\n%(link)s\n\n"
                 "链接%(days)s天内有效，仅可提交一次，无需登录。我行不会通过此链接索取密码、验证码等信息。\n\n%(bank)s") % {
            "bank": bank, "link": link, "days": days}
        return subject, body


TRANSPORTS: dict[str, Any] = {"sms": SmsTransport(), "email": EmailTransport()}


def for_channel(channel: str) -> Any:
    return TRANSPORTS[channel]


def deliver(invitation: Any, *, link: str, days: int) -> bool:
    """Format and send one invitation; False when the customer has no address for the channel (nothing sent)."""
    from .models import OutboxMessage

    transport = for_channel(invitation.channel)
    to = transport.recipient(invitation.customer)
    if not to:
        return False
    bank = getattr(settings, "BANK_DISPLAY_NAME", "") or _("本行")
    subject, body = transport.format(link=link, days=days, bank=bank)
    if getattr(settings, "SURVEYS_DELIVERY", "outbox") == "mail" and transport.channel == "email":
        from django.core.mail import EmailMessage

        EmailMessage(subject, body, to=[to], headers={"Message-ID": f"<survey-{invitation.pk}@bankcrm>"}).send()
    OutboxMessage.objects.create(invitation=invitation, channel=transport.channel, subject=subject, body=body,
                                 recipient_masked=masking.mask(transport.mask_kind, to),
                                 branch_path=invitation.branch_path)
    return True
