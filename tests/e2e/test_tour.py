"""The product tour (issue #11): a browser walks every role's working day on the small demo bank — customer manager,
operations manager, risk manager, compliance manager, branch supervisor, administrator and intern — in Chinese, then
the same pages again in English, and saves the gallery in docs/screenshots/ (`<nn>-<role>-<page>-<lang>.png` and
README.md). The user guide (docs/guide/) links to these pictures.

Not part of the default run (it seeds the whole demo bank and takes a few minutes): `make tour`, i.e.
`pytest -m tour tests/e2e/test_tour.py`. Each step also checks what the page must show, so a broken page fails the
tour instead of ending up in the gallery.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.tour]

GALLERY = Path(settings.BASE_DIR) / "docs" / "screenshots"
DEMO_PASSWORD = "Bankcrm@2026"  # bankcrm.org.demo.DEMO_PASSWORD
SMALL = {"seed": 20261128, "customers": 0, "transactions": 600, "customers_per_manager": 5}
ELDERLY = "10000000025"  # the demo's scenario customer: 72 years old, C4, managed by CM001 (seed_wealth prints it)

VIEWPORT = {"width": 1366, "height": 900}
ROLES = {  # role key → (staff number, Chinese title, English title)
    "cm": ("CM001", "客户经理", "Customer manager"),
    "om": ("OM001", "运营经理", "Operations manager"),
    "rk": ("RK001", "风控经理", "Risk manager"),
    "co": ("CO001", "合规经理", "Compliance manager"),
    "sv": ("SV201", "网点负责人", "Branch supervisor"),
    "ad": ("AD001", "系统管理员", "Administrator"),
    "in": ("IN001", "实习生（客户经理）", "Intern (customer manager)"),
}


@dataclass
class Shot:
    number: int
    role: str
    slug: str
    zh: str  # one line, Chinese
    en: str  # one line, English
    files: dict[str, str] = field(default_factory=dict)  # lang → file name


@dataclass
class Step:
    shot: Shot
    url: str
    full: bool
    anchor: str | None
    again: Callable | None  # how to get the page back in English when a GET of the URL is not enough


class Walk:
    """One member of staff's day: ``shot`` saves the page under its number; ``in_english`` switches the language
    and shows every page of the day again."""

    def __init__(self, tour: Tour, page, role: str):
        self.tour, self.page, self.role, self.lang = tour, page, role, "zh"
        self.steps: list[Step] = []

    @property
    def base(self) -> str:
        return self.tour.base

    def go(self, path: str, wait: str = "main") -> None:
        self.page.goto(self.base + path)
        self.settle(wait)

    def nav(self, label: str, wait: str = "main") -> None:
        """Open a menu entry by its label, as a person does."""
        self.page.click(f'nav.bc-sidebar a >> text="{label}"')
        self.settle(wait)

    def visit(self, label: str, wait: str, slug: str, zh: str, en: str, **shot) -> None:
        """Open a menu entry and save the page: most steps of a day are just that."""
        self.nav(label, wait)
        self.shot(slug, zh, en, **shot)

    def settle(self, wait: str = "main") -> None:
        self.page.wait_for_selector(wait)
        self.page.wait_for_load_state("load")
        if self.page.locator("canvas").count() == 0 and self.page.locator("[id^=chart]").count():
            self.page.wait_for_selector("[id^=chart] canvas", timeout=10_000)
        self.page.wait_for_timeout(350)  # charts finish their entry animation

    def shot(self, slug: str, zh: str, en: str, *, full: bool = False, anchor: str | None = None,
             again: Callable | None = None) -> None:
        shot = self.tour.shot_for(self.role, slug, zh, en)
        self._save(shot, full, anchor)
        self.steps.append(Step(shot, self.page.url, full, anchor, again))

    def _save(self, shot: Shot, full: bool, anchor: str | None) -> None:
        name = f"{shot.number:02d}-{self.role}-{shot.slug}-{self.lang}.png"
        path = self.tour.out / name
        if anchor:  # a part further down a long page: one window's height from just above it
            top = self.page.locator(anchor).first.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
            height = self.page.evaluate("document.documentElement.scrollHeight")
            y = max(0, min(top - 60, height - VIEWPORT["height"]))
            self.page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": y, **VIEWPORT})
        else:
            self.page.screenshot(path=str(path), full_page=full)
        shrink(path)
        shot.files[self.lang] = name

    def in_english(self) -> None:
        self.page.click("[data-testid=lang-en]")
        self.page.wait_for_selector("[data-testid=lang-zh]")
        self.lang = "en"
        for step in self.steps:
            if step.again:
                step.again()
            else:
                self.page.goto(step.url)
                self.settle()
            assert self.page.locator("html[lang=en]").count() == 1
            self._save(step.shot, step.full, step.anchor)


class Tour:
    def __init__(self, base: str, out: Path, code_for: Callable[[str], str | None], new_page: Callable):
        self.base, self.out, self.code_for, self.new_page = base, out, code_for, new_page
        self.shots: list[Shot] = []

    def shot_for(self, role: str, slug: str, zh: str, en: str) -> Shot:
        for s in self.shots:
            if (s.role, s.slug) == (role, slug):
                return s
        s = Shot(len(self.shots) + 1, role, slug, zh, en)
        self.shots.append(s)
        return s

    def login(self, role: str) -> Walk:
        staff_no = ROLES[role][0]
        page = self.new_page()
        page.goto(self.base + "/accounts/login/")
        page.fill("#id_username", staff_no)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_load_state("load")
        if page.locator("#id_token").count():  # privileged roles sign in with a one-time code
            page.fill("#id_token", self.code_for(staff_no))
            page.click("[data-testid=totp-submit]")
        page.wait_for_selector("[data-testid=welcome]")
        return Walk(self, page, role)

    def walk_all(self) -> None:
        for role, walk in WALKS.items():
            w = self.login(role)
            walk(w)
            w.in_english()
            w.page.context.close()

    def write_gallery(self) -> None:
        write_gallery(self.out, self.shots)


# ---- The working days ------------------------------------------------------------------------------------------------
def open_customer(w: Walk, number: str) -> None:
    """客户查询 → the customer's number → the 360 page."""
    w.nav("客户查询", "[data-testid=customer-search]")
    w.page.fill("[data-testid=customer-search]", number)
    w.page.click("[data-testid=customer-search-submit]")
    w.page.click(f"[data-testid=customer-row] >> text={number}")
    w.settle("[data-testid=engagement-panel]")


def customer_manager(w: Walk) -> None:
    w.settle("[data-testid=workbench]")
    assert "客户经理工作台" in w.page.inner_text("main")
    w.shot("home", "工作台：管户客户、待办任务、到期提醒、下一步最佳行动和客户反馈",
           "Home: managed customers, tasks, maturities, next best actions and customer feedback", full=True)
    open_customer(w, ELDERLY)
    body = w.page.inner_text("main")
    assert "183****2798" in body or "****" in body  # masked by default
    w.shot("customer-360", "客户360视图：资料默认脱敏，账户、风险、理财、服务与经营记录一页看全",
           "Customer 360: profile masked by default; accounts, risk, wealth, service and engagement on one page",
           full=True)
    panel = w.page.locator("[data-testid=engagement-panel]")
    panel.locator("#id_quick-subject").fill("电话回访：养老规划")
    panel.locator("#id_quick-notes").fill("客户明年退休，想为养老做些准备，关心本金安全，希望收益稳定。")
    panel.locator("#id_quick-next_steps").fill("下周带稳健型养老产品资料面谈")
    w.page.click("[data-testid=quick-log-submit]")
    w.settle("[data-testid=interaction-list]")
    assert "电话回访：养老规划" in w.page.inner_text("[data-testid=interaction-list]")
    w.shot("interaction", "在客户页面快速记录一次互动，笔记中识别出养老意图并更新推荐",
           "An interaction logged from the customer page; the note's retirement intent feeds the recommendations",
           anchor="[data-testid=engagement-panel]")
    w.visit("推荐清单", "main table, main .list-group", "recommendations", "推荐清单：每条推荐写明理由，已按适当性、营销授权和持仓过滤",
            "Recommendations: each with its reasons, already filtered by suitability, consent and holdings", full=True)
    w.page.go_back()
    open_customer(w, ELDERLY)
    w.page.click("[data-testid=new-sale]")
    w.settle("[data-testid=product-choices]")

    def sale_check() -> None:
        w.page.click("[data-testid=product-HT-RX-R3]")
        w.page.fill("[data-testid=amount]", "50000")
        w.page.click("[data-testid=sale-check]")
        w.settle("[data-testid=pos-result]")

    sale_check()
    assert w.page.locator("[data-testid=pos-allowed]").count() == 1
    assert w.page.locator("[data-testid=req-recording]").inner_text().startswith("需要")
    new_sale_url = w.page.url
    w.shot("sale-check", "推介前校验：逐条列出适当性规则；72岁客户购买R3须双录",
           "Point-of-sale check: every rule ticked or crossed; a 72-year-old buying R3 must be recorded",
           full=True, again=lambda: (w.page.goto(new_sale_url), w.settle("[data-testid=product-choices]"), sale_check()))
    w.page.click("[data-testid=sale-propose]")
    w.settle("[data-testid=sale-status]")
    w.shot("sale-proposed", "推介已提交，等待客户确认风险揭示（确认时录入双录编号）",
           "The proposal waits for the customer to confirm the risk disclosure (with the recording reference)")


def operations_manager(w: Walk) -> None:
    w.nav("复核", "main")
    w.page.click("main a[href='?tab=mine']")
    w.settle()
    w.shot("approvals", "复核：待我复核、我提交的和全部可见事项；大额交易须由另一人复核",
           "Approvals: waiting for me, submitted by me, all visible; large transactions need a second person")
    w.nav("柜面交易", "[data-testid=teller-form]")

    def teller_confirm() -> None:
        w.page.wait_for_load_state("load")  # ledger.js has attached its handlers
        w.page.fill("[data-testid=pick-q]", ELDERLY)
        w.page.click("[data-testid=pick-account] >> nth=0")
        w.page.fill("#id_amount", "20,000")
        w.page.fill("#id_memo", "存入养老备用金")
        w.page.click("[data-testid=teller-next]")
        w.settle("[data-testid=teller-confirm]")

    teller_confirm()
    assert w.page.inner_text("[data-testid=confirm-capital]").endswith("人民币贰万元整")
    w.shot("cash-deposit", "柜面现金存入：核对页显示脱敏账户和大写金额，请客户当面核对",
           "Cash deposit: the confirmation shows the masked account and the amount in capital numerals",
           again=lambda: (w.page.goto(w.base + "/ledger/teller/"), w.settle("[data-testid=teller-form]"),
                          teller_confirm()))
    w.page.click("[data-testid=teller-submit]")
    w.settle("[data-testid=voucher]")
    w.shot("voucher", "记账完成：凭证、交易流水号和余额；重复提交不会重复记账",
           "Posted: the voucher, transaction number and balance; a double click never posts twice")
    w.nav("回访任务", "[data-testid=visit-table]")
    w.page.click("[data-testid=visit-open] >> nth=0")
    w.settle("[data-testid=visit-form]")
    w.page.check("[data-testid=reached-yes]")
    for q in ("understood_product", "understood_risk", "voluntary", "received_documents"):
        w.page.check(f"[data-testid={q}-yes]")
    w.page.fill("#id_notes", "客户确认了解产品风险，系本人自愿购买，已收到产品说明书和风险揭示书。")
    w.page.click("[data-testid=visit-submit]")
    w.settle("[data-testid=visit-result]")
    w.shot("return-visit", "回访任务：由销售人员以外的员工逐项确认；任何一项为“否”即生成反馈工单",
           "A return visit, by someone other than the seller, item by item; any 'no' opens a feedback case")


def risk_manager(w: Walk) -> None:
    w.visit("监测预警", "[data-testid=alert-table]", "alerts", "监测预警：大额与可疑交易规则命中，附报告期限",
            "Monitoring alerts: large-value and suspicious-transaction rules, with reporting deadlines")
    w.page.click("[data-testid=alert-table] tr:has-text('S01') [data-testid=alert-link]")
    w.settle("[data-testid=evidence]")
    w.page.fill("#case-title", "于玉分次存入现金核查")
    w.page.click("[data-testid=make-case]")
    w.settle("[data-testid=case-status]")
    w.page.fill("[data-testid=note-text]", "已电话联系客户：系陆续收回的借款，客户可提供借条，继续核实资金来源。")
    w.page.click("[data-testid=add-note]")
    w.settle("[data-testid=case-notes] >> text=借条")
    w.shot("case", "从预警立案调查：记录核查过程，排除须写明理由，可疑的上报合规",
           "A case opened from an alert: notes, closing needs a reason, suspicion is escalated to compliance")
    w.visit("风险看板", "[data-testid=risk-kpis]", "dashboard", "风险看板：预警、案件、评级与报告期限一览",
            "Risk dashboard: alerts, cases, ratings and reporting deadlines at a glance")
    w.visit("洗钱风险评级", "main", "aml-ratings", "洗钱风险评级：到期复评的客户与各因子得分",
            "Money-laundering risk ratings: customers due for review and each factor's points")


def compliance_manager(w: Walk) -> None:
    w.settle("[data-testid=supervision-home]")
    w.shot("home", "合规工作台：制度覆盖、严重检查发现与员工行为信号",
           "Compliance home: regulation coverage, serious findings and staff conduct signals", full=True)
    w.visit("制度覆盖矩阵", "[data-testid=matrix]", "coverage-matrix", "制度覆盖矩阵：每条制度条款对应的控制与实时例外数",
            "Coverage matrix: each clause of the regulation, its controls and live exception counts", full=True)
    w.visit("检查发现", "main table:visible", "findings", "检查发现：来源、严重程度、责任人与整改期限",
            "Findings: source, severity, owner and rectification deadline")
    w.visit("员工行为监测", "main", "conduct", "员工行为监测：查看非管户客户、非工作时间操作、关联交易等信号",
            "Staff conduct: viewing others' customers, out-of-hours work, related-party transactions")
    w.nav("审计查询", "[data-testid=audit-search]")
    w.page.click("[data-testid=sv-verify-audit]")
    w.settle("[data-testid=verify-result]")
    assert "alert-success" in w.page.locator("[data-testid=verify-result]").get_attribute("class")
    w.shot("audit-explorer", "审计查询：检索审计记录并校验哈希链完整性",
           "Audit explorer: search the audit trail and verify the hash chain",
           again=lambda: (w.page.goto(w.base + "/supervision/audit/"), w.settle("[data-testid=audit-search]"),
                          w.page.click("[data-testid=sv-verify-audit]"), w.settle("[data-testid=verify-result]")))
    w.nav("监管报告", "[data-testid=make-large-report]")
    w.page.click("[data-testid=make-large-report]")
    w.settle("[data-testid=report-download]")
    w.shot("aml-reports", "监管报告：生成大额交易报告（XML，加密存储，下载留痕）",
           "Regulatory reports: the large-value transaction report (XML, encrypted at rest, downloads logged)")


def branch_supervisor(w: Walk) -> None:
    w.settle("[data-testid=welcome]")
    w.shot("home", "网点负责人工作台：待办、投诉时限、团队考核与整改事项",
           "Supervisor's home: to-dos, complaint deadlines, team appraisal and rectifications", full=True)
    w.visit("团队考核", "main table:visible", "team-appraisal", "团队考核：本网点记分卡、团队内排名与校准",
            "Team appraisal: the branch's scorecards, ranking within the team and calibration")
    w.page.click("main table tr:has-text('CM001') >> a >> nth=-1")
    w.settle()
    w.shot("scorecard", "记分卡：每项指标的定义、数据与证据，负责人评价并签署",
           "A scorecard: each figure's definition, data and evidence; the supervisor reviews and signs", full=True)
    w.visit("报表中心", "[data-testid=report-list]", "reports", "管理报表：经营、客户、满意度、投诉、风险与培训，按期间与机构统计",
            "Management reports: performance, customers, satisfaction, complaints, risk and training, by period and branch")
    w.page.click("[data-testid=report-card-branch_performance]")
    w.settle("[data-testid=headline]")
    assert w.page.locator("[data-testid=export-pdf]").count() == 1
    w.shot("report", "分支机构经营情况：每个数字都能点开查看背后的记录；可导出 Excel、PDF，或订阅定时报表",
           "Branch performance: every figure opens the records behind it; export to Excel or PDF, or subscribe",
           full=True)
    w.nav("投诉处理", "[data-testid=complaint-table]")
    w.page.click("[data-testid=complaint-table] tbody tr >> nth=0 >> a >> nth=0")
    w.settle("[data-testid=complaint-status]")
    w.shot("complaint", "投诉与反馈工单：法定时限、受理、分派、处理决定与整改",
           "A complaint or feedback case: legal deadlines, acknowledgement, assignment, decision and rectification",
           full=True)
    w.go("/inbox/")
    w.page.click("main a:has-text('身份证件在有效期内') >> nth=0")
    w.settle("[data-testid=action-form]")
    w.page.fill("#id_action", "联系客户到网点更新身份证件信息")
    w.page.click("[data-testid=action-add]")
    w.settle("[data-testid=done-form]")
    w.shot("finding-rectify", "整改检查发现：添加整改措施、记录完成证据后提交合规复查",
           "Rectifying a finding: add actions, record evidence, submit for compliance to re-check")


def administrator(w: Walk) -> None:
    w.visit("员工", "main table:visible", "staff", "员工管理：工号、机构、角色与用工类型；授予特权角色须另一名管理员复核",
            "Staff: number, branch, roles and employment type; privileged roles need a second administrator")
    w.visit("规则参数", "main table:visible", "parameters", "规则参数：制度中的每个数字都有生效日期和修改记录",
            "Rule parameters: every figure of the regulation, with effective dates and history")
    w.visit("安全日志", "main table:visible", "security-log", "安全日志：登录失败、锁定、越权访问等安全事件",
            "Security log: failed sign-ins, lockouts, refused access")
    w.visit("合作机构", "[data-testid=partners]", "partners", "合作机构：保险公司、基金公司与清算机构，各自的接口权限与可接收的事件",
            "Partners: insurers, fund companies and the clearing house, each with its API scopes and events")
    w.page.click("[data-testid=partner-row] >> nth=0 >> a")
    w.settle()
    w.shot("partner", "合作机构详情：API 密钥（轮换后旧密钥保留宽限期）、推送地址与签名、关联产品",
           "A partner: API keys (a rotated key keeps a grace period), webhook endpoints and signing, linked products",
           full=True)
    w.visit("接口调用日志", "main table:visible", "api-calls", "接口调用日志：每次调用的合作机构、密钥、路径、结果与耗时",
            "API call log: each call's partner, key, path, result and duration")


def intern(w: Walk) -> None:
    w.settle("[data-testid=welcome]")
    w.shot("home", "实习生工作台：培训优先；不能查看完整个人信息、复核或导出",
           "An intern's home: training first; no unmasking, approving or exporting", full=True)
    w.visit("我的培训", "main table:visible", "training", "我的培训：必修课程、期限与证书", "My training: required courses, deadlines and certificates",
            full=True)
    w.page.click("main a:has-text('沟通技巧') >> nth=0")
    w.settle("[data-testid=quiz]")
    w.shot("course", "课程与测验：学习后答题，80分及格获得证书",
           "A course and its quiz: 80 points to pass and receive the certificate", full=True)


WALKS: dict[str, Callable[[Walk], None]] = {"cm": customer_manager, "om": operations_manager, "rk": risk_manager,
                                            "co": compliance_manager, "sv": branch_supervisor, "ad": administrator,
                                            "in": intern}


# ---- The gallery -----------------------------------------------------------------------------------------------------
def write_gallery(out: Path, shots: list[Shot]) -> None:
    lines = ["# 截图集 · Screenshot gallery", "",
             "由 `make tour` 生成：浏览器在小型演示银行上走完每个角色的一天，先中文、再英文。"
             "按岗位的用户手册见 [docs/guide/zh](../guide/zh/index.md)。",
             "Generated by `make tour`: a browser walks each role's working day on the small demo bank, in Chinese "
             "and then in English. The user guide by role is in [docs/guide/en](../guide/en/index.md).", ""]
    for role, (staff_no, zh, en) in ROLES.items():
        mine = [s for s in shots if s.role == role]
        if not mine:
            continue
        lines += [f"## {zh} · {en} ({staff_no})", "", "| | 中文 | English |", "|---|---|---|"]
        for s in mine:
            cells = [f"[![{s.slug} {lang}]({s.files[lang]})]({s.files[lang]})" if lang in s.files else "—"
                     for lang in ("zh", "en")]
            lines.append(f"| **{s.number:02d}** {s.zh}<br>{s.en} | {cells[0]} | {cells[1]} |")
        lines.append("")
    (out / "README.md").write_text("\n".join(lines))


def shrink(path: Path) -> None:
    """A 256-colour palette keeps screenshots sharp at about a third of the size (the gallery stays small)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def clear_gallery(out: Path) -> None:
    """The tour's pictures replace whatever was there before."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()


# ---- The test --------------------------------------------------------------------------------------------------------
def seed_small_demo_bank() -> None:
    """Every seeder at the small size, in order (tests/test_demo_bank.py), then the outbox relay once."""
    from django.core.management import call_command

    from bankcrm.core import context, demo
    from bankcrm.ledger import services as ledger

    ledger._INTERNAL_IDS.clear()  # ids cached by earlier tests (a fresh process has none)
    ledger._CUSTOMER_KIND.clear()
    ctx = demo.SeedContext(rng=random.Random(SMALL["seed"]), options=dict(SMALL), out=lambda line: None)
    with context.channel("command"):
        for seeder in sorted(demo.SEEDERS.values(), key=lambda s: s.order):
            seeder.run(ctx)
    call_command("outbox_relay", "--once")  # what `make demo`'s relay does right after the seed


def test_tour_of_every_role(live_server, transactional_db, browser, settings, tmp_path):
    import time

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.helpers import totp_now

    started = time.monotonic()
    settings.VAR_DIR = tmp_path  # the TOTP seeder writes its secrets file there
    seed_small_demo_bank()
    seeded = time.monotonic() - started

    def code_for(staff_no: str) -> str:
        return totp_now(TOTPDevice.objects.get(user__staff_no=staff_no, confirmed=True))

    def new_page():
        return browser.new_context(viewport=VIEWPORT, locale="zh-CN").new_page()

    clear_gallery(GALLERY)
    tour = Tour(live_server.url, GALLERY, code_for, new_page)
    tour.walk_all()
    tour.write_gallery()
    files = sorted(GALLERY.glob("*.png"))
    assert len(files) == 2 * len(tour.shots) and 40 <= len(files) <= 80
    assert all(re.fullmatch(r"\d\d-[a-z]+-[a-z0-9-]+-(zh|en)\.png", f.name) for f in files)
    size = sum(f.stat().st_size for f in files)
    assert size < 15 * 2**20, f"gallery is {size / 2**20:.1f} MB"
    print(f"tour: {len(files)} screenshots, {size / 2**20:.1f} MB, seeded in {seeded:.0f}s, "
          f"{time.monotonic() - started:.0f}s in all")
