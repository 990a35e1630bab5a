"""R12 — authentication and sessions, through the real login views (QUALITY.md).

Pass bar: lockout overshoot = 0 (PostgreSQL, 8 parallel attackers), sessions alive after logout / deactivation = 0,
TOTP required for privileged roles and not replayable, session rotated at login, idle and absolute limits enforced,
role downgrade effective on the next request.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bankcrm.core.models import SecurityEvent
from bankcrm.org import auth, services
from bankcrm.org.models import LiveSession, LoginThrottle, Staff
from tests.conftest import PASSWORD, login_client, write_figures
from tests.helpers import totp_now

pytestmark = pytest.mark.django_db
K = SecurityEvent.Kind
LOGIN = "/accounts/login/"


def post_login(client: Client, username: str, password: str, ip: str = "10.1.1.1"):
    return client.post(reverse("org:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    r = client.get(reverse("core:home"))
    return r.status_code == 200


def body(r) -> str:
    return r.content.decode()


@pytest.fixture
def count_password_checks(monkeypatch):
    """Counts the attempts that reached a password verification (the backend's authenticate)."""
    calls = {"n": 0}
    lock = threading.Lock()
    real = auth.StaffBackend.authenticate

    def counting(self, request, username=None, password=None, **kw):
        with lock:
            calls["n"] += 1
        return real(self, request, username=username, password=password, **kw)

    monkeypatch.setattr(auth.StaffBackend, "authenticate", counting)
    return calls


# ---- Passwords and lockout ---------------------------------------------------------------------------------------
def test_wrong_password_and_unknown_user_give_the_same_answer(bank):
    c = Client()
    r1 = post_login(c, "CM001", "wrong-password")
    r2 = post_login(c, "NOBODY9", "wrong-password")
    assert r1.status_code == r2.status_code == 200
    assert "工号或密码不正确" in body(r1) and "工号或密码不正确" in body(r2)
    assert not logged_in(c)
    kinds = list(SecurityEvent.objects.filter(kind=K.LOGIN_FAILED).values_list("username", "detail"))
    assert ("CM001", {"reason": "bad_credentials"}) in kinds and ("NOBODY9", {"reason": "bad_credentials"}) in kinds


def test_correct_password_logs_in(bank):
    c = Client()
    r = post_login(c, "cm001", PASSWORD)  # staff numbers are case-insensitive
    assert r.status_code == 302 and r["Location"] == reverse("core:home")
    assert logged_in(c)
    assert SecurityEvent.objects.filter(kind=K.LOGIN_OK, username="CM001").count() == 1
    assert LiveSession.objects.filter(staff=bank.cm_a1, ended_at__isnull=True).count() == 1


def user_lockout_overshoot(attempts: int, count_password_checks) -> int:
    c = Client()
    for i in range(attempts):
        post_login(c, "CM001", f"wrong-{i}", ip=f"10.2.0.{i}")  # other IPs: only the per-user counter applies
    return count_password_checks["n"] - settings.BANKCRM_LOCKOUT_FAILURES


def test_user_locked_after_limit_per_user(bank, count_password_checks):
    limit = settings.BANKCRM_LOCKOUT_FAILURES
    overshoot = user_lockout_overshoot(limit + 4, count_password_checks)
    write_figures("R12", overshoot == 0, sequential_overshoot=overshoot)
    assert overshoot == 0
    c = Client()
    r = post_login(c, "CM001", PASSWORD, ip="10.9.9.9")  # the right password, from a fresh IP: still locked
    assert "登录失败次数过多，账户已锁定" in body(r) and "分钟后再试" in body(r)
    assert not logged_in(c)
    assert count_password_checks["n"] == limit  # no password check while locked
    assert SecurityEvent.objects.filter(kind=K.LOCKED_OUT, username="CM001").count() == 1
    assert SecurityEvent.objects.filter(kind=K.LOGIN_FAILED, username="CM001", detail__reason="locked").count() >= 4
    # other users are not affected; when the lock runs out the right password works again
    assert post_login(Client(), "CM002", PASSWORD, ip="10.9.9.9").status_code == 302
    LoginThrottle.objects.filter(scope="user", key="cm001").update(locked_until=timezone.now() - timedelta(seconds=1))
    assert post_login(c, "CM001", PASSWORD, ip="10.9.9.9").status_code == 302


def test_lockout_detector_catches_a_missing_lock_check(bank, count_password_checks, monkeypatch):
    """Broken variant: the lock is recorded but never consulted."""
    monkeypatch.setattr(auth, "_locked", lambda rows, now: None)
    assert user_lockout_overshoot(settings.BANKCRM_LOCKOUT_FAILURES + 4, count_password_checks) == 4


def test_ip_locked_after_limit_per_ip(bank, settings):
    settings.BANKCRM_LOCKOUT_IP_FAILURES = 6
    c = Client()
    for i in range(6):  # six different (unknown) user names, one address
        post_login(c, f"GUESS{i}", "wrong-password", ip="10.3.3.3")
    r = post_login(c, "CM001", PASSWORD, ip="10.3.3.3")
    assert "该网络地址登录失败次数过多" in body(r)
    assert not logged_in(c)
    assert SecurityEvent.objects.filter(kind=K.LOCKED_OUT, detail__scope="ip").count() == 1
    assert post_login(Client(), "CM001", PASSWORD, ip="10.3.3.4").status_code == 302  # another address is fine


def test_expired_contract_and_deactivated_refused_with_their_own_message(bank):
    Staff.objects.filter(pk=bank.temp.pk).update(contract_end=timezone.localdate() - timedelta(days=1))
    r = post_login(Client(), "TW001", PASSWORD)
    assert r.status_code == 200 and "合同已到期" in body(r)
    services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_a1.pk, reason="离职")
    r = post_login(Client(), "CM001", PASSWORD)
    assert r.status_code == 200 and "账户已停用" in body(r)
    r = post_login(Client(), "CM001", "wrong-password")
    assert "工号或密码不正确" in body(r)  # without the right password nothing about the account is revealed
    reasons = set(SecurityEvent.objects.filter(kind=K.LOGIN_FAILED).values_list("detail__reason", flat=True))
    assert {"contract_expired", "inactive", "bad_credentials"} <= reasons


# ---- TOTP --------------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_device(bank):
    return TOTPDevice.objects.create(user=bank.admin, name="手机", confirmed=True)


def test_privileged_user_must_pass_totp_and_codes_are_not_replayable(bank, admin_device):
    c = Client()
    r = post_login(c, "AD001", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("org:login_totp")
    assert not logged_in(c)  # the password alone is not a login
    code = totp_now(admin_device)
    wrong = "000000" if code != "000000" else "111111"
    r = c.post(reverse("org:login_totp"), {"token": wrong}, REMOTE_ADDR="10.1.1.1")
    assert r.status_code == 200 and "动态口令不正确" in body(r)
    assert SecurityEvent.objects.filter(kind=K.TOTP_FAILED, username="AD001").count() == 1
    TOTPDevice.objects.filter(pk=admin_device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    r = c.post(reverse("org:login_totp"), {"token": code}, REMOTE_ADDR="10.1.1.1")
    assert r.status_code == 302 and r["Location"] == reverse("core:home")
    assert logged_in(c)
    c.post(reverse("org:logout"))
    # the same code again: refused (django-otp remembers the last time step used)
    c2 = Client()
    post_login(c2, "AD001", PASSWORD)
    r = c2.post(reverse("org:login_totp"), {"token": code}, REMOTE_ADDR="10.1.1.1")
    replay_refused = r.status_code == 200 and not logged_in(c2)
    write_figures("R12", replay_refused, totp_replay_accepted=int(not replay_refused))
    assert replay_refused and "已使用" in body(r)


def test_totp_step_cannot_be_reached_without_the_password(bank, admin_device):
    c = Client()
    r = c.post(reverse("org:login_totp"), {"token": totp_now(admin_device)})
    assert r.status_code == 302 and r["Location"] == reverse("org:login")
    assert not logged_in(c)


def test_privileged_user_without_device_is_forced_to_enrol(bank):
    c = Client()
    r = post_login(c, "AD002", PASSWORD)
    assert r.status_code == 302 and r["Location"] == reverse("org:totp")
    for path in [reverse("core:home"), reverse("org:staff"), reverse("core:audit"), reverse("approvals:list"),
                 reverse("org:profile")]:
        r = c.get(path)
        assert r.status_code == 302 and r["Location"] == reverse("org:totp"), path
    r = c.get("/api/v1/me/")
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_enrolment_required"
    r = c.get(reverse("org:totp"))
    assert r.status_code == 200
    device = TOTPDevice.objects.get(user=bank.admin2, confirmed=False)
    r = c.post(reverse("org:totp"), {"token": totp_now(device)})
    assert r.status_code == 302 and r["Location"] == reverse("core:home")
    assert c.get(reverse("org:staff")).status_code == 200
    # from now on the password alone is not enough
    c2 = Client()
    assert post_login(c2, "AD002", PASSWORD)["Location"] == reverse("org:login_totp")


def test_wrong_codes_at_enrolment_lock_the_account_like_wrong_login_codes(bank, settings):
    """Guessing the first code at enrolment is throttled with the login throttle (it used to be rolled back with the
    failed enrolment, so it was never counted)."""
    c = Client()
    post_login(c, "AD002", PASSWORD)
    c.get(reverse("org:totp"))
    device = TOTPDevice.objects.get(user=bank.admin2, confirmed=False)
    right = totp_now(device)
    wrong = "000000" if right != "000000" else "111111"
    for _attempt in range(settings.BANKCRM_LOCKOUT_FAILURES - 1):
        r = c.post(reverse("org:totp"), {"token": wrong})
        assert r.status_code == 200 and "动态口令不正确" in r.content.decode()
    r = c.post(reverse("org:totp"), {"token": wrong})
    assert "分钟后再试" in r.content.decode()
    r = c.post(reverse("org:totp"), {"token": right})  # even the right code waits out the lockout
    assert r.status_code == 200 and "分钟后再试" in r.content.decode()
    assert not TOTPDevice.objects.filter(user=bank.admin2, confirmed=True).exists()
    assert post_login(Client(), "AD002", PASSWORD).status_code != 302  # the password login is locked too


def test_enrolment_gate_detector_catches_a_missing_gate(bank, monkeypatch):
    """Broken variant: the session guard without the enrolment gate lets the privileged user straight in."""
    from bankcrm.org import middleware

    monkeypatch.setattr(middleware, "ENROLMENT_REQUIRED", "no-such-session-key")
    c = Client()
    post_login(c, "AD002", PASSWORD)
    assert c.get(reverse("org:staff")).status_code == 200


def test_non_privileged_roles_need_no_totp(bank):
    from bankcrm.core import access

    assert not access.requires_totp(bank.cm_a1) and not access.requires_totp(bank.intern)
    assert all(access.requires_totp(s) for s in (bank.admin, bank.compliance, bank.supervisor_a, bank.om_a1, bank.risk))
    assert not access.requires_totp(bank.temp)  # a temporary operations manager cannot approve, so no TOTP
    assert post_login(Client(), "CM001", PASSWORD)["Location"] == reverse("core:home")


# ---- Sessions ----------------------------------------------------------------------------------------------------
def test_session_key_rotates_at_login(bank):
    c = Client()
    s = c.session
    s["planted"] = "by an attacker"
    s.save()
    planted = s.session_key
    c.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert post_login(c, "CM001", PASSWORD).status_code == 302
    new = c.cookies[settings.SESSION_COOKIE_NAME].value
    from django.contrib.sessions.models import Session

    rotated = new != planted and not Session.objects.filter(session_key=planted).exists()
    write_figures("R12", rotated, session_fixation=int(not rotated))
    assert rotated
    assert logged_in(c)


def end_reason_after(client: Client, staff, mutate) -> tuple[int, str]:
    mutate(LiveSession.objects.filter(staff=staff, ended_at__isnull=True))
    r = client.get(reverse("core:home"))
    live = LiveSession.objects.filter(staff=staff).order_by("-id").first()
    return r.status_code, live.end_reason if live else ""


def test_idle_timeout_ends_the_session(bank):
    c = login_client(bank.cm_a1)
    assert logged_in(c)
    status, reason = end_reason_after(c, bank.cm_a1, lambda qs: qs.update(
        last_seen_at=timezone.now() - settings.BANKCRM_SESSION_IDLE - timedelta(minutes=1)))
    assert (status, reason) == (302, "idle")
    assert not logged_in(c)
    assert SecurityEvent.objects.filter(kind=K.SESSION_ENDED, detail__reason="idle").count() == 1


def test_activity_keeps_the_session_alive(bank):
    c = login_client(bank.cm_a1)
    LiveSession.objects.filter(staff=bank.cm_a1).update(last_seen_at=timezone.now() - settings.BANKCRM_SESSION_IDLE + timedelta(minutes=2))
    assert logged_in(c)  # touched: last_seen moves forward
    assert LiveSession.objects.get(staff=bank.cm_a1).last_seen_at > timezone.now() - timedelta(minutes=1)


def test_absolute_timeout_ends_the_session(bank):
    c = login_client(bank.cm_a1)
    status, reason = end_reason_after(c, bank.cm_a1, lambda qs: qs.update(
        created_at=timezone.now() - settings.BANKCRM_SESSION_ABSOLUTE - timedelta(minutes=1), last_seen_at=timezone.now()))
    assert (status, reason) == (302, "absolute")
    assert not logged_in(c)


def test_idle_detector_catches_a_missing_idle_check(bank, settings):
    """Broken variant: an idle limit so large it never applies."""
    settings.BANKCRM_SESSION_IDLE = timedelta(days=365)
    c = login_client(bank.cm_a1)
    LiveSession.objects.filter(staff=bank.cm_a1).update(last_seen_at=timezone.now() - timedelta(hours=2))
    assert logged_in(c)


def alive_sessions(staff) -> int:
    return LiveSession.objects.filter(staff=staff, ended_at__isnull=True).count()


def test_logout_ends_the_session_and_a_copied_cookie_is_useless(bank):
    c = login_client(bank.cm_a1)
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = c.cookies[settings.SESSION_COOKIE_NAME].value
    assert logged_in(stolen)
    r = c.post(reverse("org:logout"))
    assert r.status_code == 302
    alive = alive_sessions(bank.cm_a1)
    assert not logged_in(c) and not logged_in(stolen)
    write_figures("R12", alive == 0, sessions_alive_after_logout=alive)
    assert alive == 0
    assert c.get(reverse("org:logout")).status_code == 405  # logout is POST only (no CSRF-able GET)


def test_deactivation_ends_sessions_at_once_html_and_api(bank):
    html = login_client(bank.cm_a1)
    api = login_client(bank.cm_a1)
    token = services.token_create(actor=bank.cm_a1, name="脚本")[1]
    assert logged_in(html) and api.get("/api/v1/me/").status_code == 200
    assert Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_a1.pk, reason="离职")
    alive = alive_sessions(bank.cm_a1)
    r = html.get(reverse("core:home"))
    assert r.status_code == 302 and r["Location"].startswith(LOGIN)
    r = api.get("/api/v1/me/")
    assert r.status_code == 401
    r = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 401
    write_figures("R12", alive == 0, sessions_alive_after_deactivation=alive)
    assert alive == 0


def test_role_change_ends_sessions_and_new_roles_apply_next_request(bank):
    c = login_client(bank.supervisor_a)
    api = login_client(bank.supervisor_a)
    assert c.get(reverse("org:staff")).status_code == 200
    assert api.get("/api/v1/staff/").status_code == 200
    services.staff_set_roles(actor=bank.admin, staff_id=bank.supervisor_a.pk, roles=["customer_manager"], reason="岗位调整")
    r = c.get(reverse("org:staff"))
    assert r.status_code == 302 and r["Location"].startswith(LOGIN)
    r = api.get("/api/v1/staff/")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_ended"
    assert alive_sessions(bank.supervisor_a) == 0
    c2 = Client()
    assert post_login(c2, "SV101", PASSWORD).status_code == 302  # now a customer manager: no TOTP step either
    assert c2.get(reverse("org:staff")).status_code == 403


def test_session_guard_detector_catches_a_missing_registry_check(bank, monkeypatch):
    """Broken variant: a guard that trusts the session cookie (no live-session registry): deactivation would not end it."""
    from bankcrm.org import middleware

    monkeypatch.setattr(middleware.SessionGuardMiddleware, "__call__", lambda self, request: self.get_response(request))
    c = login_client(bank.supervisor_a)
    services.staff_set_roles(actor=bank.admin, staff_id=bank.supervisor_a.pk, roles=["branch_supervisor", "customer_manager"])
    assert c.get(reverse("org:staff")).status_code == 200  # the ended session still works: what the real guard prevents


def test_admin_ends_sessions_and_password_change_keeps_only_the_current_one(bank):
    a = login_client(bank.cm_a1)
    b = login_client(bank.cm_a1)
    r = a.post(reverse("org:profile"), {"op": "password", "old_password": PASSWORD, "new_password": "An0ther-Passw0rd!",
                                        "new_password2": "An0ther-Passw0rd!"})
    assert r.status_code == 302
    assert logged_in(a) and not logged_in(b)
    services.staff_end_sessions(actor=bank.admin, staff_id=bank.cm_a1.pk)
    assert not logged_in(a) and alive_sessions(bank.cm_a1) == 0


# ---- API tokens --------------------------------------------------------------------------------------------------
def test_bearer_token_works_and_revoked_or_expired_is_refused(bank):
    token, secret = services.token_create(actor=bank.cm_a1, name="脚本", days=30)
    auth_header = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    r = Client().get("/api/v1/me/", **auth_header)
    assert r.status_code == 200 and r.json()["staff_no"] == "CM001"
    from bankcrm.org.models import ApiToken

    assert ApiToken.objects.get(pk=token.pk).digest != secret and secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    failures = SecurityEvent.objects.filter(kind=K.TOKEN_FAILED).count()
    for bad in ("Bearer bcrm_nope_nope", "Bearer "):
        r = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=bad)
        assert r.status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = Client().get("/api/v1/me/", **auth_header)
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_failed"
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert Client().get("/api/v1/me/", **auth_header).status_code == 200
    services.token_revoke(actor=bank.cm_a1, token_id=token.pk)
    r = Client().get("/api/v1/me/", **auth_header)
    assert r.status_code == 401
    assert SecurityEvent.objects.filter(kind=K.TOKEN_FAILED).count() >= failures + 2
    assert Client().get("/api/v1/me/").status_code == 401  # no credentials at all


# ---- Parallel attackers (PostgreSQL) -----------------------------------------------------------------------------
ATTACKERS = 8
ATTEMPTS_EACH = 3


def parallel_attack(start_barrier: threading.Barrier | None = None) -> tuple[int, list[int], list[BaseException]]:
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    go = threading.Barrier(ATTACKERS)

    def attacker(n: int):
        from django.db import connection as conn

        try:
            c = Client()
            go.wait(30)
            for i in range(ATTEMPTS_EACH):
                r = post_login(c, "CM001", f"guess-{n}-{i}", ip=f"10.8.{n}.1")
                with lock:
                    statuses.append(r.status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(ATTACKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return len(statuses), statuses, errors


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_attackers_get_exactly_the_limit(bank, count_password_checks):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    n, _statuses, errors = parallel_attack()
    assert not errors, errors
    overshoot = count_password_checks["n"] - settings.BANKCRM_LOCKOUT_FAILURES
    write_figures("R12", overshoot == 0, overshoot=overshoot, parallel_attackers=ATTACKERS, attempts=n,
                  password_checks=count_password_checks["n"])
    assert n == ATTACKERS * ATTEMPTS_EACH
    assert overshoot == 0
    assert post_login(Client(), "CM001", PASSWORD, ip="10.9.9.9").status_code == 200  # locked, even with the password


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_detector_catches_unlocked_counting(bank, count_password_checks, monkeypatch):
    """Broken variant: throttle rows read without row locks; every attacker reads 'not locked' at once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    seen = threading.Barrier(ATTACKERS)

    def unlocked_rows(username, ip):
        keys = [(LoginThrottle.Scope.USER, username.lower()[:80]), (LoginThrottle.Scope.IP, ip)]
        LoginThrottle.objects.bulk_create([LoginThrottle(scope=s, key=k) for s, k in keys], ignore_conflicts=True)
        rows = [LoginThrottle.objects.get(scope=s, key=k) for s, k in keys]
        try:
            seen.wait(2)  # the first round: all eight have read before anyone counts
        except threading.BrokenBarrierError:
            pass
        return rows

    monkeypatch.setattr(auth, "_throttle_rows", unlocked_rows)
    _n, _statuses, errors = parallel_attack()
    assert not errors, errors
    assert count_password_checks["n"] > settings.BANKCRM_LOCKOUT_FAILURES
