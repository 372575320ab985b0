"""The shape of a detector and the registry that holds them.

A detector looks at the report database through Ibis and returns *hits*: one row per
suspected case, with the accounts, the instrument, the time window, a score in 0..1 and
the ids of the order events and trades that are its evidence. It never knows which
engine runs it. The scan turns hits into alerts (EVALUATION.md's format) stamped with
the detector's id, version and parameters.

A market detector is written in two parts, so that one definition serves a day's scan
and the stream alike (`suptech.detect.window`):

- `episodes(m)`: its findings at their finest grain (an order cancelled after a trade
  the other way, a trade between related accounts), each with the columns of its case
  (`case`) and `done`, a time (ns) after which no event can change it. An episode
  reads only events in the `reach()` ns before its `done`.
- `cases(episodes)`: the episodes of each case gathered into one hit, scored.

A condition over a whole day ("never trades the other side that day") is an episode
done at the day's close, so that a case is never raised before it is settled.

A third party's detector registers itself exactly like the built-in ones.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import ClassVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

#: Columns every detector's hits have.
HIT_SCHEMA = ibis.schema({
    "account_ids": dt.Array(dt.string), "isin": dt.string, "window_start": dt.int64,
    "window_end": dt.int64, "score": dt.float64, "evidence": dt.Array(dt.string),
})

SECOND = 1_000_000_000
MINUTE = 60 * SECOND


@dataclass(frozen=True)
class Params:
    """Base of every detector's parameters: frozen, so a run's parameters are a value."""

    def as_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class Detector:
    """Set `id`, `typology`, `version`, `Params`; implement `hits`."""

    id: ClassVar[str]
    #: A detector that names each case's typology itself (the learned one) sets "*": it
    #: names typologies that rule detectors of its domain raise.
    typology: ClassVar[str]
    #: What it reads: "market" (orders and trades) or "payments".
    domain: ClassVar[str] = "market"
    version: ClassVar[str] = "1"
    Params: ClassVar[type[Params]] = Params
    #: The columns of an episode that make one case: the alert's id comes from them,
    #: so a case keeps its id as it grows. Empty: a detector with `hits` alone.
    case: ClassVar[tuple[str, ...]] = ()
    #: Every episode is done at its day's close (a condition over the whole day): the
    #: stream need not look for one before then.
    at_close: ClassVar[bool] = False
    #: Typologies whose alerts holding a payment or an order this detector's alert holds
    #: are the same case, which this one names better (`run.one_per_case`).
    supersedes: ClassVar[tuple[str, ...]] = ()
    #: Typologies whose alert is a part of this detector's when it holds nothing this
    #: one does not (and this one holds more): a ring carved out of a walk is the walk,
    #: a walk carved out of a ring the ring (`run.one_per_case`).
    encloses: ClassVar[tuple[str, ...]] = ()
    #: Whether its scores are mapped to probabilities by the shipped calibration
    #: (`detect.calibration`): a suspicion's are; a measure against a line's are not.
    calibrated: ClassVar[bool] = True

    def __init__(self, params: Params | None = None):
        self.params = params or self.Params()

    def by_default(self) -> bool:
        """Whether a scan that names no detectors runs this one."""
        return True

    def data_options(self) -> dict[str, int]:
        """What it needs of its domain's tables (`run.DATA`) beyond a run's range: the
        largest each detector of a run asks is built."""
        return {}

    def hits(self, m) -> ir.Table:  # MarketData or PaymentData, by `domain`
        return self.cases(self.episodes(m))

    def episodes(self, m) -> ir.Table:
        raise NotImplementedError

    def cases(self, e: ir.Table) -> ir.Table:
        raise NotImplementedError

    def anchors(self, m) -> ir.Table | None:
        """Where every episode starts from a row of a small table (a piece of news) and
        is done when that row's `done` comes, that table with its `done`, as `episodes`
        reads it: a stream's window runs the detector only when one of them is done
        since its last advance. None: run it every time."""
        return None

    def reach(self) -> int:
        """How far before an episode's `done` the events it reads may lie, in ns of
        trading time (`tt`: the clock stopped over breaks, never ahead of the wall
        clock, so a span of wall-clock time bounds it too). The instruments' usual
        order size (`common.usual_order_size`) is not counted: a stream's window keeps
        it as orders arrive."""
        raise NotImplementedError

    @property
    def incremental(self) -> bool:
        """Whether it is written as episodes and cases (and so runs in real time)."""
        return bool(self.case)


class SharedTables:
    """Derived tables several detectors start from, computed once per scan.

    `shared(key, build)` keeps `build()` in the engine (DuckDB: a temporary table,
    Spark: Parquet files read back, `store.engines._spark_backend`) until `release()`;
    over a stream's window of recent events (`materialize` off) it is built once as an
    expression, and the engine plans it.
    """

    materialize = True

    def shared(self, key: tuple, build) -> ir.Table:
        cache = self.__dict__.setdefault("_shared", {})
        if key not in cache:
            cache[key] = build().cache() if self.materialize else build()
        return cache[key]

    def provide(self, key: tuple, table: ir.Table) -> None:
        """`table` is what `shared(key, ...)` returns: one kept by whoever made this."""
        self.__dict__.setdefault("_shared", {})[key] = table

    def forget(self, key: tuple) -> None:
        """Release one table that `shared(key, ...)` kept."""
        t = self.__dict__.get("_shared", {}).pop(key, None)
        if t is not None and self.materialize:
            t.release()

    def release(self) -> None:
        for t in self.__dict__.pop("_shared", {}).values():
            if self.materialize:
                t.release()


class Registry:
    def __init__(self):
        self.detectors: dict[str, type[Detector]] = {}

    def register(self, cls: type[Detector]) -> type[Detector]:
        if cls.id in self.detectors:
            raise ValueError(f"detector {cls.id!r} is registered twice")
        self.detectors[cls.id] = cls
        return cls

    def typologies(self, domain: str | None = None) -> dict[str, str]:
        """Every typology a registered detector raises, with its domain: the one list
        of typologies that evaluation, the dashboard and the docs read."""
        return dict(sorted((cls.typology, cls.domain) for cls in self.detectors.values()
                           if cls.typology != "*" and domain in (None, cls.domain)))

    def domain(self, typology: str) -> str:
        """The domain ("market", "payments") of a typology, or a ValueError naming it:
        an alert or label of a typology no detector raises cannot be scored."""
        try:
            return self.typologies()[typology]
        except KeyError:
            raise ValueError(f"unknown typology {typology!r}: no registered detector "
                             f"raises it (known: {', '.join(self.typologies())})") from None

    def get(self, detector_id: str) -> type[Detector]:
        try:
            return self.detectors[detector_id]
        except KeyError:
            raise ValueError(f"unknown detector {detector_id!r} (known: "
                             f"{', '.join(sorted(self.detectors))})") from None


REGISTRY = Registry()
register = REGISTRY.register


def one_account_hits(t: ir.Table, score: ir.FloatingValue, case=()) -> ir.Table:
    """Hits of a detector whose cases are one account's (`account_id`); score capped at 1."""
    return hits_table(t.mutate(account_ids=ibis.array([t.account_id]),
                               score=score.clip(upper=1.0)), case)


def hits_table(t: ir.Table, case=()) -> ir.Table:
    """Select and type a detector's result as HIT_SCHEMA (a check on its shape), with
    `case`: the case's columns as one text, where the detector names them, and its
    `explanation` (JSON text) where it gives one."""
    out = {name: t[name].cast(typ) for name, typ in HIT_SCHEMA.items()}
    if "explanation" in t.columns:
        out["explanation"] = t.explanation.cast("string")
    if case:
        out["case"] = ibis.literal("|").join([t[c].cast("string") for c in case])
    return t.select(**out)
