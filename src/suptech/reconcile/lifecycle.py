"""An order's whole life across firms (`suptech lifecycle ORDER_ID`): the orders its
routes link it to, back to the client's firm and on to the execution, their events in
time order, and the venue's trades of them; printed, and drawn as a lane per firm."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

EVENT_COLUMNS = ("ts_event", "order_id", "event_type", "member_lei", "mic", "account_id",
                 "side", "price", "quantity", "leaves_quantity", "routed_to",
                 "routed_order_id", "trade_id", "fill_price", "fill_quantity", "report_id")
TRADE_COLUMNS = ("ts_event", "trade_id", "mic", "price", "quantity", "buy_order_id",
                 "sell_order_id", "report_id")


@dataclass
class Life:
    orders: list[str]  # linked by routes, the one asked for among them
    events: pl.DataFrame  # EVENT_COLUMNS, in time order
    trades: pl.DataFrame  # TRADE_COLUMNS


def _frame(t) -> pl.DataFrame:
    return pl.from_arrow(t.to_pyarrow())


def life(store, order_id: str, hops: int = 20) -> Life | None:
    """The order and every order a route links it to, `hops` at most; None where no
    event names it."""
    e = store.view("order_event")
    routes = e.filter(e.event_type == "ROUTE")
    ids, frontier = {order_id}, {order_id}
    for _ in range(hops):
        linked = _frame(routes.filter(routes.order_id.isin(frontier)
                                      | routes.routed_order_id.isin(frontier))
                        .select("order_id", "routed_order_id"))
        frontier = set(linked["order_id"]) | set(linked["routed_order_id"]) - ids
        frontier -= ids
        if not frontier:
            break
        ids |= frontier
    events = _frame(e.filter(e.order_id.isin(ids)).select(*EVENT_COLUMNS)).sort(
        ["ts_event", "report_id"])
    if events.is_empty():
        return None
    t = store.view("trade")
    trades = _frame(t.filter(t.buy_order_id.isin(ids) | t.sell_order_id.isin(ids))
                    .select(*TRADE_COLUMNS)).sort("ts_event")
    return Life(_along_routes(events), events, trades)


def _along_routes(events: pl.DataFrame) -> list[str]:
    """The orders from the client's (none routed into it) along the routes; those a
    route does not reach after, by their first event."""
    first = events.group_by("order_id").agg(pl.col("ts_event").min()).sort(
        ["ts_event", "order_id"])["order_id"].to_list()
    edges = events.filter(pl.col("event_type") == "ROUTE").select(
        "order_id", "routed_order_id").rows()
    into = {b for _, b in edges}
    out, todo = [], [o for o in first if o not in into]
    while todo:
        o = todo.pop(0)
        if o in out or o not in first:
            continue
        out.append(o)
        todo += [b for a, b in edges if a == o]
    return out + [o for o in first if o not in out]


def draw(found: Life, path: Path, title: str) -> Path:
    """A sequence diagram: a lane per firm (its LEI) and per venue (its MIC), one step per
    event or trade in time order; each order's events on its firm's lane, a route as an
    arrow to where it went, each trade on its venue's lane, joined to the fills of it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from suptech.model.display import local_times

    ev = found.events.with_columns(lane=pl.col("member_lei"), kind=pl.col("event_type"),
                                   label=pl.col("order_id"))
    tr = found.trades.select("ts_event", "trade_id", lane=pl.col("mic"), kind=pl.lit("TRADE"),
                             label=pl.format("{} {}", "trade_id", "quantity"))
    steps = pl.concat([ev.select("ts_event", "lane", "kind", "label", "trade_id",
                                 "routed_to"),
                       tr.with_columns(routed_to=pl.lit(None, pl.String))
                       .select("ts_event", "lane", "kind", "label", "trade_id", "routed_to")])
    steps = steps.sort("ts_event", maintain_order=True).with_row_index("x")
    lanes = list(dict.fromkeys(steps["lane"].to_list() + steps["routed_to"].drop_nulls()
                               .to_list()))
    y = {lane: k for k, lane in enumerate(lanes)}
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * steps.height + 3), 1.4 + 0.9 * len(lanes)))
    style = {"NEW": ("o", "#1f77b4"), "MODIFY": ("s", "#9467bd"), "CANCEL": ("X", "#7f7f7f"),
             "FILL": ("*", "#2ca02c"), "PARTIAL_FILL": ("*", "#98df8a"),
             "ROUTE": (">", "#ff7f0e"), "REJECT": ("X", "#d62728"), "EXPIRE": ("X", "#7f7f7f"),
             "TRADE": ("D", "#d62728")}
    trade_x = {r["trade_id"]: r["x"] for r in steps.filter(pl.col("kind") == "TRADE")
               .iter_rows(named=True)}
    times = local_times(steps["ts_event"])
    for when, r in zip(times, steps.iter_rows(named=True)):
        marker, colour = style.get(r["kind"], ("o", "#333333"))
        x, lane = r["x"], y[r["lane"]]
        ax.scatter(x, lane, marker=marker, color=colour, s=90, zorder=3)
        ax.annotate(f"{r['kind']}\n{r['label']}\n{when[11:]}", (x, lane),
                    textcoords="offset points", xytext=(0, 10), fontsize=7, ha="center")
        if r["kind"] == "ROUTE" and r["routed_to"] in y:
            ax.annotate("", (x + 0.9, y[r["routed_to"]]), (x, lane),
                        arrowprops=dict(arrowstyle="->", color="#ff7f0e"))
        if r["kind"] in ("FILL", "PARTIAL_FILL") and r["trade_id"] in trade_x:
            t = trade_x[r["trade_id"]]
            other = steps.row(t, named=True)
            ax.plot([x, t], [lane, y[other["lane"]]], ls=":", color="#d62728", lw=1)
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax.set_ylim(-0.6, len(lanes) - 0.1)
    ax.set_xlim(-0.8, steps.height - 0.2)
    ax.set_xticks([])
    ax.set_xlabel("in time order (each step with its local time)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
