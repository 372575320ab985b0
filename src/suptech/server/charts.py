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
from suptech.i18n import N_, Words, words
from suptech.model.display import local, local_times, zone
from suptech.risk.levels import LEVEL_COLOURS, grid, institutions

ENGLISH = words("en")

LAYOUT = dict(margin=dict(l=60, r=20, t=40, b=50), height=420, template="plotly_white",
              legend=dict(orientation="h", y=-0.2))


def to_json(fig: go.Figure) -> str:
    return fig.to_json()


#: The legend's words for the order markers, by (event, side) and by whose orders.
ORDERS = {("NEW", "BUY"): N_("buy orders"), ("NEW", "SELL"): N_("sell orders"),
          ("CANCEL", "BUY"): N_("buy cancels"), ("CANCEL", "SELL"): N_("sell cancels")}
WHOSE = {"suspect": N_("suspect's {what}"), "named": N_("named in the alert: {what}")}


def book_replay(ev: Evidence, alert: dict, w: Words = ENGLISH) -> go.Figure:
    """Best bid and ask as steps, the suspect orders and cancels (and, hollow, the others
    the alert names: a front runner's client), sized by quantity against the orders'
    typical size, each suspect order's time in the book as a line at its price (the
    layers at each level), the trades, the crowd's volume, the window, announcements."""
    fig = go.Figure()
    if ev.book.height:
        x = local_times(ev.book["ts_event"])
        for side, colour, name in (("best_bid", "#2e7d32", N_("best bid")),
                                   ("best_ask", "#c62828", N_("best ask"))):
            fig.add_trace(go.Scatter(x=x, y=ev.book[side].cast(pl.Float64).to_list(),
                                     mode="lines", line=dict(shape="hv", color=colour, width=1),
                                     name=w(name)))
    markers = {("NEW", "BUY"): ("triangle-up", "#2e7d32"), ("NEW", "SELL"): ("triangle-down", "#c62828"),
               ("CANCEL", "BUY"): ("x", "#2e7d32"), ("CANCEL", "SELL"): ("x", "#c62828")}
    # A marker's area is its order's size against the median of the orders shown: a
    # 14,800-lot spoof beside 500-lot orders is seen, not hovered for.
    priced = ev.orders.filter(pl.col("price").is_not_null())
    usual = float(priced["quantity"].median() or 1) if priced.height else 1.0
    _resting(fig, ev.orders, alert, w)
    qty = w("qty")
    for whose, (kind, side) in ((x, k) for x in ("suspect", "named") for k in markers):
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
                name=w(WHOSE[whose], what=w(ORDERS[kind, side])),
                text=[f"{o} {a} {qty} {q:,}" for o, a, q in pts.select(
                    "order_id", "account_id", "quantity").iter_rows()],
                hovertemplate="%{text}<br>%{x}<br>" + w("price") + " %{y}<extra></extra>"))
    # The book's own instrument only: another market's prices (a derivative's) are
    # another scale, listed beside the picture.
    trades = ev.trades_in(alert["isin"])
    if trades.height:
        fig.add_trace(_trades(trades, w, name=w("suspect trades"), mode="markers",
                              marker=dict(color="black", size=7)))
    _other_markets(fig, ev, alert, w)
    if ev.volume.height:  # the crowd's trading, beneath the prices on a scale of its own
        # Each minute's bar a third of a minute wide, in its middle: a column, not a
        # shade over the whole picture when it opens on a few minutes.
        fig.add_trace(go.Bar(x=local_times(ev.volume["ts_event"] + 30 * 10**9),
                             y=ev.volume["quantity"].to_list(), name=w("volume a minute (all)"),
                             width=20_000, marker_color="rgba(96,125,139,0.3)", yaxis="y2"))
        # The bars keep to the plot's lower third, under the prices they explain.
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False,
                                      title=w("lots a minute"),
                                      range=[0, 3 * max(ev.volume["quantity"].max(), 1)]))
    start, end = local_times(pl.Series([alert["window_start"], alert["window_end"]]))
    fig.add_vrect(x0=start, x1=end, fillcolor="#ffb300", opacity=0.12, line_width=0,
                  annotation_text=w("alert window"), annotation_position="top left")
    news = ev.announcements
    if news.height and not ev.insiders.height and ev.book.height:
        # News beyond the picture's hours stretches it for nothing, unless the alert's
        # accounts are insiders of the instrument: then the news is what they knew.
        lo, hi = ev.book["ts_event"].min(), ev.book["ts_event"].max()
        news = news.filter(pl.col("ts_event").is_between(lo, hi))
    insiders = sorted(set(ev.insiders["account_id"])) if ev.insiders.height else []
    if news.height:  # what an insider knew before the market did
        for at, category in zip(local_times(news["ts_event"]), news["category"].to_list()):
            said = w("announcement: {category}", category=category)
            if insiders:
                said += " · " + w("{accounts}: owner on the insider list",
                                  accounts=", ".join(insiders))
            fig.add_vline(x=at, line=dict(color="#6a1b9a", dash="dot"), annotation_text=said,
                          annotation_position="top right")
    fig.update_layout(
        title=w("Order book around {alert} ({isin}); marker area: order size, typical "
                "{usual:,.0f} lots", alert=alert["alert_id"], isin=alert["isin"] or "",
                usual=usual),
        xaxis_title=w("time ({zone})", zone=zone()), yaxis_title=w("price"), **LAYOUT)
    _focus(fig, ev, alert, news if insiders else news.head(0))
    return fig


def _trades(trades: pl.DataFrame, w: Words, **style) -> go.Scatter:
    """Trades at their prices, each saying who bought from whom, how many, on hover."""
    return go.Scatter(
        x=local_times(trades["ts_event"]), y=trades["price"].cast(pl.Float64).to_list(),
        text=[w("{trade}: {buyer} buys from {seller}, qty {qty}", trade=t, buyer=b, seller=s,
                qty=q) for t, b, s, q in trades.select(
            "trade_id", "buy_account_id", "sell_account_id", "quantity").iter_rows()],
        hovertemplate="%{text}<br>%{x}<br>" + w("price") + " %{y}<extra></extra>", **style)


def _other_markets(fig: go.Figure, ev: Evidence, alert: dict, w: Words) -> None:
    """The alert's trades in other instruments (a derivative's, the underlying's), in a
    panel of their own beneath the book, on their own price scale: both markets of a
    cross-market manipulation, one above the other on one clock."""
    other = ev.trades.filter(pl.col("isin") != alert["isin"]) if alert["isin"] else ev.trades.head(0)
    if not other.height:
        return
    for isin, trades in sorted(other.group_by("isin"), key=lambda g: g[0]):
        fig.add_trace(_trades(
            trades, w, name=w("trades in {isin}", isin=isin[0]), mode="markers+lines",
            line=dict(color="#455a64", width=1, dash="dot"),
            marker=dict(color="#455a64", size=7, symbol="diamond"), yaxis="y3"))
    # The clock beneath both panels.
    fig.update_layout(yaxis=dict(domain=[0.38, 1]), xaxis=dict(anchor="y3"),
                      yaxis3=dict(domain=[0, 0.3], anchor="x",
                                  title=w("other markets' price")))


def _focus(fig: go.Figure, ev: Evidence, alert: dict, news: pl.DataFrame) -> None:
    """The picture opens on the alert's window, half its length again either side (a
    minute at least), and on the prices seen in it: twenty seconds of layering are
    seen, not a sliver of the hour around them (the reader zooms out with a double
    click). News an insider knew of stays in it."""
    start, end = alert["window_start"], alert["window_end"]
    pad = max(60 * 10**9, (end - start) // 2)
    lo, hi = start - pad, end + pad
    if news.height:
        lo, hi = min(lo, news["ts_event"].min() - pad), max(hi, news["ts_event"].max() + pad)
    frames = [ev.book.select("ts_event", pl.col(c).cast(pl.Float64).alias("p"))
              for c in ("best_bid", "best_ask") if ev.book.height]
    frames += [f.select("ts_event", pl.col("price").cast(pl.Float64).alias("p"))
               for f in (ev.orders, ev.trades_in(alert["isin"])) if f.height]
    prices = pl.concat(frames).filter(pl.col("ts_event").is_between(lo, hi))["p"] \
        .drop_nulls().to_list() if frames else []
    x0, x1 = local_times(pl.Series([lo, hi]))
    fig.update_xaxes(range=[x0, x1])
    if prices:
        margin = (max(prices) - min(prices)) * 0.08 or max(prices) * 0.001
        fig.update_layout(yaxis=dict(range=[min(prices) - margin, max(prices) + margin]))


#: What takes an order out of the book.
GONE = ("CANCEL", "FILL", "REJECT", "EXPIRE")


def _resting(fig: go.Figure, orders: pl.DataFrame, alert: dict, w: Words) -> None:
    """Each suspect order's time in the book, from its entry to its cancel or fill (or
    the window's end), as a line at its price: layers stacked level above level."""
    entered = orders.filter((pl.col("whose") == "suspect") & (pl.col("event_type") == "NEW")
                            & pl.col("price").is_not_null())
    if not entered.height:
        return
    left = orders.filter(pl.col("event_type").is_in(GONE)).group_by("order_id").agg(
        pl.col("ts_event").min().alias("gone"))
    spans = entered.join(left, on="order_id", how="left").with_columns(
        pl.max_horizontal("ts_event", pl.col("gone").fill_null(alert["window_end"]))
        .alias("gone"))
    xs, ys = [], []
    for a, b, price in zip(local_times(spans["ts_event"]), local_times(spans["gone"]),
                           spans["price"].cast(pl.Float64).to_list()):
        xs += [a, b, None]
        ys += [price, price, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#8d6e63", width=2),
                             opacity=0.6, name=w("suspect orders resting in the book"),
                             hoverinfo="skip"))


#: An account's part in the flow drawn: it only pays, pays and is paid, or is only paid.
ROLES = {"source": "#1565c0", "mule": "#ef6c00", "sink": "#6a1b9a"}
#: Payments up to which each arrow is labelled with its amount (beyond, on hover only).
LABELLED = 40


def role(graph, account: str) -> str:
    if not graph.in_degree(account):
        return "source"
    return "mule" if graph.out_degree(account) else "sink"


#: Each part's name in the legend.
PARTS = {"source": N_("source"), "mule": N_("mule"), "sink": N_("sink")}


def money_flow(payments: pl.DataFrame, alert: dict, w: Words = ENGLISH,
               accounts: pl.DataFrame | None = None) -> go.Figure:
    """Accounts as nodes coloured by their part (source, mule, sink; the alert's own
    larger, ringed in red) and labelled with their region (`accounts`: account_id and
    region, as `scope.flow_accounts` gives them), payments as arrows sized and labelled
    by amount."""
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
            hovertext=[m[2] for m in mids], hoverinfo="text", name=w("payments"),
            showlegend=False))
        region = {} if accounts is None else dict(
            accounts.select("account_id", "region").iter_rows())
        for part, colour in ROLES.items():
            nodes = [n for n in graph.nodes if role(graph, n) == part]
            if not nodes:
                continue
            fig.add_trace(go.Scatter(
                x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes],
                mode="markers+text", textposition="top center", name=w(PARTS[part]),
                text=[f"{n} · {region[n]}" if region.get(n) else n for n in nodes],
                marker=dict(size=[18 if n in suspects else 12 for n in nodes], color=colour,
                            line=dict(width=[3 if n in suspects else 1 for n in nodes],
                                      color=["#c62828" if n in suspects else "#37474f"
                                             for n in nodes])),
                hovertext=[w("{account} ({part}{alerted}): pays {pays}, paid by {paid_by}",
                             account=n, part=w(PARTS[part]),
                             alerted=w(", alerted") if n in suspects else "",
                             pays=graph.out_degree(n), paid_by=graph.in_degree(n))
                           for n in nodes], hoverinfo="text"))
    fig.update_layout(title=w("Money flow of {alert}: {n} payments", alert=alert["alert_id"],
                              n=payments.height),
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


def alerts_per_day(alerts: pl.DataFrame, typologies: list[str],
                   w: Words = ENGLISH) -> go.Figure:
    """Alerts per typology and day (by the start of their window, the deployment's
    day); each typology's colour its place in `typologies`, the same on every page."""
    counts = alerts.with_columns(
        local(pl.col("window_start")).dt.date().cast(pl.String).alias("day")) \
        .group_by(["day", "typology"]).len().sort("day") if alerts.height else alerts
    names = typologies + sorted(set(alerts["typology"]) - set(typologies))
    bars = _stacked(counts, "typology", "day", "len", names) if alerts.height else []
    for bar in bars:
        bar.name = w.typology(bar.name)
    fig = go.Figure(bars)
    fig.update_layout(title=w("Alerts per typology and day"),
                      xaxis_title=w("day ({zone})", zone=zone()),
                      yaxis_title=w("alerts"), **STACKED)
    return fig


def rejections(frame: pl.DataFrame, w: Words = ENGLISH) -> go.Figure:
    """Rejected records per feedback code and institution."""
    codes = sorted(frame["code"].unique()) if frame.height else []
    fig = go.Figure(_stacked(frame, "code", "institution", "rows", codes))
    fig.update_layout(title=w("Feedback rows per code and institution"),
                      xaxis_title=w("institution"), yaxis_title=w("rows"), **STACKED)
    return fig


def drivers(explanation: str | None, w: Words = ENGLISH) -> list[dict]:
    """Why the alert was raised, for its page: a learned alert's drivers with their
    meaning, and each other detector that found the same case (`model.alert.also`),
    with its typology, score and drivers."""
    if not explanation:
        return []
    from suptech.detect.payments.features import describe

    def reasons(e: dict | None, before: str = "") -> list[dict]:
        return [{**d, "says": before + describe(d["feature"], d["value"], d["contribution"], w)}
                for d in (e or {}).get("drivers", [])]

    e = json.loads(explanation)
    said = reasons(e)
    for other in e.get("also", []):
        said.append({"feature": other["detector"], "value": other["score"],
                     "says": w("also found by {detector}: {typology}, score {score:.2f}",
                               detector=other["detector"], typology=w.typology(other["typology"]),
                               score=other["score"])})
        said += reasons(other.get("explanation"), "· ")
    return said


def risk_heatmap(levels: pl.DataFrame, day: str, shown: int, w: Words = ENGLISH) -> go.Figure:
    """Shares (rows: the `shown` with the highest level of any indicator) by indicator
    (columns), each cell the level of the indicator's measure that day (a member's or
    group's, the highest in that share): 1 is the rule's line, coloured past it in red.
    A cell's link (`customdata`) is the alert queue of that typology and share."""
    typologies, top, cell = grid(levels, shown)
    z, text, links = [], [], []
    for isin in top:
        row = [cell.get((isin, t)) for t in typologies]
        z.append([min(c["level"], 2.0) if c else None for c in row])
        text.append([f"{c['level']:.2f}" if c else "" for c in row])
        links.append([f"/ui/alerts?typology={t}&isin={isin}" for t in typologies])
    fig = go.Figure(go.Heatmap(
        z=z, x=[w.typology(t) for t in typologies], y=top, text=text,
        texttemplate="%{text}", customdata=links, zmin=0, zmax=2,
        colorscale=[list(stop) for stop in LEVEL_COLOURS],
        colorbar=dict(title=w("level"), tickvals=[0, 0.5, 1, 1.5, 2],
                      ticktext=["0", "0.5", w("line"), "1.5", "≥2"]),
        hovertemplate="%{y} · %{x}: %{text}<extra></extra>"))
    fig.update_layout(title=w("Risk levels on {day} (1 is the rule's line)", day=day),
                      **dict(LAYOUT, height=max(320, 26 * len(top) + 160),
                             margin=dict(l=120, r=20, t=50, b=140)))
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def incident_trend(monthly: pl.DataFrame, w: Words = ENGLISH) -> go.Figure:
    """New-technology incidents per month, stacked by technology; the serious ones (high
    and critical) as a line."""
    fig = go.Figure()
    for (tech,), part in monthly.group_by(["technology"], maintain_order=True):
        fig.add_bar(x=part["month"].to_list(), y=part["incidents"].to_list(), name=tech)
    if monthly.height:
        serious = monthly.group_by("month").agg(pl.col("serious").sum()).sort("month")
        fig.add_scatter(x=serious["month"].to_list(), y=serious["serious"].to_list(),
                        name=w("high and critical"), mode="lines+markers",
                        line=dict(color="#b30000"))
    fig.update_layout(barmode="stack", title=w("Incidents by month and technology"),
                      **LAYOUT)
    return fig


def exposure_bars(levels: pl.DataFrame, line: float, shown: int,
                  w: Words = ENGLISH) -> go.Figure | None:
    """Institutions by DebtRank (the `shown` highest), the rule's line dashed, those past
    it in red; None where no institution was measured."""
    top = institutions(levels, shown)
    if top.is_empty():
        return None
    fig = go.Figure(go.Bar(
        x=top["value"].to_list(), y=top["subject"].to_list(), orientation="h",
        marker_color=["#b30000" if lv >= 1 else "#6baed6" for lv in top["level"].round(9)],
        hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.add_vline(x=line, line_dash="dash", line_color="#444444")
    fig.update_layout(title=w("Exposure contagion between institutions"),
                      xaxis_title=w("DebtRank: share of the system's capital lost if it fails "
                                    "(dashed: the line)"),
                      **dict(LAYOUT, height=max(300, 22 * top.height + 140),
                             margin=dict(l=190, r=20, t=50, b=60)))
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
