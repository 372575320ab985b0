"""What validation asks the database, remembered by the streaming consumer.

A stream's trades name the orders the consumer committed a moment before, and every
batch names the same few instruments and accounts: asking the database each time costs
more than the rest of the batch. `CachedLookup` answers what it has seen exist (values
the consumer committed itself, or found in the database before) and asks the database
only about the others (values are held by their hashes, a batch looked up at once:
`suptech.stream.hashset`). A target of at most half its `limit` reports (the accounts
of a register loaded from a file) is read whole when first asked, and kept whole by the
consumer's own commits: what it does not hold does not exist. Of any other it never
answers "does not exist" from memory. It forgets:

- a report type's values when a commit of that type holds corrections or cancellations
  (a cancelled report no longer exists);
- everything when someone else committed to the database since it last looked (an API
  upload beside `serve --stream`);
- a field's older values when they pass `limit` (a day's orders can be millions): the
  values are kept in two generations, and the older one is dropped when the newer is
  full, so what was committed last (what the next trades name) is always known.

For the lifecycle rules (is this report id already taken, is that report live) it keeps
the 64-bit hashes of every stored report key, sorted: a key whose hash is not there is
not stored, and only the others (in a stream, almost none) are asked of the database.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import polars as pl

from suptech.model.reports import REPORT_TYPES
from suptech.stream.hashset import HashSet, hashes
from suptech.store.lookups import REPORT_STATES, SIZES
from suptech.store.schema import KEY

#: (report type, field) that other report types name (E009 looks them up).
TARGETS = {(r.target, r.target_field) for rt in REPORT_TYPES.values() for r in rt.references}


class CachedLookup:
    def __init__(self, store, limit: int = 2_000_000):
        self.store = store
        self.limit = limit
        #: (report type, field) -> the newer and the older generation of its values
        self.known: dict[tuple[str, str], tuple[HashSet, HashSet]] = {}
        self.sizes: dict[str, tuple] = {}  # isin -> (tick_size, lot_size)
        self.keys: dict[str, KeyHashes] = {}  # report type -> hashes of its stored keys
        #: (report type, field) whose every value held is in `known` (read whole, then
        #: kept whole by this consumer's commits), and those tried (too many to read)
        self.whole: set[tuple[str, str]] = set()
        self.tried: set[tuple[str, str]] = set()
        self.commits = store.submission_count()

    def forget(self, type_name: str | None = None) -> None:
        for key in [k for k in {*self.known, *self.tried} if type_name in (None, k[0])]:
            self.known.pop(key, None)
            self.whole.discard(key)
            self.tried.discard(key)
        if type_name is None:  # report keys are only ever added: only others' commits
            self.keys.clear()
        if type_name in (None, "instrument"):
            self.sizes.clear()

    def check_fresh(self) -> None:
        """Forget everything if the database has commits this consumer did not make."""
        count = self.store.submission_count()
        if count != self.commits:
            self.forget()
            self.commits = count

    def committed(self, type_name: str, rows: pl.DataFrame | None, submissions: int = 1) -> None:
        """A commit of this consumer's, of so many `submissions`; `rows`: the versions it
        stored (None: none)."""
        self.commits += submissions
        if rows is None:
            return
        if type_name in self.keys:
            self.keys[type_name].add(key_hashes(rows))
        if not rows["action"].eq("NEW").all():
            self.forget(type_name)
            return
        for (target, field) in TARGETS:
            if target == type_name and field in rows.columns:
                self._remember((target, field), rows[field].drop_nulls().cast(pl.String))

    def _remember(self, key: tuple[str, str], values: pl.Series) -> None:
        half = self.limit // 2
        newer, older = self.known.get(key, (HashSet(half), HashSet(0)))
        if len(newer) + len(values) > half:
            newer, older = HashSet(half), newer
            self.whole.discard(key)  # the older generation is dropped at the next turn
        self.known[key] = (newer, older)
        newer.add(values)

    # ---- suptech.ingest.validate.Lookup ----------------------------------------------

    def existing(self, type_name: str, field: str, values: pl.Series) -> pl.Series:
        wanted = values.drop_nulls().cast(pl.String)  # repeats cost a lookup, not a sort
        key = (type_name, field)
        if key not in self.known and key not in self.tried:
            # A register loaded by a file (half a million accounts) is read whole once,
            # not asked batch by batch for the values not seen yet (each time a query
            # over all of it).
            self.tried.add(key)
            held = self.store.held(type_name, field, most=self.limit // 2)
            if held is not None:
                self._remember(key, held)
                self.whole.add(key)
        known = np.zeros(len(wanted), dtype=bool)
        if generations := self.known.get(key):
            # Hashed once; the older generation is asked only about what the newer lacks.
            keys, checks = hashes(wanted)
            known = generations[0].contains_hashes(keys, checks)
            older = np.flatnonzero(~known)
            known[older] = generations[1].contains_hashes(keys[older], checks[older])
        if known.all() or key in self.whole:
            return wanted.filter(known).rename(field)
        hits = self.store.existing(type_name, field, wanted.filter(~known))
        self._remember(key, hits)
        return pl.concat([wanted.filter(known), hits.cast(pl.String)]).rename(field)

    def instrument_sizes(self, isins: pl.Series) -> pl.DataFrame:
        wanted = isins.drop_nulls().unique().to_list()
        missing = [i for i in wanted if i not in self.sizes]
        if missing:
            fresh = self.store.instrument_sizes(pl.Series("isin", missing))
            for isin, tick, lot in fresh.iter_rows():
                self.sizes[isin] = (tick, lot)
        rows = [(i, *self.sizes[i]) for i in wanted if i in self.sizes]
        return pl.DataFrame(rows, schema=SIZES, orient="row")

    def report_states(self, type_name: str, keys: pl.LazyFrame) -> pl.DataFrame:
        if type_name not in self.keys:
            stored = self.store.versions(type_name).select(*KEY).to_pyarrow()
            self.keys[type_name] = KeyHashes(key_hashes(pl.from_arrow(stored)))
        # Hashed as they come (a key repeated in the batch is looked up twice), not
        # made unique first: sorting a batch's strings cost more than the lookup.
        wanted = keys.collect()
        maybe = self.keys[type_name].may_hold(key_hashes(wanted))
        if not maybe.any():  # a stream's new reports: nothing to ask
            return pl.DataFrame(schema=REPORT_STATES)
        return self.store.report_states(type_name, wanted.filter(pl.Series(maybe)).lazy())


def key_hashes(frame: pl.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's (submitter, report_id), computed the same way always."""
    if frame.is_empty():
        return np.empty(0, dtype=np.uint64)
    return frame.select(pl.concat_str(list(KEY), separator="\x1f").hash(seed=7)) \
        .to_series().to_numpy()


class KeyHashes:
    """Sorted runs of hashes, each at least twice the size of the next: a commit's keys
    are a new run, merged with smaller ones (sorted runs merge in linear time), so a
    lookup searches a few runs however many commits there were.

    A merge into a run of `BACKGROUND` hashes or more is made by a thread of its own,
    while the runs it merges are still searched: a day's largest merges (ten million
    hashes, a third of a second) stalled the batch that set them off, and the stream's
    latency with it. The merged run takes their place when it is ready.

    In front of them, one bit per hash prefix (16 MB): a key whose bit is not set is
    not held, without a search. Searching millions of hashes misses the processor's
    cache at every step; with a day's ten million keys, the bit answers for all but
    about one in fourteen of a batch's new keys.
    """

    BITS = 27  # of the hash, naming its bit
    BACKGROUND = 1 << 20

    def __init__(self, hashes: np.ndarray):
        self.bits = np.zeros(1 << (self.BITS - 3), dtype=np.uint8)
        self.runs: list[np.ndarray] = [np.sort(hashes)]
        self._mark(self.runs[0])
        #: The merge under way: where its runs start, how many, and the merged run.
        self.merging: tuple[int, int, Future] | None = None

    def _bit(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The byte holding each hash's bit, and the bit's mask in it."""
        prefix = hashes >> np.uint64(64 - self.BITS)
        return prefix >> np.uint64(3), np.left_shift(np.uint8(1),
                                                     (prefix & np.uint64(7)).astype(np.uint8))

    def _mark(self, ordered: np.ndarray) -> None:
        """Set the bits of sorted hashes: those of one byte are or-ed together first
        (a third less time than numpy's unbuffered `bitwise_or.at`)."""
        byte, mask = self._bit(ordered)
        if not len(byte):
            return
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        self.bits[byte[starts]] |= np.bitwise_or.reduceat(mask, starts)

    def _settle(self) -> None:
        """A merge that is done takes its runs' place (they are where they were: only
        runs after them change meanwhile)."""
        if self.merging is not None and self.merging[2].done():
            start, count, merged = self.merging
            self.merging = None  # a merge that failed leaves its runs as they were
            self.runs[start:start + count] = [merged.result()]

    def add(self, hashes: np.ndarray) -> None:
        run = np.sort(hashes)
        self._mark(run)
        self._settle()
        # The runs it merges with: the last ones while each is at most twice the size
        # of what is merged so far, not reaching into a merge under way.
        first = len(self.runs)
        size = len(run)
        floor = 0  # the first run after a merge under way
        if self.merging is not None:
            floor = self.merging[0] + self.merging[1]
        while first > floor and len(self.runs[first - 1]) <= 2 * size:
            first -= 1
            size += len(self.runs[first])
        parts = self.runs[first:] + [run]
        if size >= self.BACKGROUND and self.merging is None:
            self.runs.append(run)  # searched as it is until the merge is done
            self.merging = (first, len(parts), _merger().submit(merge_sorted, parts))
        else:
            del self.runs[first:]
            self.runs.append(merge_sorted(parts))

    def may_hold(self, hashes: np.ndarray) -> np.ndarray:
        self._settle()
        byte, mask = self._bit(hashes)
        marked = np.flatnonzero(self.bits[byte] & mask)
        found = np.zeros(len(hashes), dtype=bool)
        if not marked.size:
            return found
        # Searched in order: numpy's binary search starts from the last key's place, a
        # third of the time of random keys in a day's ten million hashes.
        order = marked[np.argsort(hashes[marked])]
        wanted = hashes[order]
        for run in self.runs:
            if len(run):
                at = np.minimum(np.searchsorted(run, wanted), len(run) - 1)
                found[order] |= run[at] == wanted
        return found


def merge_sorted(runs: list[np.ndarray]) -> np.ndarray:
    """Sorted runs as one (numpy's stable sort finds the runs and merges them, outside
    the interpreter lock)."""
    return runs[0] if len(runs) == 1 else np.sort(np.concatenate(runs), kind="stable")


@functools.cache
def _merger() -> ThreadPoolExecutor:
    """The thread that merges large runs of report-key hashes (one for the process)."""
    return ThreadPoolExecutor(1, thread_name_prefix="suptech-key-merge")
