"""The dashboard's interactive charts, as Plotly figures (JSON the page draws).

Plotly's JavaScript comes from the plotly Python package, served by the server itself:
nothing is fetched from outside the machine.
"""

from __future__ import annotations

import json

import networkx as nx
import plotly.graph_objects as go
import polars as pl
from plotly.colors import qualitative

from suptech.detect.evidence import Evidence
from suptech.model.display import local, local_times, zone

LAYOUT = dict(margin=dict(l=60, r=20, t=40, b=50), height=420, template="plotly_white",
              legend=dict(orientation="h", y=-0.2))


def to_json(fig: go.Figure) -> str:
    return fig.to_json()


def book_replay(ev: Evidence, alert: dict) -> go.Figure:
    """Best bid and ask as steps, the suspect orders and cancels (and, hollow, the others
    the alert names: a front runner's client), sized by quantity, the trades, the window."""
    fig = go.Figure()
    if ev.book.height:
        x = local_times(ev.book["ts_event"])
        for side, colour in (("best_bid", "#2e7d32"), ("best_ask", "#c62828")):
            fig.add_trace(go.Scatter(x=x, y=ev.book[side].cast(pl.Float64).to_list(),
                                     mode="lines", line=dict(shape="hv", color=colour, width=1),
                                     name=side.replace("_", " ")))
    markers = {("NEW", "BUY"): ("triangle-up", "#2e7d32"), ("NEW", "SELL"): ("triangle-down", "#c62828"),
               ("CANCEL", "BUY"): ("x", "#2e7d32"), ("CANCEL", "SELL"): ("x", "#c62828")}
    # A marker's area is its order's size against the median of the orders shown: a
    # 14,800-lot spoof beside 500-lot orders is seen, not hovered for.
    priced = ev.orders.filter(pl.col("price").is_not_null())
    usual = float(priced["quantity"].median() or 1) if priced.height else 1.0
    for whose, (kind, side) in ((w, k) for w in ("suspect", "named") for k in markers):
        symbol, colour = markers[kind, side]
        pts = priced.filter((pl.col("whose") == whose) & (pl.col("event_type") == kind)
                            & (pl.col("side") == side))
        if pts.height:
            fig.add_trace(go.Scatter(
                x=local_times(pts["ts_event"]), y=pts["price"].cast(pl.Float64).to_list(),
                mode="markers", marker=dict(
                    symbol=symbol if whose == "suspect" else f"{symbol}-open", color=colour,
                    size=[min(40.0, max(6.0, 10 * (q / usual) ** 0.5))
                          for q in pts["quantity"].to_list()]),
                name=f"{'suspect' if whose == 'suspect' else 'named in the alert:'} "
                     f"{kind.lower()} {side.lower()}",
                text=[f"{o} {a} qty {q:,}" for o, a, q in pts.select(
                    "order_id", "account_id", "quantity").iter_rows()],
                hovertemplate="%{text}<br>%{x}<br>price %{y}<extra></extra>"))
    # The book's own instrument only: another market's prices (a derivative's) are
    # another scale, listed beside the picture.
    trades = ev.trades_in(alert["isin"])
    if trades.height:
        fig.add_trace(go.Scatter(
            x=local_times(trades["ts_event"]), y=trades["price"].cast(pl.Float64).to_list(),
            mode="markers", marker=dict(color="black", size=7), name="suspect trades",
            text=[f"{t}: {b} buys from {s}, qty {q}" for t, b, s, q in trades.select(
                "trade_id", "buy_account_id", "sell_account_id", "quantity").iter_rows()],
            hovertemplate="%{text}<br>%{x}<br>price %{y}<extra></extra>"))
    if ev.volume.height:  # the crowd's trading, beneath the prices on a scale of its own
        fig.add_trace(go.Bar(x=local_times(ev.volume["ts_event"]),
                             y=ev.volume["quantity"].to_list(), name="volume a minute (all)",
                             marker_color="rgba(96,125,139,0.3)", yaxis="y2"))
        # The bars keep to the plot's lower third, under the prices they explain.
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False,
                                      title="lots a minute",
                                      range=[0, 3 * max(ev.volume["quantity"].max(), 1)]))
    start, end = local_times(pl.Series([alert["window_start"], alert["window_end"]]))
    fig.add_vrect(x0=start, x1=end, fillcolor="#ffb300", opacity=0.12, line_width=0,
                  annotation_text="alert window", annotation_position="top left")
    if ev.announcements.height:  # what an insider knew before the market did
        for at, category in zip(local_times(ev.announcements["ts_event"]),
                                ev.announcements["category"].to_list()):
            fig.add_vline(x=at, line=dict(color="#6a1b9a", dash="dot"),
                          annotation_text=f"announcement: {category}",
                          annotation_position="top right")
    fig.update_layout(title=f"Order book around {alert['alert_id']} ({alert['isin'] or ''})",
                      xaxis_title=f"time ({zone()})", yaxis_title="price", **LAYOUT)
    return fig


#: An account's part in the flow drawn: it only pays, pays and is paid, or is only paid.
ROLES = {"source": "#1565c0", "mule": "#ef6c00", "sink": "#6a1b9a"}
#: Payments up to which each arrow is labelled with its amount (beyond, on hover only).
LABELLED = 40


def role(graph, account: str) -> str:
    if not graph.in_degree(account):
        return "source"
    return "mule" if graph.out_degree(account) else "sink"


def money_flow(payments: pl.DataFrame, alert: dict) -> go.Figure:
    """Accounts as nodes coloured by their part (source, mule, sink; the alert's own
    larger, ringed in red), payments as arrows sized and labelled by amount."""
    graph = nx.MultiDiGraph()
    for debtor, creditor, amount, currency, ts in payments.select(
            "debtor_account_id", "creditor_account_id", "amount", "currency",
            "ts_event").iter_rows():
        graph.add_edge(debtor, creditor, amount=float(amount), currency=currency, ts=ts)
    suspects = set(alert["account_ids"].split(";"))
    fig = go.Figure()
    if graph.number_of_nodes():
        pos = nx.spring_layout(graph, seed=1)
        top = max(d["amount"] for *_, d in graph.edges(data=True)) or 1.0
        for a, b, d in graph.edges(data=True):
            fig.add_annotation(x=pos[b][0], y=pos[b][1], ax=pos[a][0], ay=pos[a][1],
                               xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                               arrowhead=3, arrowsize=1, arrowcolor="#607d8b",
                               arrowwidth=1 + 4 * d["amount"] / top, opacity=0.7)
        # Invisible points at the middle of each payment carry its hover text.
        mids = [((pos[a][0] + pos[b][0]) / 2, (pos[a][1] + pos[b][1]) / 2,
                 f"{a} → {b}: {d['amount']:,.2f} {d['currency']}")
                for a, b, d in graph.edges(data=True)]
        labelled = graph.number_of_edges() <= LABELLED
        fig.add_trace(go.Scatter(
            x=[m[0] for m in mids], y=[m[1] for m in mids],
            mode="markers+text" if labelled else "markers",
            marker=dict(size=8, color="rgba(0,0,0,0)"), textfont=dict(size=9, color="#37474f"),
            text=[f"{d['amount']:,.0f}" for *_, d in graph.edges(data=True)] if labelled else None,
            hovertext=[m[2] for m in mids], hoverinfo="text", name="payments",
            showlegend=False))
        for part, colour in ROLES.items():
            nodes = [n for n in graph.nodes if role(graph, n) == part]
            if not nodes:
                continue
            fig.add_trace(go.Scatter(
                x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes],
                mode="markers+text", text=nodes, textposition="top center", name=part,
                marker=dict(size=[18 if n in suspects else 12 for n in nodes], color=colour,
                            line=dict(width=[3 if n in suspects else 1 for n in nodes],
                                      color=["#c62828" if n in suspects else "#37474f"
                                             for n in nodes])),
                hovertext=[f"{n} ({part}{', alerted' if n in suspects else ''}): pays "
                           f"{graph.out_degree(n)}, paid by {graph.in_degree(n)}"
                           for n in nodes], hoverinfo="text"))
    fig.update_layout(title=f"Money flow of {alert['alert_id']}: {payments.height} payments",
                      xaxis=dict(visible=False), yaxis=dict(visible=False), **LAYOUT)
    return fig


#: Stacked bars of many series (a colour each, however many; one legend entry a line
#: beside the plot, not over its axis; days and institutions as categories, so that one
#: day is a column, not a sliver of a time axis).
PALETTE = qualitative.Dark24 + qualitative.Light24
STACKED = dict(LAYOUT, barmode="stack", xaxis=dict(type="category"),
               legend=dict(orientation="v", x=1.02, y=1, xanchor="left"),
               margin=dict(LAYOUT["margin"], r=200))


def _stacked(series: pl.DataFrame, key: str, x: str, y: str, names: list[str]) -> list[go.Bar]:
    """One bar trace per value of `key`, in the order and colours of `names`."""
    return [go.Bar(x=mine[x].to_list(), y=mine[y].to_list(), name=name,
                   marker_color=PALETTE[names.index(name) % len(PALETTE)])
            for name in names if (mine := series.filter(pl.col(key) == name)).height]


def alerts_per_day(alerts: pl.DataFrame, typologies: list[str]) -> go.Figure:
    """Alerts per typology and day (by the start of their window, the deployment's
    day); each typology's colour its place in `typologies`, the same on every page."""
    counts = alerts.with_columns(
        local(pl.col("window_start")).dt.date().cast(pl.String).alias("day")) \
        .group_by(["day", "typology"]).len().sort("day") if alerts.height else alerts
    names = typologies + sorted(set(alerts["typology"]) - set(typologies))
    fig = go.Figure(_stacked(counts, "typology", "day", "len", names) if alerts.height else [])
    fig.update_layout(title="Alerts per typology and day", xaxis_title=f"day ({zone()})",
                      yaxis_title="alerts", **STACKED)
    return fig


def rejections(frame: pl.DataFrame) -> go.Figure:
    """Rejected records per feedback code and institution."""
    codes = sorted(frame["code"].unique()) if frame.height else []
    fig = go.Figure(_stacked(frame, "code", "institution", "rows", codes))
    fig.update_layout(title="Feedback rows per code and institution",
                      xaxis_title="institution", yaxis_title="rows", **STACKED)
    return fig


def drivers(explanation: str | None) -> list[dict]:
    """A learned alert's drivers with their meaning, for the alert page."""
    if not explanation:
        return []
    from suptech.detect.payments.features import describe

    e = json.loads(explanation)
    return [{**d, "says": describe(d["feature"], d["value"], d["contribution"])}
            for d in e.get("drivers", [])]
