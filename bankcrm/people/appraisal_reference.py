"""The hand-written SQL reference of the scorecard computation (QUALITY.md P7; issue #8 "scorecard computation equals a
hand-written SQL reference on seeded data").

Independent of the ORM and of ``people.metrics``: every metric of ``people.metrics`` is written again here as one
plain SQL aggregate over the other apps' tables, the value and the 0–10000 score are computed in SQL with the same
integer arithmetic (round half up), and the weighted total too, for every member of staff the active schemes
appraise (the same role precedence). Portable SQL for SQLite and PostgreSQL through ``connection.cursor()``; the only
vendor fragment is the local date of a timestamp. The test (tests/test_people_scorecards_sql.py) and the benchmark
(benchmarks/bench_people.py) assert that ``scorecards_compute`` writes exactly these figures.

``reference_scores(period)`` → ``{staff_id: {"total": int, "role": str, "lines": {metric: (value, num, den,
score)}}}`` (value and score None when the metric was not measured).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

ROLE_PRIORITY = ["branch_supervisor", "customer_manager", "operations_manager", "risk_manager", "compliance_manager"]
BRANCH_LEVEL = {"branch_supervisor"}
SCALE = {"points": 10000, "nps": 10000, "rate": 10000, "growth": 10000, "per100": 1000000, "count": 10000}
UNIT = {"csat": "points", "nps": "nps", "complaint_rate": "per100", "complaint_deadline": "rate", "retention": "rate",
        "aum_growth": "growth", "new_customers": "count", "needs_met": "rate", "return_visits": "rate",
        "visits_on_time": "rate", "dd_on_time": "rate", "findings": "count", "training": "rate"}


def _floor_div(x: str, y: str) -> str:
    """⌊x ÷ y⌋ for y > 0 (SQL integer division truncates towards zero on both databases)."""
    return f"(CASE WHEN ({x}) >= 0 THEN ({x}) / ({y}) ELSE -((-({x}) + ({y}) - 1) / ({y})) END)"


def _half_up(n: str, d: str) -> str:
    """n ÷ d rounded half up, d > 0."""
    return _floor_div(f"2 * ({n}) + ({d})", f"2 * ({d})")


def _local_date(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(({col} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
    return f"date({col}, '+8 hours')"  # Asia/Shanghai has kept UTC+8 without daylight saving since 1991


def _metric_sql(metric: str, branch: bool) -> str:
    """``SELECT k, num, den`` grouped by the member of staff (``branch`` False) or by the rows' branch path."""
    ld = _local_date
    if metric in ("csat", "nps"):
        k = "i.branch_path" if branch else "i.manager_id"
        num = "SUM(r.csat)" if metric == "csat" else \
            "SUM(CASE WHEN r.nps >= 9 THEN 1 WHEN r.nps <= 6 THEN -1 ELSE 0 END)"
        return f"""SELECT {k} AS k, {num} AS num, COUNT(*) AS den
            FROM surveys_response r JOIN surveys_invitation i ON i.id = r.invitation_id
            WHERE r.{metric} IS NOT NULL AND r.created_at >= %(s)s AND r.created_at < %(e)s
              {'' if branch else 'AND i.manager_id IS NOT NULL'} GROUP BY {k}"""
    if metric == "complaint_rate":
        k = "b.path" if branch else "ma.staff_id"
        return f"""SELECT {k} AS k, COUNT(DISTINCT c.id) AS num, COUNT(DISTINCT ma.customer_id) AS den
            FROM customers_managerassignment ma
            JOIN customers_customer cu ON cu.id = ma.customer_id JOIN org_branch b ON b.id = cu.branch_id
            LEFT JOIN service_complaint c ON c.customer_id = ma.customer_id AND c.kind = 'complaint'
                 AND c.received_at >= %(s)s AND c.received_at < %(e)s AND c.received_at >= ma.started_at
                 AND (ma.ended_at IS NULL OR c.received_at < ma.ended_at)
            WHERE ma.role = 'primary' AND ma.started_at < %(e)s AND (ma.ended_at IS NULL OR ma.ended_at > %(s)s)
            GROUP BY {k}"""
    if metric == "complaint_deadline":
        k = "c.branch_path" if branch else "c.handler_id"
        return f"""SELECT {k} AS k, SUM(CASE WHEN {ld('c.decided_at')} <= c.decision_due_on THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM service_complaint c WHERE c.decided_at >= %(s)s AND c.decided_at < %(e)s
              {'' if branch else 'AND c.handler_id IS NOT NULL'} GROUP BY {k}"""
    if metric == "retention":
        k = "b.path" if branch else "ma.staff_id"
        return f"""SELECT {k} AS k, COUNT(DISTINCT CASE WHEN cu.status = 'active' THEN ma.customer_id END) AS num,
                   COUNT(DISTINCT ma.customer_id) AS den
            FROM customers_managerassignment ma
            JOIN customers_customer cu ON cu.id = ma.customer_id JOIN org_branch b ON b.id = cu.branch_id
            WHERE ma.role = 'primary' AND ma.started_at <= %(s)s AND (ma.ended_at IS NULL OR ma.ended_at > %(s)s)
            GROUP BY {k}"""
    if metric == "aum_growth":
        k = "a.branch_path" if branch else "a.manager_id"
        first = "(SELECT MIN(day) FROM wealth_aumsnapshot WHERE day >= %(d0)s AND day <= %(d1)s)"
        last = "(SELECT MAX(day) FROM wealth_aumsnapshot WHERE day >= %(d0)s AND day <= %(d1)s)"
        return f"""SELECT {k} AS k,
                   CAST(SUM(CASE WHEN a.day = {last} THEN a.total_fen ELSE 0 END) AS BIGINT)
                   - CAST(SUM(CASE WHEN a.day = {first} THEN a.total_fen ELSE 0 END) AS BIGINT) AS num,
                   CAST(SUM(CASE WHEN a.day = {first} THEN a.total_fen ELSE 0 END) AS BIGINT) AS den
            FROM wealth_aumsnapshot a WHERE (a.day = {first} OR a.day = {last})
              {'' if branch else 'AND a.manager_id IS NOT NULL'} GROUP BY {k}"""
    if metric == "new_customers":
        k = "b.path" if branch else "ma.staff_id"
        return f"""SELECT {k} AS k, COUNT(DISTINCT ma.customer_id) AS num, 0 AS den
            FROM customers_managerassignment ma
            JOIN customers_customer cu ON cu.id = ma.customer_id JOIN org_branch b ON b.id = cu.branch_id
            WHERE ma.role = 'primary' AND cu.created_at >= %(s)s AND cu.created_at < %(e)s
              AND NOT EXISTS (SELECT 1 FROM customers_managerassignment e WHERE e.customer_id = ma.customer_id
                  AND e.role = 'primary' AND (e.started_at < ma.started_at OR (e.started_at = ma.started_at AND e.id < ma.id)))
            GROUP BY {k}"""
    if metric == "needs_met":
        k = "o.branch_path" if branch else "o.owner_id"
        return f"""SELECT {k} AS k, SUM(CASE WHEN o.stage = 'won' THEN 1 ELSE 0 END) AS num, COUNT(*) AS den
            FROM engagement_opportunity o
            WHERE o.stage IN ('won', 'lost') AND o.closed_at >= %(s)s AND o.closed_at < %(e)s GROUP BY {k}"""
    if metric == "return_visits":
        k = "v.branch_path" if branch else "sa.seller_id"
        return f"""SELECT {k} AS k, SUM(CASE WHEN v.outcome = 'ok' THEN 1 ELSE 0 END) AS num, COUNT(*) AS den
            FROM wealth_returnvisit v JOIN wealth_sale sa ON sa.id = v.sale_id
            WHERE v.status = 'done' AND v.done_at >= %(s)s AND v.done_at < %(e)s GROUP BY {k}"""
    if metric == "visits_on_time":
        k = "v.branch_path" if branch else "v.assignee_id"
        return f"""SELECT {k} AS k,
                   SUM(CASE WHEN v.status = 'done' AND {ld('v.done_at')} <= v.due_on THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM wealth_returnvisit v WHERE v.due_on >= %(d0)s AND v.due_on <= %(d1)s GROUP BY {k}"""
    if metric == "dd_on_time":
        k = "d.branch_path" if branch else "d.completed_by_id"
        return f"""SELECT {k} AS k, SUM(CASE WHEN {ld('d.completed_at')} <= d.due_on THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM risk_duediligence d WHERE d.status = 'done' AND d.completed_at >= %(s)s AND d.completed_at < %(e)s
              {'' if branch else 'AND d.completed_by_id IS NOT NULL'} GROUP BY {k}"""
    if metric == "findings":
        kv = "v.branch_path" if branch else "sa.seller_id"
        kc = "c.branch_path" if branch else "c.staff_named_id"
        kf = "sf.branch_path" if branch else "sf.staff_id"  # supervision's inspection/manual findings (registered)
        return f"""SELECT k, SUM(n) AS num, 0 AS den FROM (
              SELECT {kv} AS k, COUNT(*) AS n FROM wealth_returnvisit v JOIN wealth_sale sa ON sa.id = v.sale_id
              WHERE v.status = 'done' AND v.outcome = 'problem' AND v.done_at >= %(s)s AND v.done_at < %(e)s
              GROUP BY {kv}
              UNION ALL
              SELECT {kc} AS k, COUNT(*) AS n FROM service_complaint c
              WHERE c.decision = 'upheld' AND c.decided_at >= %(s)s AND c.decided_at < %(e)s
                {'' if branch else 'AND c.staff_named_id IS NOT NULL'} GROUP BY {kc}
              UNION ALL
              SELECT {kf} AS k, COUNT(*) AS n FROM supervision_finding sf
              WHERE sf.source IN ('inspection', 'manual') AND sf.raised_at >= %(s)s AND sf.raised_at < %(e)s
                {'' if branch else 'AND sf.staff_id IS NOT NULL'} GROUP BY {kf}) f GROUP BY k"""
    if metric == "training":
        k = "t.branch_path" if branch else "t.staff_id"
        return f"""SELECT {k} AS k,
                   SUM(CASE WHEN t.status = 'completed' AND {ld('t.completed_at')} <= t.due_on THEN 1 ELSE 0 END) AS num,
                   COUNT(*) AS den
            FROM people_assignment t WHERE t.due_on >= %(d0)s AND t.due_on <= %(d1)s
              AND t.status NOT IN ('waived', 'cancelled') GROUP BY {k}"""
    raise KeyError(metric)


def _appraised_sql(role: str) -> str:
    higher = ROLE_PRIORITY[:ROLE_PRIORITY.index(role)]
    exclude = ""
    if higher:
        roles = ", ".join(f"'{r}'" for r in higher)
        exclude = f"""AND NOT EXISTS (SELECT 1 FROM org_roleassignment r2 JOIN people_kpischeme k2
                          ON k2.role = r2.role AND k2.status = 'active'
                      WHERE r2.staff_id = s.id AND r2.role IN ({roles}))"""
    return f"""SELECT DISTINCT s.id AS id, b.path AS path FROM org_staff s JOIN org_branch b ON b.id = s.branch_id
        JOIN org_roleassignment r ON r.staff_id = s.id AND r.role = '{role}'
        WHERE s.is_active = %(active)s {exclude}"""


def scheme_sql(role: str, metrics: list[str]) -> str:
    """One statement: every line (value, numerator, denominator, score) and the total of every appraised member of
    staff under the role's active scheme."""
    branch = role in BRANCH_LEVEL
    parts = []
    for m in metrics:
        if branch:
            joined = f"""LEFT JOIN (SELECT a2.id AS k, SUM(g.num) AS num, SUM(g.den) AS den FROM appraised a2
                             JOIN ({_metric_sql(m, True)}) g ON g.k LIKE a2.path || '%%' GROUP BY a2.id) m ON m.k = a.id"""
        else:
            joined = f"LEFT JOIN ({_metric_sql(m, False)}) m ON m.k = a.id"
        parts.append(f"""SELECT a.id AS staff_id, '{m}' AS metric, w.weight AS weight, w.floor AS floor_v,
                w.target AS target_v, CAST(COALESCE(m.num, 0) AS BIGINT) AS num, CAST(COALESCE(m.den, 0) AS BIGINT) AS den,
                {SCALE[UNIT[m]]} AS scale, {1 if UNIT[m] == 'count' else 0} AS is_count
            FROM appraised a JOIN people_kpiweight w ON w.scheme_id = %(scheme)s AND w.metric = '{m}' {joined}""")
    value = f"""CASE WHEN is_count = 1 THEN num * scale WHEN den = 0 THEN NULL
                     ELSE {_half_up('num * scale', 'den')} END"""
    sign = "(CASE WHEN target_v > floor_v THEN 1 ELSE -1 END)"
    raw = _half_up(f"(value - floor_v) * 10000 * {sign}", f"(target_v - floor_v) * {sign}")
    score = f"CASE WHEN value IS NULL THEN NULL WHEN {raw} < 0 THEN 0 WHEN {raw} > 10000 THEN 10000 ELSE {raw} END"
    total = _half_up("SUM(CASE WHEN score IS NULL THEN 0 ELSE weight * score END)",
                     "SUM(CASE WHEN score IS NULL THEN 0 ELSE weight END)")
    return f"""WITH appraised AS ({_appraised_sql(role)}),
        lines AS ({' UNION ALL '.join(parts)}),
        valued AS (SELECT staff_id, metric, weight, floor_v, target_v, num, den, {value} AS value FROM lines),
        scored AS (SELECT staff_id, metric, weight, num, den, value, {score} AS score FROM valued),
        totals AS (SELECT staff_id, CASE WHEN SUM(CASE WHEN score IS NULL THEN 0 ELSE weight END) = 0 THEN 0
                                         ELSE {total} END AS total FROM scored GROUP BY staff_id)
        SELECT s.staff_id, s.metric, s.value, s.num, s.den, s.score, t.total
        FROM scored s JOIN totals t ON t.staff_id = s.staff_id"""


def reference_scores(period: Any) -> dict[int, dict[str, Any]]:
    tz = timezone.get_default_timezone()
    ops = connection.ops
    start = datetime.combine(period.starts_on, time.min, tz)
    end = datetime.combine(period.ends_on + timedelta(days=1), time.min, tz)
    out: dict[int, dict[str, Any]] = {}
    with connection.cursor() as cur:
        cur.execute("SELECT id, role FROM people_kpischeme WHERE status = 'active'")
        schemes = {role: sid for sid, role in cur.fetchall()}
        for role in ROLE_PRIORITY:
            if role not in schemes:
                continue
            cur.execute("SELECT metric FROM people_kpiweight WHERE scheme_id = %s ORDER BY position, id", [schemes[role]])
            metric_codes = [r[0] for r in cur.fetchall()]
            params = {"s": ops.adapt_datetimefield_value(start), "e": ops.adapt_datetimefield_value(end),
                      "d0": ops.adapt_datefield_value(period.starts_on), "d1": ops.adapt_datefield_value(period.ends_on),
                      "scheme": schemes[role], "active": True}
            cur.execute(scheme_sql(role, metric_codes), params)
            for staff_id, metric, value, num, den, score, total in cur.fetchall():
                card = out.setdefault(staff_id, {"total": int(total), "role": role, "lines": {}})
                card["lines"][metric] = (None if value is None else int(value), int(num), int(den),
                                         None if score is None else int(score))
    return out


def product_scores(period: Any) -> dict[int, dict[str, Any]]:
    """What ``scorecards_compute`` wrote, in the same shape (a line not measured has value None, score None)."""
    from .models import Scorecard, ScorecardLine

    out: dict[int, dict[str, Any]] = {}
    for sid, total, role in Scorecard.objects.filter(period=period).values_list("staff_id", "computed_score", "role"):
        out[sid] = {"total": total, "role": role, "lines": {}}
    for sid, metric, value, num, den, score in ScorecardLine.objects.filter(scorecard__period=period).values_list(
            "scorecard__staff_id", "metric", "value", "numerator", "denominator", "score"):
        out[sid]["lines"][metric] = (value, num, den, None if value is None else score)
    return out


def differences(got: dict, want: dict, limit: int = 20) -> list[str]:
    diffs = []
    for sid in sorted(set(got) | set(want)):
        a, b = got.get(sid), want.get(sid)
        if a != b:
            diffs.append(f"staff {sid}: product {a} != reference {b}")
            if len(diffs) >= limit:
                break
    return diffs
