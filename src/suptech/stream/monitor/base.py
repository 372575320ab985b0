"""The shape of a streaming detector, the reference data they share, and the registry.

A streaming detector keeps incremental state per instrument and account and is fed each
committed batch of order events and trades as it lands. It uses the parameters of the
batch detector of the same id (one `Params` class, one set of defaults), and raises a
case once its condition holds on what has arrived so far; a condition that later data
could still undo (spoofing's "at most two levels", ramping's "never trades the other
side that day") is reported only once nothing that has yet to arrive can undo it. The
batch scan of the same data is the reference: every streaming alert must be one it
raises too (see tests/test_stream_detect.py).

Only new reports (action NEW) are read: corrections and cancellations of reports are
the batch scan's business, which reads the database as currently known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from suptech.detect.base import SECOND, Detector, Params

#: How far (event time) a report may arrive behind a later one, by default. Venues
#: publish in event-time order, but a slice of time's reports of several members
#: arrive as several messages, and its orders and trades in separate fetches: this is
#: at least the time a publisher gathers into one message (`suptech replay`'s slice).
LATENESS = 5 * SECOND


@dataclass
class Reference:
    """What the detectors look up per row: kept current as reference data is committed."""

    lot_size: dict[str, int] = field(default_factory=dict)
    equity: set[str] = field(default_factory=set)
    #: account_id, group_key: accounts with the same key are related (one owner or group)
    groups: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"account_id": pl.String, "group_key": pl.String}))
    region: dict[str, str] = field(default_factory=dict)  # account -> its owner's region

    @classmethod
    def load(cls, store) -> "Reference":
        """From the database's current view, as the batch detectors see it."""
        from suptech.detect.market.data import market_data

        ref = cls()
        m = market_data(store)
        try:
            inst = pl.from_arrow(m.instruments.select("isin", "lot_size", "asset_class")
                                 .to_pyarrow())
            accounts = pl.from_arrow(m.accounts.select("account_id", "group_key", "owner")
                                     .to_pyarrow())
        finally:
            m.release()
        party = pl.from_arrow(store.view("party").select("party_id", "region").to_pyarrow())
        ref.lot_size = dict(inst.select("isin", "lot_size").iter_rows())
        ref.equity = set(inst.filter(pl.col("asset_class") == "EQUITY")["isin"].to_list())
        ref.groups = accounts.select("account_id", "group_key")
        owners = accounts.join(party, left_on="owner", right_on="party_id", how="inner")
        ref.region = dict(owners.select("account_id", "region").iter_rows())
        return ref


@dataclass
class Case:
    """A streaming detector's finding: the fields of an alert (EVALUATION.md)."""

    accounts: tuple[str, ...]
    isin: str
    day: int  # local trading day
    window_start: int
    window_end: int
    score: float
    evidence: tuple[str, ...]
    #: What makes two findings one case, when not (accounts, isin, day): a wash-trade
    #: ring is one case however many of its accounts have traded yet.
    key: tuple | None = None


class StreamDetector:
    """Set `batch` (the batch detector it mirrors); implement `orders` and `trades`.

    `orders` and `trades` receive a committed batch's new rows in event-time order,
    with `lots` (quantity in lots), `day`, `tod` (time of day) and `tt` (trading time)
    added, and return the
    cases found. The monitor raises each case once: per detector, accounts, instrument
    and day, as the batch detectors group them, or per the case's own `key`.
    """

    batch: ClassVar[type[Detector]]

    def __init__(self, ref: Reference, params: Params | None = None, shared: dict | None = None,
                 lateness: int = LATENESS):
        self.ref = ref
        self.params = params or self.batch.Params()
        self.shared = {} if shared is None else shared
        self.lateness = lateness  # ns of event time (see LATENESS)

    @property
    def id(self) -> str:
        return self.batch.id

    @property
    def typology(self) -> str:
        return self.batch.typology

    def orders(self, rows: pl.DataFrame, batch: int) -> list[Case]:
        return []

    def trades(self, rows: pl.DataFrame, batch: int) -> list[Case]:
        return []

    def tick(self, watermark: int, batch: int) -> list[Case]:
        """Called after each batch (numbered from 1) with the latest event time seen:
        cases that were waiting for later reports or for time to pass."""
        return []


def columns(frame: pl.DataFrame, *names: str) -> list[list]:
    """The frame's columns (`names`, or all) as lists, to walk with `zip`: a column at a
    time is several times faster than `iter_rows` over a batch's thousands of rows."""
    return [frame[n].to_list() for n in (names or frame.columns)]


REGISTRY: dict[str, type[StreamDetector]] = {}


def register(cls: type[StreamDetector]) -> type[StreamDetector]:
    if cls.batch.id in REGISTRY:
        raise ValueError(f"streaming detector {cls.batch.id!r} is registered twice")
    REGISTRY[cls.batch.id] = cls
    return cls
