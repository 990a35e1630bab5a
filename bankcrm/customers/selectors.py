"""Scoped reads of customers, and the one search box."""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from django.db import connections, router
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import crypto
from bankcrm.core.errors import NotFound
from bankcrm.core.identifiers import IdentifierError, normalise_mobile

from . import rules
from .models import Customer, CustomerQuerySet, ManagerAssignment, NameBigram

CJK_RE = re.compile(r"^[\u3400-\u9fff·]+$")


def customers_visible(actor: Any) -> QuerySet[Customer]:
    return Customer.objects.visible_to(actor)


def customer_get(actor: Any, customer_id: Any, *, for_update: bool = False) -> Customer:
    qs = customers_visible(actor).select_related("branch")
    if for_update:
        qs = qs.select_for_update(of=("self",)) if _supports_of() else qs.select_for_update()
    try:
        return qs.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内")) from None


def _supports_of() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_of


def _prefix(field: str, key: str) -> Q:
    """A prefix match the b-tree index serves on both databases: LIKE 'key%' on PostgreSQL (Django adds a
    pattern-ops index), a range on SQLite (its LIKE … ESCAPE cannot use an index)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": key, f"{field}__lt": key + "\U0010ffff"})
    return Q(**{f"{field}__startswith": key})


def _classify(q: str) -> tuple[str, tuple[str, ...]]:
    """What the search box holds and the values its filter needs: ``(kind, args)``. Pure apart from the blind index
    (an HMAC), so the same filter can be built from stand-in values (see ``_Plan``)."""
    q = (q or "").strip()
    if not q:
        return "all", ()
    compact = re.sub(r"[\s-]", "", q)
    # Customer numbers are '1' + a 9-digit sequence + a check digit, so they start with '10', '11' or '12' until the
    # sequence passes 300 million; mainland mobiles start with 13–19. An 11-digit number is read as a mobile when it
    # looks like one, whatever its Luhn digit happens to be.
    if compact.isdigit() and rules.customer_no_valid(compact) and not re.fullmatch(r"1[3-9]\d{9}", compact):
        return "customer_no", (compact,)
    if re.fullmatch(r"\d{17}[\dXx]", compact) or re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", compact.upper()):
        return "id_number", (crypto.blind_index(compact.upper(), "customer.id_number"),)
    if compact.isdigit() and len(compact) == 4:
        return "mobile_last4", (compact,)
    if compact.lstrip("+").isdigit() and len(compact) >= 11:
        try:
            return "mobile", (crypto.blind_index(normalise_mobile(compact), "customer.mobile"),)
        except IdentifierError:
            return "nothing", ()
    if compact.isdigit():
        return "customer_no_prefix", (compact,)
    if compact.isascii() and compact.isalpha():
        return "pinyin", (compact.lower(),)
    if CJK_RE.match(compact):
        if len(compact) == 1:
            return "name_first_char", (compact,)
        return "name", (*sorted(rules.bigrams(compact)), compact)
    return "name_any", (q,)


def _filtered(qs: QuerySet[Customer], kind: str, args: tuple[str, ...]) -> QuerySet[Customer]:
    if kind == "all":
        return qs.order_by("-created_at")
    if kind == "customer_no":
        return qs.filter(customer_no=args[0])
    if kind == "id_number":
        return qs.filter(id_number_bidx=args[0])
    if kind == "mobile_last4":
        return qs.filter(mobile_last4=args[0])
    if kind == "mobile":
        return qs.filter(mobile_bidx=args[0])
    if kind == "nothing":
        return qs.none()
    if kind == "customer_no_prefix":
        return qs.filter(_prefix("customer_no", args[0]))
    if kind == "pinyin":
        return qs.filter(_prefix("name_initials", args[0]) | _prefix("name_pinyin", args[0]))
    if kind == "name_first_char":
        return qs.filter(name__startswith=args[0])
    if kind == "name":
        *grams, name = args
        for g in grams:
            qs = qs.filter(pk__in=NameBigram.objects.filter(bigram=g).values("customer_id"))
        return qs.filter(name__contains=name)
    return qs.filter(name__icontains=args[0])


def search(actor: Any, q: str) -> QuerySet[Customer]:
    """One box: customer number, Chinese name or part of it (2 characters are enough), pinyin or initials,
    mobile number or its last four digits, identity number (exact, through the blind index)."""
    return _filtered(customers_visible(actor), *_classify(q))


PAGE_COLUMNS = ("customer_no", "kind", "name", "id_number", "mobile", "status", "branch")


def _with_page_columns(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """What the search page shows, and only that (templates/customers/list.html): number, name, kind, masked
    identity number and mobile, status, branch name, primary manager. Nothing else is loaded: every encrypted value
    costs a decryption and every column a conversion."""
    from django.db.models import OuterRef, Subquery

    manager = ManagerAssignment.objects.filter(customer=OuterRef("pk"), role=ManagerAssignment.Role.PRIMARY,
                                               ended_at__isnull=True).values("staff__name")[:1]
    # One query: the primary manager's name comes as a subquery instead of a second round trip.
    return (qs.select_related("branch").only(*PAGE_COLUMNS, "branch__name", "branch__name_en")
            .annotate(primary_manager_name=Subquery(manager)))


def search_results(actor: Any, q: str) -> QuerySet[Customer] | CompiledResults:
    """The rows of the search page (``_with_page_columns`` of ``search``), for a paginator: ``count()``, slices,
    iteration. A key (customer number, identity number, mobile or its last four digits, name, pinyin) comes as
    ``CompiledResults``: the same SQL, compiled once per actor and kind of key and then only executed (ADR 0010).
    An empty box and free text stay querysets."""
    kind, args = _classify(q)
    if kind in COMPILED_KINDS:
        found = _compiled_results(actor, kind, args)
        if found is not None:
            return found
    return _with_page_columns(_filtered(customers_visible(actor), kind, args))


# ---- Searches compiled once, executed many times -------------------------------------------------------------------
# Building and compiling the scoped queryset costs ~1.5 ms of Python per search, several times the index lookup
# itself (QUALITY.md P4). For a given kind of key the SQL differs only in the key, so it is compiled once per (database
# connection, actor scope, kind of key) from the very querysets above with stand-ins for the key's values, and each
# search executes it with the values in the stand-ins' places. The scope is still Customer.objects.visible_to's SQL.
COMPILED_KINDS = frozenset({"customer_no", "id_number", "mobile", "mobile_last4", "customer_no_prefix", "pinyin",
                            "name_first_char", "name"})
PEEK = 50  # count() fetches up to this many rows: fewer means the count is known and no COUNT query is needed
_PLANS_PER_CONNECTION = 512
_plans: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, _Plan | None]] = weakref.WeakKeyDictionary()
_plans_lock = threading.Lock()


def _scope_signature(actor: Any) -> tuple | None:
    """Everything Customer.objects.visible_to reads from the actor (identity, roles, employment type, active flag,
    branch path), plus the function itself, so that a changed role, a moved branch or a patched scope never reuses
    SQL compiled for another scope. None: not a signed-in member of staff (the queryset path answers)."""
    if not getattr(actor, "is_authenticated", False) or getattr(actor, "pk", None) is None:
        return None
    return (CustomerQuerySet.visible_to, type(actor), actor.pk, getattr(actor, "is_active", True),
            frozenset(actor.roles), getattr(actor, "employment_type", None), getattr(actor, "branch_path", None))


def _compiled_results(actor: Any, kind: str, args: tuple[str, ...]) -> CompiledResults | None:
    signature = _scope_signature(actor)
    if signature is None:
        return None
    alias = router.db_for_read(Customer)
    connection = connections[alias]
    key = (kind, len(args), alias, signature)
    with _plans_lock:
        plans = _plans.setdefault(connection, OrderedDict())
        if key in plans:
            plans.move_to_end(key)
            plan = plans[key]
        else:
            plan = _MISSING
    if plan is _MISSING:
        plan = _Plan.build(actor, kind, len(args), alias)
        with _plans_lock:
            plans[key] = plan
            while len(plans) > _PLANS_PER_CONNECTION:
                plans.popitem(last=False)
    if plan is None:
        return None
    params = plan.params(args)
    return None if params is None else CompiledResults(plan, params)


def clear_search_plans() -> None:
    """Forget every compiled search (benchmarks measure the first search of an actor with it)."""
    with _plans_lock:
        _plans.clear()


_MISSING: Any = object()


class _Plan:
    """One compiled search: the SQL of the page rows and of their count with stand-ins for the key, and how to turn
    rows into Customer objects (converters, select_related branch, the manager annotation) exactly as Django's own
    ModelIterable does, with the compiler that produced the SQL."""

    STAND_IN = "\x1fbankcrm-search-{}\x1f"  # no LIKE wildcard or escape character: it survives any lookup verbatim

    def __init__(self, alias: str, compiler: Any, sql: str, params: tuple, count_sql: str, count_params: tuple,
                 stand_ins: tuple[str, ...]) -> None:
        from django.db.models.query import get_related_populators

        self.alias, self.compiler, self.sql, self.count_sql = alias, compiler, sql, count_sql
        self.stand_ins = stand_ins
        self.template, self.slots = params, self._slots(params)
        self.count_template, self.count_slots = count_params, self._slots(count_params)
        select, klass_info = compiler.select, compiler.klass_info
        self.converters = compiler.get_converters([s[0] for s in select[:compiler.col_count]])
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = compiler.annotation_col_map

    @classmethod
    def build(cls, actor: Any, kind: str, nargs: int, alias: str) -> _Plan | None:
        from django.core.exceptions import EmptyResultSet

        stand_ins = tuple(cls.STAND_IN.format(i) for i in range(nargs))
        scoped = _filtered(customers_visible(actor), kind, stand_ins)
        try:
            compiler = _with_page_columns(scoped).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            count_sql, count_params = scoped.order_by().values("pk").query.get_compiler(using=alias).as_sql()
        except EmptyResultSet:  # the actor sees no customer at all: the queryset path answers without a query
            return None
        plan = cls(alias, compiler, sql, tuple(params), f"SELECT COUNT(*) FROM ({count_sql}) AS compiled_search",
                   tuple(count_params), stand_ins)
        texts = (sql, count_sql)
        if any(s in t for s in stand_ins for t in texts) or not plan.slots or not plan.count_slots:
            return None  # a stand-in was written into the SQL text, or not passed as a parameter: do not guess
        return plan

    def _slots(self, params: tuple) -> list[int]:
        return [i for i, p in enumerate(params) if isinstance(p, str) and any(s in p for s in self.stand_ins)]

    def _fill(self, template: tuple, slots: list[int], args: tuple[str, ...]) -> list | None:
        out = list(template)
        for i in slots:
            value = template[i]
            if value not in self.stand_ins and any(ch in a for a in args for ch in "%_\\"):
                return None  # inside a pattern (LIKE) a key would need escaping: leave it to the queryset path
            for stand_in, arg in zip(self.stand_ins, args, strict=True):
                value = value.replace(stand_in, arg)
            out[i] = value
        return out

    def params(self, args: tuple[str, ...]) -> tuple[list, list] | None:
        page, count = self._fill(self.template, self.slots, args), self._fill(self.count_template, self.count_slots, args)
        return None if page is None or count is None else (page, count)

    def fetch(self, params: list, limit: int | None = None, offset: int = 0) -> list[tuple]:
        """All rows, or ``limit`` rows from ``offset`` (integers, so they can be written into the SQL)."""
        sql = self.sql if limit is None else f"{self.sql} LIMIT {int(limit)} OFFSET {int(offset)}"
        with connections[self.alias].cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def count(self, params: list) -> int:
        with connections[self.alias].cursor() as cur:
            cur.execute(self.count_sql, params)
            return cur.fetchone()[0]

    def materialise(self, rows: list[tuple]) -> list[Customer]:
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        out = []
        for row in rows:
            obj = Customer.from_db(self.alias, self.init_list, row[self.start:self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for attr, pos in self.annotations.items():
                setattr(obj, attr, row[pos])
            out.append(obj)
        return out


class CompiledResults:
    """The customers a key finds, for the search page's paginator: ``count()`` reads up to PEEK rows (so a
    page of a handful of matches is one query and no COUNT), slices read only their rows and decrypt only what they
    return."""

    ordered = True  # ORDER BY customer_no, as the queryset

    def __init__(self, plan: _Plan, params: tuple[list, list]) -> None:
        self._plan, (self._params, self._count_params) = plan, params
        self._rows: list[tuple] | None = None  # the first rows, all of them if self._complete
        self._complete = False

    def count(self) -> int:
        if self._rows is None:
            self._rows = self._plan.fetch(self._params, limit=PEEK)
            self._complete = len(self._rows) < PEEK
        return len(self._rows) if self._complete else self._plan.count(self._count_params)

    def _all(self) -> list[tuple]:
        if not self._complete:
            self._rows, self._complete = self._plan.fetch(self._params), True
        return self._rows or []

    def __getitem__(self, k: int | slice) -> Any:
        if isinstance(k, int):
            found = self[k:k + 1] if k >= 0 else self._plan.materialise(self._all()[k:k + 1 or None])
            if not found:
                raise IndexError(k)
            return found[0]
        start, stop = k.start or 0, k.stop
        if k.step not in (None, 1) or start < 0 or (stop is not None and stop < 0):
            return self._plan.materialise(self._all())[k]
        if stop is not None and stop <= start:
            return []
        if stop is None:
            rows = self._all()[start:]
        elif self._rows is not None and (self._complete or stop <= len(self._rows)):
            rows = self._rows[start:stop]
        else:
            rows = self._plan.fetch(self._params, limit=stop - start, offset=start)
        return self._plan.materialise(rows)

    def __iter__(self) -> Iterator[Customer]:
        return iter(self._plan.materialise(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def __bool__(self) -> bool:
        return self.count() > 0


def relationship_graph(actor: Any, customer: Customer) -> dict:
    """Nodes and links around one customer for the 360 page's graph. Related customers the actor may not see are
    shown only as a masked placeholder (the link exists; their data is not revealed)."""
    from bankcrm.core import masking

    from .models import Relationship

    rels = list(Relationship.objects.filter(Q(from_customer=customer) | Q(to_customer=customer), ended_at__isnull=True)
                .select_related("from_customer", "to_customer"))
    visible = set(customers_visible(actor).filter(pk__in={r.from_customer_id for r in rels} | {r.to_customer_id for r in rels})
                  .values_list("pk", flat=True))
    masked = getattr(actor, "sees_masked_names", True)

    def label(c: Customer) -> str:
        if c.pk not in visible:
            return _("（无权查看）")
        return masking.mask_name(c.name) if masked else c.name

    nodes = {customer.pk: {"id": str(customer.pk), "name": label(customer), "center": True, "kind": customer.kind}}
    links, rows = [], []
    for r in rels:
        other = r.to_customer if r.from_customer_id == customer.pk else r.from_customer
        word = r.get_kind_display() if r.from_customer_id == customer.pk else \
            Relationship.INVERSE_LABELS.get(r.kind, r.get_kind_display())
        nodes.setdefault(other.pk, {"id": str(other.pk), "name": label(other), "center": False, "kind": other.kind,
                                    "visible": other.pk in visible})
        links.append({"source": str(customer.pk), "target": str(other.pk), "label": str(word)})
        rows.append({"rel": r, "other": other if other.pk in visible else None, "word": str(word),
                     "other_visible": other.pk in visible, "name": label(other)})
    return {"nodes": list(nodes.values()), "links": links, "rows": rows}


def has_consent(customer: Customer, purpose: str) -> bool:
    """Whether an unwithdrawn consent for this purpose exists (marketing contact, surveys, data sharing…)."""
    return customer.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists()
