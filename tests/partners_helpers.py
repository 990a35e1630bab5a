"""Shared set-up for the partner tests: partners made through the services, calls with a partner key, and a real
local HTTP receiver (http.server in a thread) that records webhooks and answers with scripted status codes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import Client

from bankcrm.partners import partner_rules as rules
from bankcrm.partners import partner_services as svc

ALL_FUND_SCOPES = [rules.SCOPE_EVENTS, rules.SCOPE_PRODUCTS, rules.SCOPE_NAV]


def fund_company(bank, code: str = "RFFUND", **extra):
    values = dict(name="瑞丰基金管理有限公司", kind=rules.FUND_COMPANY, contact="TA 运营中心",
                  allowed_events=[rules.SALE_SETTLED], allowed_scopes=ALL_FUND_SCOPES)
    values.update(extra)
    return svc.partner_create(actor=bank.admin, code=code, **values)


def key_for(bank, partner, scopes=None, **kw):
    return svc.key_issue(actor=bank.admin, partner_id=partner.pk, label=kw.pop("label", "TA 系统对接"),
                         scopes=scopes if scopes is not None else list(partner.allowed_scopes), **kw)


def call(token: str | None, method: str, path: str, data=None, **headers):
    import json

    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    extra.update(headers)
    c = Client()
    if method == "get":
        return c.get(path, **extra)
    return getattr(c, method)(path, data=json.dumps(data or {}), content_type="application/json", **extra)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A partner's webhook receiver on 127.0.0.1. ``script``: status codes to answer, in order (then 200)."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bankcrm/webhooks"


def start_receiver() -> Receiver:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            r = holder["r"]
            with r.lock:
                r.received.append(Received(self.path, {k: v for k, v in self.headers.items()}, body))
                status = r.script.pop(0) if r.script else 200
            if status in (301, 302, 307, 308):
                self.send_response(status)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/elsewhere")
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"error")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = r = Receiver(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return r
