"""The role workbenches' home-page sections (``reports.workbench``) and each role's shortcuts (常用功能): the pages the
role opens most, most used first, instead of every menu entry (the sidebar keeps the whole menu). Imported by the
reports app's ``AppConfig.ready``."""

from __future__ import annotations

from bankcrm.core.access import Role
from bankcrm.core.home import HomeSection, register, register_shortcuts

from . import workbench

for role, order in workbench.sections():
    register(HomeSection(code=f"reports.workbench.{role}", order=order, template="reports/workbench/_section.html",
                         context=workbench.section_context(role), capability="core.home"))

SHORTCUTS = {
    Role.CUSTOMER_MANAGER: (
        "customers:list", "engagement:log", "engagement:tasks", "engagement:calendar", "engagement:recommendations",
        "engagement:pipeline", "wealth:sales", "wealth:aum", "service:complaints", "wealth:return_visits",
        "customers:register", "people:appraisal"),
    Role.OPERATIONS_MANAGER: (
        "ledger:teller", "ledger:cash_box", "ledger:lookup", "approvals:list", "customers:list", "customers:register",
        "wealth:sales", "wealth:return_visits", "service:requests", "service:complaints", "reports:index",
        "customers:import_list"),
    Role.RISK_MANAGER: (
        "risk:dashboard", "risk:alerts", "risk:cases", "risk:ratings_due", "risk:watchlists", "risk:dd_list",
        "risk:rules", "reports:index", "customers:list", "approvals:list", "supervision:matrix",
        "supervision:findings"),
    Role.COMPLIANCE_MANAGER: (
        "supervision:matrix", "supervision:findings", "supervision:inspections", "supervision:conduct",
        "supervision:access_reviews", "supervision:audit", "core:audit", "risk:reports", "service:complaints",
        "service:stats", "reports:index", "risk:alerts"),
    Role.BRANCH_SUPERVISOR: (
        "approvals:list", "service:complaints", "people:appraisal_team", "people:training_team", "supervision:findings",
        "surveys:dashboard", "reports:index", "customers:list", "ledger:cash_box", "engagement:pipeline", "service:stats",
        "wealth:aum"),
    Role.ADMIN: (
        "org:staff", "org:branches", "approvals:list", "core:security_log", "core:audit", "reports:index",
        "core:parameters", "core:calendar", "ledger-setup", "wealth:products", "people:courses", "supervision:matrix"),
}
for role, names in SHORTCUTS.items():
    register_shortcuts(role, names)
