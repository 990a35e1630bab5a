"""The production configuration under HTTP load (QUALITY.md P5, P8), PostgreSQL only.

Set-up (not timed): a database of its own, `bankcrm_bench_http`, cloned from a seeded template
(`bankcrm_bench_http_seed`, rebuilt when missing, when SEED_VERSION changes or with BENCH_HTTP_RESEED=1), then
`migrate`. The seed goes through the services: a bank, a branch with tellers and a customer manager, CUSTOMERS
customers through the bulk registration path, COMPLAINTS complaints (`complaint_register`), ALERTS AML alerts
(`alerting.raise_alerts`, the path monitoring uses), USERS branch supervisors with TOTP devices (enrolled and
confirmed through `org.services`), and two twin customers for P5, each with one complaint: X1 keeps one demand
account, X50 gets 50 accounts (`account_open`) and 10,000 transactions (`ledger.batch.post_batch`: cash in and out,
transfers among its accounts); every outbox consumer drained (audit sealer, real-time monitoring, ratings). Then
gunicorn starts with `config/gunicorn.conf.py`, 2 workers (gthread, 4 threads), `config.settings.prod_bench` (the
production settings; static files from the finders, plus `/bench/hello`), JSON access log to a file, and the USERS
supervisors log in over HTTP (password, then TOTP). Requests carry `X-Forwarded-Proto: https` as the TLS proxy sends.

The load generator is benchmarks/loadgen.py (asyncio streams, one keep-alive connection and session per user,
closed loop). Rounds alternate subject and reference; medians are reported.

- P5_customer_360: USERS users requesting X50's 360 page against the same users requesting `/bench/hello-signed-in`
  (Django "hello" through the whole middleware stack with the same session). Ratio = page req/s / hello req/s
  (target ≥ 0.2). Query counts of X1's and X50's pages (CaptureQueriesContext in a process of its own, signed in as
  one more supervisor) must be equal.
- P8_list_<page> for customers, complaints, alerts: USERS signed-in users on the list page, each pausing a think
  time between pages (exponential, mean THINK = 1 s: fifty staff each opening a list every second, a busy branch);
  reference = the SQL statements the page ran (captured once) replayed by USERS psycopg connections with the same
  think time and no framework. Reported: p95 (target ≤ 100 ms), throughput, p95 ratio to the reference, and the
  same page with no think time at all (`saturation`: the two workers' capacity; p95 there is queueing,
  users / throughput, and says nothing about a single request).

Sizes: quick 6 s per phase × 3 rounds; full 20 s × 3 rounds. BENCH_HTTP_SECONDS overrides.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_VERSION = "bench-http-3"
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/bankcrm_bench").rsplit("/", 1)[0]
TEMPLATE, WORK = "bankcrm_bench_http_seed", "bankcrm_bench_http"
VAR = ROOT / "var" / "bench" / "http"
SECRET = "bench-http-secret-key-not-for-production-0123456789abcdef"
PASSWORD = "Bench-Http-Passw0rd!"
USERS = 50
CUSTOMERS = 5000
COMPLAINTS = 300
ALERTS = 300
ACCOUNTS = 50
TRANSACTIONS = 10_000
ROUNDS = 3
THINK = float(os.environ.get("BENCH_HTTP_THINK", "1.0"))
SEED = 20261130
BRANCH = "906"
LISTS = {"customers": "/customers/", "complaints": "/service/complaints/", "alerts": "/risk/alerts/"}


def _env(db: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BANKCRM_", "DATABASE_", "BENCH_DATABASE"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.prod_bench", DJANGO_SECRET_KEY=SECRET,
               DATABASE_URL=f"{PG_BASE}/{db}", DJANGO_ALLOWED_HOSTS="127.0.0.1,testserver",
               BANKCRM_KEYS_FILE=str(VAR / "keys.json"), BANKCRM_VAR_DIR=str(VAR / "var"),
               BANKCRM_AUDIT_HEAD_DIR=str(VAR / "audit-heads"), BANKCRM_LOG_LEVEL="WARNING", **extra)
    return env


def _psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", f"{PG_BASE}/{db}", "-XAtqc", sql], check=True, capture_output=True, text=True).stdout.strip()


def _manage(db: str, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(db), check=True)


def _child(db: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__)), mode], cwd=ROOT, env=_env(db), check=True,
                         capture_output=True, text=True)
    sys.stderr.write(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepare() -> tuple[dict, float]:
    """The working database cloned from the seeded template (seeding the template first when needed)."""
    t = time.perf_counter()
    VAR.mkdir(parents=True, exist_ok=True)
    seed_file = VAR / "seed.json"
    comment = _psql(f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{TEMPLATE}'")
    if os.environ.get("BENCH_HTTP_RESEED") == "1" or comment != SEED_VERSION or not seed_file.exists() \
            or not (VAR / "keys.json").exists():
        _psql(f"DROP DATABASE IF EXISTS {WORK} WITH (FORCE)")
        _psql(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        _psql(f"CREATE DATABASE {TEMPLATE}")
        (VAR / "keys.json").unlink(missing_ok=True)
        _manage(TEMPLATE, "init_keys")
        _manage(TEMPLATE, "migrate", "-v0")
        seed = _child(TEMPLATE, "seed")
        seed_file.write_text(json.dumps(seed))
        _psql(f"COMMENT ON DATABASE {TEMPLATE} IS '{SEED_VERSION}'")
    _psql(f"DROP DATABASE IF EXISTS {WORK} WITH (FORCE)")
    _psql(f"CREATE DATABASE {WORK} TEMPLATE {TEMPLATE}")
    _manage(WORK, "migrate", "-v0")  # migrations added since the template was seeded
    return json.loads(seed_file.read_text()), time.perf_counter() - t


# ---- seeding (runs in a child process with the production settings) ------------------------------------------------
def seed() -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from bankcrm.core import context, outbox
    from bankcrm.core.identifiers import ric_check_char
    from bankcrm.customers import bulk
    from bankcrm.customers import services as customers
    from bankcrm.customers.demo_bulk import generate
    from bankcrm.customers.models import Customer
    from bankcrm.ledger import batch
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Account, JournalEntry, Product
    from bankcrm.org import services as org
    from bankcrm.org.models import Staff
    from bankcrm.risk import alerting
    from bankcrm.service import services as service

    rng = random.Random(SEED)
    t = time.perf_counter()
    with context.channel("command"):
        admin = org.bank_bootstrap(head_office_code="900", head_office_name="基准总行", admin_staff_no="HAD01",
                                   admin_name="基准管理", admin_password=PASSWORD)
        admin = Staff.objects.get(pk=admin.pk)
        ledger.ledger_bootstrap(actor=admin)
        branch = org.branch_create(actor=admin, code=BRANCH, name="压测分行", kind="branch", parent_id=admin.branch_id)

        def staff(no: str, name: str, role: str) -> Staff:
            s = org.staff_create(actor=admin, staff_no=no, name=name, branch_id=branch.pk, employment_type="employee",
                                 roles=[role], password=PASSWORD)
            return Staff.objects.select_related("branch").get(pk=s.pk)

        teller = staff("HOM01", "压测柜员", "operations_manager")
        cm = staff("HCM01", "压测经理", "customer_manager")
        registrar = bulk.BulkRegistrar(actor=staff("HSV00", "压测行长", "branch_supervisor"), default_manager=cm,
                                       source="bench_http")
        bulk.register_rows(generate(random.Random(SEED), CUSTOMERS, [], timezone.localdate()), registrar=registrar,
                           workers=1)
        ids = list(Customer.objects.filter(branch=branch).order_by("id").values_list("id", flat=True))

        def ric(born: str, seq: str) -> str:
            body = "110105" + born + seq
            return body + ric_check_char(body)

        twins = {}
        for label, born in (("x1", "19760512"), ("x50", "19760513")):
            c = customers.customer_register(actor=cm, kind="person", name="欧阳" + ("一户" if label == "x1" else "多户"),
                                            id_type="resident_id", id_number=ric(born, "271"), mobile="1391234" + born[-4:],
                                            email=f"{label}@example.cn", address="北京市西城区金融大街1号")
            service.complaint_register(actor=cm, customer_id=c.pk, channel="branch", summary="对网点排队时间不满意")
            twins[label] = c.pk
        for i in range(COMPLAINTS):
            service.complaint_register(actor=cm, customer_id=ids[i * 7 % len(ids)], channel=rng.choice(["branch", "phone"]),
                                       summary=f"压测投诉事项{i:04d}")
        today = timezone.localdate()
        kinds = [("0501", "large_value", "large"), ("0503", "large_value", "large"), ("S01", "structuring", "suspicious"),
                 ("S02", "rapid_in_out", "suspicious")]
        hits = [alerting.Hit(dedupe_key=f"bench-http-{i}", rule_code=kinds[i % 4][0], kind=kinds[i % 4][1],
                             report_kind=kinds[i % 4][2], customer_id=ids[i * 11 % len(ids)],
                             branch_path=branch.path, business_date=today - timedelta(days=i % 20),
                             total_minor=5_000_000 + i, threshold_minor=5_000_000, currency_group="CNY", direction="in")
                for i in range(ALERTS)]
        from django.db import transaction

        with transaction.atomic():
            alerting.raise_alerts(hits, source="batch")

        demand = Product.objects.get(code="D-CNY")
        box = ledger.cash_box_open(actor=teller)
        accounts = {}
        for label, n in (("x1", 1), ("x50", ACCOUNTS)):
            accounts[label] = [ledger.account_open(actor=teller, customer_id=twins[label], product_id=demand.pk).pk
                               for _ in range(n)]
        K = JournalEntry.Kind
        funding = [ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=50_000_000, currency="CNY", debit_id=box.pk,
                                   credit_id=a, memo="开户存入") for a in accounts["x50"] + accounts["x1"]]
        moves = []
        x50 = accounts["x50"]
        for _ in range(TRANSACTIONS - len(x50)):
            amount = rng.randint(100, 50_000)
            r = rng.random()
            if r < 0.5:
                a, b = rng.sample(x50, 2)
                moves.append(ledger.Movement(kind=K.INTERNAL, amount_fen=amount, currency="CNY", debit_id=a, credit_id=b,
                                             customer_id=twins["x50"], memo="行内转账"))
            elif r < 0.75:
                moves.append(ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=amount, currency="CNY", debit_id=box.pk,
                                             credit_id=rng.choice(x50), memo="现金存入"))
            else:
                moves.append(ledger.Movement(kind=K.CASH_WITHDRAWAL, amount_fen=amount, currency="CNY",
                                             debit_id=rng.choice(x50), credit_id=box.pk, memo="现金支取"))
        result = batch.post_batch(funding + moves, maker=teller)
        assert not result.rejected, [(i, e.code) for i, e in result.rejected[:5]]
        x1_moves = [ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=rng.randint(100, 50_000), currency="CNY",
                                    debit_id=box.pk, credit_id=accounts["x1"][0], memo="现金存入") for _ in range(20)]
        batch.post_batch(x1_moves, maker=teller)

        users = []
        for i in range(USERS + 1):  # one more for the in-process query counts
            s = staff(f"HSV{i + 1:02d}", f"压测行长{i + 1}", "branch_supervisor")
            device = org.totp_begin_enrolment(actor=s)
            org.totp_confirm(actor=s, token=_code(device.key, device.t0, device.step, device.digits))
            users.append({"staff_no": s.staff_no, "key": device.key, "t0": device.t0, "step": device.step,
                          "digits": device.digits})
        for name in sorted(outbox.CONSUMERS):
            while outbox.consume(name, batch=2000):
                pass
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    from django.db.models import Q

    x50_entries = JournalEntry.objects.filter(Q(debit_account_id__in=x50) | Q(credit_account_id__in=x50)).count()
    return {"version": SEED_VERSION, "twins": twins, "users": users, "seed_s": round(time.perf_counter() - t, 1),
            "x50_accounts": Account.objects.filter(customer_id=twins["x50"]).count(), "x50_transactions": x50_entries,
            "customers": Customer.objects.count()}


def _code(key_hex: str, t0: int, step: int, digits: int, offset: int = 0) -> str:
    """RFC 6238 TOTP, as an authenticator app computes it."""
    import binascii

    from django_otp.oath import totp

    return f"{totp(binascii.unhexlify(key_hex), step=step, t0=t0, digits=digits, drift=offset):0{digits}d}"


def count_queries() -> dict:
    """In-process, as the page's own view runs: query counts of the twins' 360 pages and the SQL of the list pages."""
    import django

    django.setup()
    from django.contrib.sessions.backends.base import SessionBase
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bankcrm.org.middleware import SESSION_SID
    from bankcrm.org.models import Staff
    from bankcrm.org.services import session_register

    seed_data = json.loads((VAR / "seed.json").read_text())
    staff = Staff.objects.get(staff_no=seed_data["users"][-1]["staff_no"])
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(staff, backend="bankcrm.org.auth.StaffBackend")
    session: SessionBase = client.session
    session[SESSION_SID] = session_register(staff=staff, ip="127.0.0.1", user_agent="bench").session_key
    session["otp_device_id"] = TOTPDevice.objects.get(user=staff, confirmed=True).persistent_id
    session.save()
    out: dict = {}
    for label, pk in seed_data["twins"].items():
        url = f"/customers/{pk}/"
        assert client.get(url, secure=True).status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url, secure=True)
        assert r.status_code == 200
        out[f"queries_{label}"] = len(ctx.captured_queries)
    out["lists"] = {}
    for name, url in LISTS.items():
        client.get(url, secure=True)
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url, secure=True)
        assert r.status_code == 200, (name, r.status_code)
        sqls = [q["sql"] for q in ctx.captured_queries
                if not re.match(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)", q["sql"])]
        out["lists"][name] = sqls
    return out


# ---- the server and its users ----------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gunicorn(port: int) -> tuple[subprocess.Popen, Path]:
    log = VAR / "gunicorn.log"
    env = _env(WORK, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2",
               GUNICORN_WORKER_CLASS=os.environ.get("BENCH_HTTP_WORKER_CLASS", "gthread"),
               GUNICORN_THREADS=os.environ.get("BENCH_HTTP_THREADS", "4"), GUNICORN_ACCESS_LOG=str(VAR / "access.log"),
               PROMETHEUS_MULTIPROC_DIR=str(VAR / "prometheus"), GUNICORN_MAX_REQUESTS="0")
    (VAR / "access.log").unlink(missing_ok=True)
    (VAR / "var" / "static").mkdir(parents=True, exist_ok=True)  # STATIC_ROOT exists, as after collectstatic
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.conf.py"], cwd=ROOT,
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    import http.client

    t = time.monotonic()
    while time.monotonic() - t < 120:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/readyz", headers={"Host": "127.0.0.1"})
            if c.getresponse().status == 200:
                return proc, log
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready: " + log.read_text()[-3000:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _login(port: int, user: dict) -> str:
    """Password then TOTP through the login pages, as a browser behind the TLS proxy does; returns the session id."""
    import http.client
    from urllib.parse import urlencode

    origin = f"https://127.0.0.1:{port}"
    jar: dict[str, str] = {}

    def req(method: str, path: str, form: dict | None = None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
                            "Referer": origin + path})
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        for name, value in r.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                jar[k] = rest.split(";", 1)[0]
        c.close()
        return r, text

    def csrf(text: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)

    _r, page = req("GET", "/accounts/login/")
    r, _t = req("POST", "/accounts/login/", {"csrfmiddlewaretoken": csrf(page), "username": user["staff_no"],
                                             "password": PASSWORD})
    assert r.status == 302 and "/totp/" in r.getheader("Location", ""), (r.status, r.getheader("Location"))
    for offset in (0, 1):
        _r, page = req("GET", "/accounts/login/totp/")
        r, _t = req("POST", "/accounts/login/totp/", {"csrfmiddlewaretoken": csrf(page),
                                                      "token": _code(user["key"], user["t0"], user["step"],
                                                                     user["digits"], offset)})
        if r.status == 302 and "/accounts/login" not in r.getheader("Location", ""):
            return jar["sessionid"]
    raise RuntimeError(f"login of {user['staff_no']} failed")


# ---- the run -------------------------------------------------------------------------------------------------------------
def _load() -> float:
    """The machine's 1-minute load average when a workload ends: on a shared 2-core box, read every figure with it."""
    return round(os.getloadavg()[0], 2)


def run(*, quick: bool, database: str) -> list[dict]:
    if database != "postgresql":
        return []  # the production configuration is PostgreSQL (QUALITY.md P5/P8)
    from benchmarks import loadgen

    seconds = float(os.environ.get("BENCH_HTTP_SECONDS") or (6 if quick else 20))
    warmup = 1.0 if quick else 3.0
    seed_data, setup_s = _prepare()
    counted = _child(WORK, "queries")
    port = _free_port()
    proc, _log = _start_gunicorn(port)
    out = []
    try:
        t = time.perf_counter()
        sessions = [_login(port, u) for u in seed_data["users"][:USERS]]
        login_s = time.perf_counter() - t
        users = [{"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "Cookie": f"sessionid={s}"} for s in sessions]
        x50 = f"/customers/{seed_data['twins']['x50']}/"
        loadgen.load("127.0.0.1", port, users, [x50, "/bench/hello-signed-in"], seconds=2, warmup=0)  # warm workers

        page, hello = [], []
        for _ in range(ROUNDS):
            hello.append(loadgen.load("127.0.0.1", port, users, ["/bench/hello-signed-in"], seconds=seconds, warmup=warmup))
            page.append(loadgen.load("127.0.0.1", port, users, [x50], seconds=seconds, warmup=warmup))
        ratios = [p.rps / h.rps for p, h in zip(page, hello, strict=True) if h.rps]
        anon = loadgen.load("127.0.0.1", port, [{"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}] * USERS,
                            ["/bench/hello"], seconds=seconds, warmup=warmup)
        mid = sorted(range(ROUNDS), key=lambda i: ratios[i])[ROUNDS // 2]
        out.append({
            "workload": "P5_customer_360", "subject": round(statistics.median(p.rps for p in page), 1),
            "reference": round(statistics.median(h.rps for h in hello), 1), "ratio": round(statistics.median(ratios), 3),
            "target": ">= 0.2; same queries for 1 and 50 accounts", "n": sum(p.n for p in page), "unit": "req/s",
            "users": USERS, "seconds_per_phase": seconds, "rounds": [round(r, 3) for r in ratios],
            "page": page[mid].summary(), "hello_signed_in": hello[mid].summary(), "hello_anonymous": anon.summary(),
            "queries_1_account": counted["queries_x1"], "queries_50_accounts": counted["queries_x50"],
            "same_query_count": counted["queries_x1"] == counted["queries_x50"],
            "x50_accounts": seed_data["x50_accounts"], "x50_transactions": seed_data["x50_transactions"],
            "setup_s": round(setup_s, 1), "login_s": round(login_s, 1), "loadavg_1m": _load(),
            "notes": ("gunicorn 2 workers (gthread x4), prod settings; customer with 50 accounts / 10,000 transactions "
                      "vs the signed-in hello view on the same server; ratio of req/s, median of rounds"),
        })

        import asyncio

        dsn = f"{PG_BASE}/{WORK}"
        for name, url in LISTS.items():
            subj, ref = [], []
            for _ in range(ROUNDS):
                ref.append(asyncio.run(loadgen.sql_load(dsn, USERS, counted["lists"][name], seconds=seconds,
                                                        warmup=warmup, think=THINK)))
                subj.append(loadgen.load("127.0.0.1", port, users, [url], seconds=seconds, warmup=warmup, think=THINK))
            saturation = loadgen.load("127.0.0.1", port, users, [url], seconds=seconds, warmup=warmup)
            p95 = statistics.median(s.pct(0.95) for s in subj) * 1000
            rp95 = statistics.median(r.pct(0.95) for r in ref) * 1000
            mid = sorted(range(ROUNDS), key=lambda i: subj[i].pct(0.95))[ROUNDS // 2]
            out.append({
                "workload": f"P8_list_{name}", "subject": round(p95, 1), "reference": round(rp95, 1),
                "ratio": round(p95 / rp95, 3) if rp95 else 0.0, "target": "p95 <= 100 ms at 50 users",
                "target_met": p95 <= 100, "n": sum(s.n for s in subj), "unit": "ms p95", "users": USERS,
                "think_s": THINK, "saturation": saturation.summary(), "loadavg_1m": _load(),
                "subject_rps": round(statistics.median(s.rps for s in subj), 1),
                "reference_rps": round(statistics.median(r.rps for r in ref), 1),
                "statements_per_page": len(counted["lists"][name]), "page": subj[mid].summary(),
                "notes": (f"GET {url} (first page) by {USERS} signed-in supervisors, think {THINK} s, 2 gunicorn "
                          f"workers; reference: the page's SQL by {USERS} psycopg connections; saturation (no think): "
                          f"{saturation.rps:.0f} req/s, p95 {saturation.pct(0.95) * 1000:.0f} ms"),
            })
    finally:
        _stop(proc)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    mode = sys.argv[1]
    result = seed() if mode == "seed" else count_queries()
    print(json.dumps(result, ensure_ascii=False, default=str))
