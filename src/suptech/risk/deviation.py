"""What the exchanges' fluctuation rules measure, written once for the three of them
(`abnormal`, `severe`, `disclosure`): each share's daily return against its board's
benchmark index, and the board's thresholds beside it as columns.

A share's deviation on a day is its close-to-close return less its benchmark's return
that day. The benchmark is the index the rules name for its board and venue, from the
`index_level` reports; where the store holds no level of it that day, the board's own
shares' average return stands in, and the alert says which it was.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from suptech.risk.rules import Board


def per_board(t: ir.Table, boards: dict[str, Board], name: str) -> ir.Value:
    """The board's value of rule `name` for each row of `t` (null where its board's
    rules do not set one)."""
    branches = [(t.board == b, getattr(rule, name)) for b, rule in boards.items()
                if getattr(rule, name) is not None]
    if not branches:
        return ibis.null("float64")
    return ibis.cases(*branches, else_=ibis.null("float64")).cast("float64")


def _index_of(t: ir.Table, boards: dict[str, Board]) -> ir.StringValue:
    branches = []
    for b, rule in boards.items():
        branches += [((t.board == b) & (t.mic == mic), ix)
                     for mic, ix in rule.index.items() if mic != "*"]
        if "*" in rule.index:
            branches.append((t.board == b, rule.index["*"]))
    return ibis.cases(*branches, else_=ibis.null("string"))


def deviations(r, boards: dict[str, Board]) -> ir.Table:
    """The bars of shares on the boards the rules name, with `bench_ret`, `benchmark`
    (the index id, or "board:" and the board), `dev` (return less the benchmark's),
    `turnover` (volume over free float; null without one), `sign` (of the deviation)
    and `k` (the share's own trading days)."""
    key = ("deviations", tuple(sorted((b, v.model_dump_json()) for b, v in boards.items())))
    return r.shared(key, lambda: _deviations(r, boards))


def _deviations(r, boards: dict[str, Board]) -> ir.Table:
    b = r.bars.filter(r.bars.board.isin(list(boards)))
    b = b.mutate(index_id=_index_of(b, boards),
                 board_ret=b.ret.mean().over(group_by=["board", "day"]))
    ix = r.indices.select("index_id", "day", "index_ret")
    b = b.left_join(ix, ["index_id", "day"]).drop("index_id_right", "day_right")
    own = ibis.literal("board:") + b.board
    b = b.mutate(bench_ret=ibis.coalesce(b.index_ret, b.board_ret),
                 benchmark=ibis.ifelse(b.index_ret.notnull(), b.index_id, own))
    b = b.mutate(dev=b.ret - b.bench_ret, turnover=b.volume / b.float_shares)
    return b.mutate(sign=ibis.ifelse(b.dev >= 0, 1, -1))


def frame(rows: int, ending: int = 0):
    """A share's last `rows` trading days, ending `ending` days before each row."""
    return ibis.window(group_by="isin", order_by="k", rows=(-(rows - 1 + ending), -ending))


def with_restarts(t: ir.Table, breach: str, every: int) -> ir.Table:
    """`t` with `trigger`: the rows where column `breach` holds that start a new count.
    The exchanges count a share's days afresh after each trigger, so over a run of
    consecutive days in breach a trigger falls every `every` days from the run's first
    (a run that ends within `every` days of the last trigger and a new run that begins
    there are counted apart: a rare case this does not follow)."""
    t = t.mutate(_n=ibis.row_number().over(group_by=["isin", breach], order_by="k"))
    t = t.mutate(_island=t.k - t._n)
    t = t.mutate(_start=t.k.min().over(group_by=["isin", breach, "_island"]))
    return t.mutate(trigger=t[breach] & ((t.k - t._start) % every == 0)).drop("_n", "_island", "_start")
