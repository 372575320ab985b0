"""What an analyst looks at to judge an alert: its orders, trades and the book, or its
payments and the money-flow graph.

The order book is rebuilt from the day's order events of the instrument (every NEW,
MODIFY, fill, cancel and expiry carries the order's price and what is left of it), so
the picture shows the best bid and ask as the market saw them, the suspect accounts'
orders on top, and the trades. A payment alert is drawn as the graph of its payments:
accounts as nodes, money as arrows. The pictures are drawn by
`suptech.server.charts`, the same for the dashboard and `alerts show`.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import polars as pl

from suptech.detect.payments.data import payments_once
from suptech.model.calendar import DAY, calendar

MINUTE_NS = 60 * 1_000_000_000
#: Evidence frames that are drawn, not listed (nor sent: the pictures are made here).
PICTURED = ("book", "volume")
MARGIN_NS = 5 * MINUTE_NS  # shown before and after the alert's window


@dataclass
class Evidence:
    #: order events of the alert's accounts in its instrument and window, and of the
    #: orders it names (whose: "suspect" or "named")
    orders: pl.DataFrame
    trades: pl.DataFrame  # trades of those accounts, and those it names in other instruments
    book: pl.DataFrame  # ts_event, best_bid, best_ask around the window
    day_events: pl.DataFrame  # every order event of the instrument that day (for the book)
    #: the instrument's announcements that day and the next (what an insider knew of)
    announcements: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: the insider list's entries of the instrument for the accounts' owners
    insiders: pl.DataFrame = field(default_factory=pl.DataFrame)
    #: ts_event (each minute's start), quantity: the whole market's trading in the
    #: instrument around the window (the crowd a ramp or a pump draws in)
    volume: pl.DataFrame = field(default_factory=pl.DataFrame)

    def frames(self) -> dict[str, pl.DataFrame]:
        """What is shown and sent of it: orders, trades, the book and the volume
        (`PICTURED`: drawn, not listed), and the announcements and insider links where
        there are any."""
        extra = {"announcements": self.announcements, "insiders": self.insiders}
        return {"orders": self.orders, "trades": self.trades, "book": self.book,
                "volume": self.volume, **{k: v for k, v in extra.items() if v.height}}

    def trades_in(self, isin: str | None) -> pl.DataFrame:
        """The trades in `isin` (all where none): a picture's, on that price scale."""
        return self.trades.filter(pl.col("isin") == isin) if isin else self.trades

    @classmethod
    def of(cls, frames: dict[str, pl.DataFrame]) -> "Evidence":
        """`frames()` back, for a picture (the day's events are not among them)."""
        empty = pl.DataFrame()
        return cls(frames["orders"], frames["trades"], frames["book"], frames["orders"],
                   frames.get("announcements", empty), frames.get("insiders", empty),
                   frames.get("volume", empty))


def ticks(store, isin: str | None) -> dict:
    """An instrument's tick size by its ISIN (none when unknown), to show prices at."""
    sizes = store.instrument_sizes(pl.Series([isin] if isin else [], dtype=pl.String))
    return dict(sizes.select("isin", "tick_size").iter_rows())


def evidence_ids(alert: dict) -> list[str]:
    """The orders, trades or payments an alert names as its evidence."""
    return [i for i in (alert["evidence"] or "").split(";") if i]


def _frame(table) -> pl.DataFrame:
    frame = pl.from_arrow(table.to_pyarrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def evidence(store, alert: dict) -> Evidence:
    accounts = alert["account_ids"].split(";")
    start, end = alert["window_start"] - MARGIN_NS, alert["window_end"] + MARGIN_NS
    isin = alert["isin"]
    inst = store.view("instrument")
    mic = inst.filter(inst.isin == isin).mic.to_pyarrow().to_pylist() if isin else []
    cal = calendar(mic[0] if mic else None)
    day_start = cal.day_start(cal.local_day(start))
    ev = store.view("order_event")
    day = ev.filter((ev.ts_event >= day_start) & (ev.ts_event <= end))
    if isin:
        day = day.filter(day.isin == isin)
    # Events of one moment apply in the order they were reported (file row order).
    day_events = _frame(day.order_by(["ts_event", "ts_received", "row"]).select(
        "ts_event", "order_id", "event_type", "account_id", "side", "order_type", "price",
        "quantity", "leaves_quantity", "isin"))
    # The suspects' orders, and the others the alert names as its evidence (the client
    # order a front runner ran ahead of), each said whose it is.
    named = evidence_ids(alert)
    orders = day_events.filter(
        (pl.col("account_id").is_in(accounts) | pl.col("order_id").is_in(named))
        & pl.col("ts_event").is_between(start, end)).with_columns(
        whose=pl.when(pl.col("account_id").is_in(accounts)).then(pl.lit("suspect"))
        .otherwise(pl.lit("named")))
    # The accounts' trades in the instrument, and any the alert names in another (the
    # derivative a cross-market manipulator traded: both markets).
    tr = store.view("trade")
    theirs = tr.buy_account_id.isin(accounts) | tr.sell_account_id.isin(accounts)
    if isin:
        theirs &= tr.isin == isin
    tr = tr.filter((tr.ts_event >= start) & (tr.ts_event <= end)
                   & (theirs | tr.trade_id.isin(named or [""])))
    trades = _frame(tr.select("ts_event", "trade_id", "isin", "price", "quantity",
                              "buy_account_id", "sell_account_id", "aggressor_side")
                    .order_by("ts_event"))
    book = best_prices(day_events).filter(pl.col("ts_event").is_between(start, end))
    if not isin:
        return Evidence(orders, trades, book, day_events)
    return Evidence(orders, trades, book, day_events,
                    *_insider_view(store, isin, accounts, day_start),
                    _volume(store, isin, start, end))


def _volume(store, isin: str, start: int, end: int) -> pl.DataFrame:
    """Lots traded in the instrument each minute from `start` to `end`, by everyone."""
    t = store.view("trade")
    t = t.filter((t.isin == isin) & (t.ts_event >= start) & (t.ts_event <= end))
    minute = (t.ts_event // MINUTE_NS) * MINUTE_NS
    return _frame(t.group_by(ts_event=minute).aggregate(quantity=t.quantity.sum())
                  .order_by("ts_event"))


def _insider_view(store, isin: str, accounts: list[str], day_start: int):
    """The instrument's announcements from the alert's day to the end of the next, and
    the insider list's entries of the instrument for the owners of the alert's
    accounts: what makes trading before news insider dealing."""
    news = store.view("announcement")
    news = news.filter((news.isin == isin) & (news.ts_event >= day_start)
                       & (news.ts_event < day_start + 2 * DAY))
    announcements = _frame(news.select("ts_event", "announcement_id", "category",
                                       "price_sensitive").order_by("ts_event"))
    acc, ins = store.view("account"), store.view("insider")
    owners = acc.filter(acc.account_id.isin(accounts)).select("account_id", "owner_party_id")
    links = owners.inner_join(ins, [owners.owner_party_id == ins.party_id, ins.isin == isin])
    insiders = _frame(links.select("account_id", "party_id", "valid_from", "valid_to")
                      .distinct().order_by("account_id"))
    return announcements, insiders


def best_prices(events: pl.DataFrame) -> pl.DataFrame:
    """Best bid and ask after each event, replaying the day's order events in order."""
    live: dict[str, tuple[str, float]] = {}  # order_id -> (side, price) while it rests
    bids: list[tuple[float, str]] = []
    asks: list[tuple[float, str]] = []
    out_ts, out_bid, out_ask = [], [], []
    resting = {"NEW", "MODIFY", "PARTIAL_FILL"}

    def best(heap: list, sign: int) -> float | None:
        while heap:
            price, oid = heap[0]
            if oid in live and live[oid][1] == sign * price:
                return sign * price
            heapq.heappop(heap)
        return None

    for ts, oid, kind, side, otype, price, leaves in events.select(
            "ts_event", "order_id", "event_type", "side", "order_type", "price",
            "leaves_quantity").iter_rows():
        if kind in resting and leaves and otype == "LIMIT" and price is not None:
            p = float(price)
            live[oid] = (side, p)
            heapq.heappush(bids if side == "BUY" else asks,
                           (-p if side == "BUY" else p, oid))
        else:
            live.pop(oid, None)
        out_ts.append(ts)
        out_bid.append(best(bids, -1))
        out_ask.append(best(asks, 1))
    book = pl.DataFrame({"ts_event": out_ts, "best_bid": out_bid, "best_ask": out_ask},
                        schema={"ts_event": pl.Int64, "best_bid": pl.Float64,
                                "best_ask": pl.Float64})
    # An aggressive order's NEW and its fills share a moment: show the state after all.
    return book.unique(subset="ts_event", keep="last", maintain_order=True)


def payment_evidence(store, alert: dict) -> pl.DataFrame:
    """The payments an alert names as its evidence, in time order, each once."""
    ids = evidence_ids(alert)
    p = payments_once(store)
    return _frame(p.filter(p.payment_id.isin(ids)).select(
        "ts_event", "payment_id", "debtor_account_id", "creditor_account_id", "amount",
        "currency", "channel", "purpose", "debtor_country", "creditor_country")
        .order_by("ts_event"))
