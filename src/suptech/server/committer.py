"""The server's submissions, stored by one thread in groups (`suptech.ingest.group`).

A request hands its decoded file to the committer and waits, without holding a thread,
for its own answer. The committer takes everything that arrived while it was busy and
stores it as few commits: submissions of one report type and format validated and
committed together, reference data first. The more arrive, the larger each group and
the cheaper each submission, so a burst is absorbed rather than queued one by one.
Validation asks a `CachedLookup` (the server is the store's one writer): report keys and
referenced values are answered from memory, the store asked only about the rest.

A submission whose bytes its institution sent before is answered with the first one's
feedback (`duplicate`), as the file pipeline does, whether the first was stored before
or arrived in the same group.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from suptech.ingest.group import Part, commit_parts, groupable, rows_of
from suptech.ingest.jsonl import read_records
from suptech.ingest.pipeline import FileResult, ingest_file
from suptech.ingest.raw import RawFile
from suptech.ingest.readers import read_file
from suptech.model.reports import REPORT_TYPES

log = logging.getLogger(__name__)

#: Rows a group validates at most: beyond that a group is no cheaper per row, and its
#: memory grows.
GROUP_ROWS = 1_000_000


@dataclass
class Pending:
    """A submission waiting for the committer."""

    name: str
    data: bytes
    sha: str
    report_type: str | None  # as the sender named it
    owner: str | None
    detected: str | None  # the report type, where the file's name or format says it
    raw: RawFile | None  # decoded, where it could be and was
    #: JSON Lines of this many records of the report type's fields, made by the server
    #: (one per line): decoded by the committer with the group's others, not alone.
    lines: int | None = None
    #: Those records themselves, where they read as their lines would (`read_records`).
    records: list[dict] | None = None
    answer: Future = field(default_factory=Future)

    @property
    def rows(self) -> int:
        if self.lines is not None:
            return self.lines
        return 0 if self.raw is None else rows_of(self.raw)

    def groupable(self) -> bool:
        return self.detected is not None and (
            self.lines is not None or self.raw is not None and groupable(self.raw))


class Committer:
    """One thread that stores what `submit` hands it; `store` is used under `lock`."""

    def __init__(self, store, lock: threading.RLock):
        from suptech.stream.lookup import CachedLookup

        self.store, self.lock = store, lock
        self.lookup = CachedLookup(store)
        self._pending: list[Pending] = []
        self._ready = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="suptech-commit", daemon=True)
        self._thread.start()

    def submit(self, pending: Pending) -> Future:
        with self._ready:
            if self._closing:
                raise RuntimeError("the server is stopping")
            self._pending.append(pending)
            self._ready.notify()
        return pending.answer

    def close(self) -> None:
        """Store what was handed over, then stop."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closing:
                    self._ready.wait()
                if not self._pending:
                    return
                taken, self._pending = self._pending, []
            try:
                self._store(taken)
            # A request must never wait for ever: whatever failed is its answer.
            except BaseException as e:  # noqa: BLE001
                log.exception("submissions not stored")
                for p in taken:
                    if not p.answer.done():
                        p.answer.set_exception(e)

    def _store(self, taken: list[Pending]) -> None:
        with self.lock:
            self.lookup.check_fresh()
            stored = {(s.sha256, s.report_type, s.owner)
                      for s in self.store.find_submissions([p.sha for p in taken])}
            groups: dict[tuple[str, str], list[Pending]] = {}
            alone: list[Pending] = []  # undecodable, or sent before: the file pipeline's
            for p in taken:
                key = (p.sha, p.detected, p.owner)
                if not p.groupable() or key in stored:
                    alone.append(p)
                    continue
                stored.add(key)  # the same bytes again in this group: a duplicate of it
                kind = "lines" if p.lines is not None else Path(p.name).suffix.lower()
                groups.setdefault((p.detected, kind), []).append(p)
            for (type_name, _), group in sorted(groups.items(),
                                                key=lambda g: REPORT_TYPES[g[0][0]].rank):
                for chunk in _chunks(group):
                    self._commit(type_name, chunk)
            for p in alone:
                p.answer.set_result(self._alone(p))
            try:
                self.store.compact()  # once answered: a merge takes a while
            # What is stored stays stored whatever becomes of a merge (one transaction).
            except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                log.exception("small version files not merged")

    def _commit(self, type_name: str, group: list[Pending]) -> None:
        rt = REPORT_TYPES[type_name]
        parts = [Part(p.name, p.sha, p.owner, p.rows, p.raw) for p in group]
        try:
            merged = None
            if group[0].lines is not None:  # one decoding for the group's lines
                if all(p.records is not None for p in group):
                    merged = read_records([r for p in group for r in p.records],
                                          rt.field_names)
                else:
                    merged = read_file(Path(group[0].name),
                                       b"\n".join(p.data for p in group), rt=rt)
            results = commit_parts(self.store, rt, parts, self.lookup, merged)
        # One sender's file must not refuse another's: each goes alone, and is told
        # what failed (a full disk) by the file pipeline. (A panic in polars' Rust code
        # is a BaseException.)
        except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
            log.exception("a group of %d %s submissions failed; storing each alone",
                          len(group), type_name)
            self.lookup.forget()
            results = [self._alone(p) for p in group]
        for p, result in zip(group, results):
            p.answer.set_result(result)

    def _alone(self, p: Pending) -> FileResult:
        return ingest_file(self.store, Path(p.name), p.report_type, owner=p.owner,
                           data=p.data, decoded=p.raw)


def _chunks(group: list[Pending]):
    chunk, rows = [], 0
    for p in group:
        if chunk and rows + p.rows > GROUP_ROWS:
            yield chunk
            chunk, rows = [], 0
        chunk.append(p)
        rows += p.rows
    if chunk:
        yield chunk
