"""Reads for the dashboard home (the Overview) and All Payments' totals, aggregated in SQL:
the number of queries is fixed, whatever the number of links (docs/merchant.md#overview).

"Received" means links that are Successful, counted when they were paid (`paid_at`):
in the link's currency, the amount asked (what the payment was worth when it was made);
per coin, the amount received on chain (`amount_received`, base units). Money is Decimal
(link currency) and int (base units); never float. The chart's geometry alone uses floats.

BaseUnitsField sums: on PostgreSQL in SQL (numeric(78,0), exact). SQLite holds base units
as text (payram.lib.fields), so there the rows are fetched, still in one query, and summed
as Python ints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from chain import catalogue
from links.models import LinkStatus, PaymentLink, Refund, RefundState
from links.status import Detail
from payram.lib.fields import BaseUnitsField
from payram.lib.money import format_fiat, format_units

CHART_DAYS = 30
PAID_LATE_DAYS = 30  # a late payment stays on the list this long (the rate may have moved)
ATTENTION_ROWS = 20
ZERO = Decimal("0.00")


def coin_words(units: int, network: str, asset: str) -> str:
    """'1.5 ETH on Ethereum'; base units when the asset left the catalogue."""
    try:
        net = catalogue.get(network)
        return f"{format_units(int(units), net.asset(asset).decimals)} {asset} on {net.name}"
    except KeyError:
        return f"{int(units)} base units of {asset} on {network}"


@dataclass(frozen=True)
class Windows:
    """Starts of this day, week (Monday) and month in the site's time zone (TIME_ZONE)."""

    day: datetime
    week: datetime
    month: datetime

    @classmethod
    def at(cls, now: datetime | None = None) -> Windows:
        local = timezone.localtime(now or timezone.now())
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(day=day, week=day - timedelta(days=day.weekday()), month=day.replace(day=1))

    @property
    def earliest(self) -> datetime:
        return min(self.week, self.month)

    def names(self, paid_at: datetime) -> list[str]:
        return [name for name in ("day", "week", "month") if paid_at >= getattr(self, name)]


@dataclass
class Received:
    """What one project received this day / week / month."""

    project_id: int
    project_name: str
    fiat: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # currency -> window -> amount
    payments: dict[str, int] = field(default_factory=lambda: {"day": 0, "week": 0, "month": 0})
    coins: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (network, asset) -> window -> units

    def fiat_rows(self) -> list[dict]:
        return [
            {"currency": c, **{w: format_fiat(v[w], c) for w in ("day", "week", "month")}} for c, v in sorted(self.fiat.items())
        ]

    def coin_rows(self) -> list[dict]:
        return [
            {
                "coin": _coin_label(n, a),
                **{w: _coin_number(v[w], n, a) for w in ("day", "week", "month")},
            }
            for (n, a), v in sorted(self.coins.items())
        ]


def _coin_label(network: str, asset: str) -> str:
    try:
        return f"{asset} on {catalogue.get(network).name}"
    except KeyError:
        return f"{asset} on {network} (base units)"


def _coin_number(units: int, network: str, asset: str) -> str:
    if not units:
        return "—"
    try:
        return format_units(int(units), catalogue.get(network).asset(asset).decimals)
    except KeyError:
        return str(int(units))


def _window_filters(windows: Windows, prefix: str = "") -> dict[str, Q]:
    return {name: Q(**{f"{prefix}paid_at__gte": getattr(windows, name)}) for name in ("day", "week", "month")}


def _unit_sums(qs: QuerySet, group: tuple[str, ...], windows: Windows | None = None) -> dict[tuple, dict[str, int]]:
    """Sums of amount_received grouped by `group`, per window (or 'all' without windows):
    one query either way (see the module docstring for SQLite)."""
    qs = qs.exclude(amount_received=None).order_by()
    names = ("day", "week", "month") if windows else ("all",)
    out: dict[tuple, dict[str, int]] = {}
    if connection.vendor == "postgresql":
        if windows:
            sums = {
                n: Sum("amount_received", filter=q, output_field=BaseUnitsField()) for n, q in _window_filters(windows).items()
            }
        else:
            sums = {"all": Sum("amount_received", output_field=BaseUnitsField())}
        for row in qs.values(*group).annotate(**sums):
            out[tuple(row[g] for g in group)] = {n: int(row[n] or 0) for n in names}
        return out
    for row in qs.values_list(*group, "amount_received", "paid_at"):
        key, units, paid_at = row[: len(group)], int(row[len(group)]), row[-1]
        bucket = out.setdefault(tuple(key), dict.fromkeys(names, 0))
        for name in windows.names(paid_at) if windows else names:
            bucket[name] += units
    return out


def received_by_project(links: QuerySet[PaymentLink], projects, *, now: datetime | None = None) -> list[Received]:
    """Two queries: link-currency sums, then per-coin sums, for this day / week / month."""
    windows = Windows.at(now)
    paid = links.filter(status=LinkStatus.SUCCESSFUL, paid_at__gte=windows.earliest)
    table = {p.pk: Received(p.pk, p.name) for p in projects}
    filters = _window_filters(windows)
    sums = {n: Sum("amount", filter=q) for n, q in filters.items()}
    counts = {f"n_{n}": Count("id", filter=q) for n, q in filters.items()}
    for row in paid.order_by().values("project_id", "currency").annotate(**sums, **counts):
        entry = table.get(row["project_id"])
        if entry is None:
            continue
        entry.fiat[row["currency"]] = {n: row[n] or ZERO for n in filters}
        for n in filters:
            entry.payments[n] += row[f"n_{n}"]
    for (project_id, network, asset), units in _unit_sums(
        paid, ("project_id", "received_network", "received_asset"), windows
    ).items():
        if project_id in table:
            table[project_id].coins[(network, asset)] = units
    return list(table.values())


def status_counts(links: QuerySet[PaymentLink]) -> list[dict]:
    """Links per status (one query), every status listed, in the order of LinkStatus."""
    found = dict(links.order_by().values_list("status").annotate(n=Count("id")))
    return [{"status": value, "label": label, "count": found.get(value, 0)} for value, label in LinkStatus.choices]


@dataclass(frozen=True)
class Attention:
    counts: dict[str, int]  # detail -> links
    links: list[PaymentLink]  # the newest ATTENTION_ROWS of them

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def needing_attention(links: QuerySet[PaymentLink], *, now: datetime | None = None) -> Attention:
    """Underpaid, refund due (no refund sent yet) and paid late (the last PAID_LATE_DAYS):
    two queries (counts, the newest rows)."""
    now = now or timezone.now()
    refund_sent = Refund.objects.filter(link=OuterRef("pk"), state=RefundState.SENT)
    wanted = (
        Q(status_detail=Detail.UNDERPAID)
        | (Q(status_detail=Detail.REFUND_DUE) & ~Exists(refund_sent))
        | Q(status_detail=Detail.PAID_LATE, paid_at__gte=now - timedelta(days=PAID_LATE_DAYS))
    )
    chosen = links.filter(wanted)
    counts = dict(chosen.order_by().values_list("status_detail").annotate(n=Count("id")))
    rows = list(chosen.order_by("-status_updated_at", "-created_at", "-id")[:ATTENTION_ROWS])
    return Attention(counts={d: counts.get(d, 0) for d in (Detail.UNDERPAID, Detail.REFUND_DUE, Detail.PAID_LATE)}, links=rows)


@dataclass(frozen=True)
class Bar:
    day: date
    total: Decimal
    payments: int
    x: float
    y: float
    width: float
    height: float

    @property
    def words(self) -> str:
        return f"{self.day:%Y-%m-%d}: {self.payments} payment{'s' if self.payments != 1 else ''}"


@dataclass(frozen=True)
class Chart:
    """Payments per day in one currency, as an SVG drawn by the template (no script)."""

    currency: str
    bars: list[Bar]
    total: Decimal
    payments: int
    top: Decimal  # the y axis' maximum
    width: int = 800
    height: int = 240
    plot_left: int = 80
    plot_right: int = 792
    plot_top: int = 14
    plot_bottom: int = 208

    @property
    def half(self) -> Decimal:
        return self.top / 2

    @property
    def mid_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2

    @property
    def label_x(self) -> int:
        return self.plot_left - 6

    @property
    def ticks(self) -> list[dict]:
        """Axis labels at the first, middle and last day."""
        picks = {0, len(self.bars) // 2, len(self.bars) - 1}
        return [{"x": b.x + b.width / 2, "day": b.day} for i, b in enumerate(self.bars) if i in picks]


def payments_chart(links: QuerySet[PaymentLink], *, now: datetime | None = None, days: int = CHART_DAYS) -> list[Chart]:
    """Successful payments per day over the last `days` days (today included), one chart
    per currency: one query."""
    tz = timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now()).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (
        links.filter(status=LinkStatus.SUCCESSFUL, paid_at__gte=start)
        .order_by()
        .annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("currency", "day")
        .annotate(total=Sum("amount"), n=Count("id"))
    )
    per: dict[str, dict[date, tuple[Decimal, int]]] = {}
    for row in rows:
        per.setdefault(row["currency"], {})[row["day"]] = (row["total"] or ZERO, row["n"])
    charts = []
    for currency, by_day in sorted(per.items(), key=lambda kv: -sum(n for _, n in kv[1].values())):
        top = max(total for total, _ in by_day.values())
        top = _nice_ceiling(top)
        plot_left, plot_right, plot_top, plot_bottom = Chart.plot_left, Chart.plot_right, Chart.plot_top, Chart.plot_bottom
        step = (plot_right - plot_left) / days
        bars = []
        for i in range(days):
            day = first + timedelta(days=i)
            total, n = by_day.get(day, (ZERO, 0))
            h = float(total / top) * (plot_bottom - plot_top) if top else 0.0  # geometry only
            bars.append(
                Bar(day, total, n, round(plot_left + i * step + 1, 2), round(plot_bottom - h, 2), round(step - 2, 2), round(h, 2))
            )
        charts.append(
            Chart(
                currency=currency,
                bars=bars,
                total=sum((b.total for b in bars), ZERO),
                payments=sum(b.payments for b in bars),
                top=top,
            )
        )
    return charts


def _nice_ceiling(value: Decimal) -> Decimal:
    """1, 2, 2.5 or 5 times a power of ten, at least `value` (a readable axis maximum)."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= power * step:
            return power * step
    return power * 10


@dataclass(frozen=True)
class Totals:
    """All Payments' totals for the filtered view (four queries)."""

    links: int
    by_status: list[dict]
    asked: list[str]  # '$1,200.00' per currency: every link in the view
    received: list[str]  # per currency: the Successful ones
    paid: int
    coins: list[str]  # '1.5 ETH on Ethereum' per coin received by the Successful ones


def totals(links: QuerySet[PaymentLink]) -> Totals:
    links = links.order_by()
    by_status = status_counts(links)
    asked = links.values("currency").annotate(total=Sum("amount")).order_by("currency")
    paid = links.filter(status=LinkStatus.SUCCESSFUL)
    received = paid.values("currency").annotate(total=Sum("amount"), n=Count("id")).order_by("currency")
    received = list(received)
    coins = _unit_sums(paid, ("received_network", "received_asset"))
    return Totals(
        links=sum(s["count"] for s in by_status),
        by_status=[s for s in by_status if s["count"]],
        asked=[format_fiat(r["total"] or ZERO, r["currency"]) for r in asked],
        received=[format_fiat(r["total"] or ZERO, r["currency"]) for r in received],
        paid=sum(r["n"] for r in received),
        coins=[coin_words(v["all"], n, a) for (n, a), v in sorted(coins.items()) if v["all"]],
    )
