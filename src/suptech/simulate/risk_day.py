"""One day of `suptech simulate risk`: every share's trades, from the previous close to
the close, and the orders behind them, with what the plan's episodes add."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

SECOND = 1_000_000_000
#: Continuous trading, seconds after local midnight: 09:30-11:30, 13:00-14:57.
SESSIONS = ((34_200, 41_400), (46_800, 53_820))
CLOSE_S = SESSIONS[1][1] - 1  # the close's trade, in the last second of trading


def seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` seconds of the trading day, uniformly over its sessions, before the close's."""
    length = sum(b - a for a, b in SESSIONS) - 1
    x = rng.integers(0, length, n)
    first = SESSIONS[0][1] - SESSIONS[0][0]
    return np.where(x < first, SESSIONS[0][0] + x, SESSIONS[1][0] + x - first)


def day(rng, u, plan, closes: np.ndarray, d: int, midnight: int, mean_trades: float,
        first_trade: int, first_order: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The day's trades and order events, numbered on from `first_trade` and
    `first_order`."""
    n_sh = len(u.isin)
    prev = closes[:, d - 1] if d else closes[:, 0]
    close = closes[:, d]
    n = np.maximum(3, rng.poisson(mean_trades * plan.trades[:, d]))
    share = np.repeat(np.arange(n_sh), n)
    last = np.cumsum(n) - 1
    sec = seconds(rng, share.size)
    sec[last] = CLOSE_S
    order = np.lexsort((sec, share))
    sec = sec[order]
    # From the previous close to the close, small moves between, inside the day's band.
    frac = (sec - SESSIONS[0][0]) / (CLOSE_S - SESSIONS[0][0])
    p0, p1 = prev[share].astype(float), close[share].astype(float)
    px = p0 + (p1 - p0) * frac + rng.normal(0, 0.0015, share.size) * p0
    px = np.clip(px, np.minimum(p0, p1) * 0.997, np.maximum(p0, p1) * 1.003)
    limit = u.limit[share] / 100
    px = np.clip(np.rint(px), np.ceil(p0 * (1 - limit)), np.floor(p0 * (1 + limit)))
    px[last] = close
    starts = last - n + 1
    for i in np.flatnonzero(~np.isnan(plan.amplitude[:, d])):  # the day's range, set
        half = plan.amplitude[i, d] / 2
        px[starts[i]], px[starts[i] + 1] = math.ceil(prev[i] * (1 + half)), math.floor(prev[i] * (1 - half))
    # Volume: the usual share of the float at the first day's price (traders trade
    # money: at half the price, twice the shares), or what the plan sets.
    usual = u.turnover * u.float_shares * rng.lognormal(0, 0.2, n_sh) * plan.volume[:, d] \
        * (closes[:, 0] / prev)
    volume = np.where(np.isnan(plan.turnover[:, d]), usual, plan.turnover[:, d] * u.float_shares)
    w = rng.uniform(0.5, 1.5, share.size)
    w /= np.bincount(share, w, n_sh)[share]
    qty = np.maximum(1, np.rint(w * volume[share] / 100)).astype(np.int64) * 100
    ordinary = u.ordinary
    buyer = rng.integers(0, ordinary, share.size)
    seller = (buyer + rng.integers(1, ordinary, share.size)) % ordinary
    extra = _concentrated(rng, u, plan, d, px, qty, starts, n)
    for f in plan.flows:  # an episode's account takes part in some of the share's trades
        if f.day == d and f.trades:
            buyer[starts[f.share]:starts[f.share] + f.trades] = f.account
    trades = pl.DataFrame({"share": share, "sec": sec, "px": px.astype(np.int64), "qty": qty,
                           "buy": buyer, "sell": seller})
    if extra is not None:
        trades = pl.concat([trades, extra]).sort(["share", "sec"], maintain_order=True)
    return _reports(rng, u, plan, trades, d, midnight, first_trade, first_order)


def _concentrated(rng, u, plan, d, px, qty, starts, n) -> pl.DataFrame | None:
    """Trades between the related accounts of one member of its own, 4 for each share
    the plan gives it a share of the day's value in."""
    rows = []
    a, b = u.own_account(2, 0), u.own_account(2, 1)
    for i in np.flatnonzero(~np.isnan(plan.member_share[:, d])):
        s = plan.member_share[i, d]
        mine = slice(starts[i], starts[i] + n[i])
        value = float((px[mine] * qty[mine]).sum())
        price = int(px[starts[i] + n[i] - 1])
        each = value * s / (1 - s) / 4 / price
        for k in range(4):
            rows.append({"share": int(i), "sec": int(seconds(rng, 1)[0]), "px": price,
                         "qty": max(100, round(each / 100) * 100), "buy": a, "sell": b})
    return pl.DataFrame(rows, schema={"share": pl.Int64, "sec": pl.Int64, "px": pl.Int64,
                                      "qty": pl.Int64, "buy": pl.Int64, "sell": pl.Int64}) \
        if rows else None


def _reports(rng, u, plan, trades: pl.DataFrame, d: int, midnight: int, first_trade: int,
             first_order: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    isin, mic = np.array(u.isin), u.mic
    accounts, members = np.array(u.account_ids), np.array(u.member_leis)[u.account_member]
    m = trades.height
    ts = midnight + trades["sec"].to_numpy() * SECOND + rng.integers(0, SECOND // 2, m)
    share = trades["share"].to_numpy()
    tid = np.arange(first_trade, first_trade + m)
    venue = {"XSHG": _venue("SSEX"), "XSHE": _venue("SZSE")}
    price = (trades["px"].to_numpy() / 100).round(2)
    buy, sell = trades["buy"].to_numpy(), trades["sell"].to_numpy()
    trade = pl.DataFrame({
        "report_id": [f"RT{k}" for k in tid], "action": "NEW",
        "submitter": [venue[x] for x in mic[share]], "ts_event": ts,
        "trade_id": [f"T{k}" for k in tid], "isin": isin[share], "mic": mic[share],
        "price": [f"{p:.2f}" for p in price], "quantity": trades["qty"],
        "buy_account_id": accounts[buy], "sell_account_id": accounts[sell],
        "buy_order_id": [f"B{k}" for k in tid], "sell_order_id": [f"S{k}" for k in tid],
        "aggressor_side": np.where(rng.random(m) < 0.5, "BUY", "SELL")})
    # The two orders each trade filled, entered a moment before it.
    entered = ts - rng.integers(SECOND // 100, SECOND // 2, m)
    ev = [dict(order_id=[f"B{k}" for k in tid], ts=entered, share=share, acct=buy, side="BUY",
               px=price, qty=trades["qty"].to_numpy(), etype="NEW"),
          dict(order_id=[f"S{k}" for k in tid], ts=entered, share=share, acct=sell,
               side="SELL", px=price, qty=trades["qty"].to_numpy(), etype="NEW")]
    ev += _resting(rng, u, plan, d, midnight, share, price)
    frame = pl.concat([pl.DataFrame({
        "order_id": e["order_id"], "ts_event": np.asarray(e["ts"], dtype=np.int64),
        "share": np.broadcast_to(e["share"], len(e["order_id"])),
        "acct": np.broadcast_to(e["acct"], len(e["order_id"])),
        "side": np.broadcast_to(e["side"], len(e["order_id"])),
        "price": [f"{p:.2f}" for p in np.broadcast_to(e["px"], len(e["order_id"]))],
        "quantity": np.broadcast_to(e["qty"], len(e["order_id"])).astype(np.int64),
        "event_type": np.broadcast_to(e["etype"], len(e["order_id"]))}) for e in ev
        if len(e["order_id"])]).sort("ts_event", maintain_order=True)
    acct, sh = frame["acct"].to_numpy(), frame["share"].to_numpy()
    k = np.arange(first_order, first_order + frame.height)
    events = frame.select(
        pl.Series("report_id", [f"RE{x}" for x in k]), pl.lit("NEW").alias("action"),
        pl.Series("submitter", members[acct]), "ts_event", "order_id", "event_type",
        pl.Series("isin", isin[sh]), pl.Series("mic", mic[sh]),
        pl.Series("account_id", accounts[acct]), pl.Series("member_lei", members[acct]),
        "side", pl.lit("LIMIT").alias("order_type"), "price", "quantity",
        pl.when(pl.col("event_type") == "CANCEL").then(0).otherwise(pl.col("quantity"))
        .alias("leaves_quantity"), pl.lit("DAY").alias("time_in_force"))
    return trade, events


def _venue(kind: str) -> str:
    from suptech.formats import ids

    return ids.lei(kind, 1)


def _resting(rng, u, plan, d, midnight, share, price) -> list[dict]:
    """Orders that rest away from the market, about one for every two trades, half of
    them cancelled later; and the episodes' order flows."""
    out = []
    r = rng.random(share.size) < 0.5
    k = np.flatnonzero(r)
    ts = midnight + seconds(rng, k.size) * SECOND
    acct = rng.integers(0, u.ordinary, k.size)
    side = np.where(rng.random(k.size) < 0.5, "BUY", "SELL")
    px = (price[k] * np.where(side == "BUY", 0.98, 1.02)).round(2)
    ids = [f"R{d}-{j}" for j in range(k.size)]
    out.append(dict(order_id=ids, ts=ts, share=share[k], acct=acct, side=side, px=px,
                    qty=100, etype="NEW"))
    c = rng.random(k.size) < 0.5
    out.append(dict(order_id=[i for i, x in zip(ids, c) if x],
                    ts=ts[c] + rng.integers(1, 600, c.sum()) * SECOND, share=share[k][c],
                    acct=acct[c], side=side[c], px=px[c], qty=100, etype="CANCEL"))
    for f in plan.flows:
        if f.day == d:
            out += _flow(rng, u, f, d, midnight, price, share)
    return out


def _flow(rng, u, f, d, midnight, price, share) -> list[dict]:
    """An episode's orders: new ones, and their modifications and cancellations."""
    near = price[share == f.share][0] if (share == f.share).any() else 10.0
    ids = [f"F{d}-{f.share}-{f.kind}-{f.account}-{j}" for j in range(f.orders)]
    if f.kind == "burst":  # all in one second
        ts = midnight + int(seconds(rng, 1)[0]) * SECOND + np.sort(
            rng.integers(0, SECOND, f.orders))
        shares = f.share
    elif f.kind == "day":  # over the day, over every share
        ts = midnight + seconds(rng, f.orders) * SECOND + rng.integers(0, SECOND, f.orders)
        shares = np.arange(f.orders) % len(u.isin)
    else:
        ts = midnight + seconds(rng, f.orders) * SECOND
        shares = f.share
    px = round(float(near) * 0.95, 2)
    new = dict(order_id=ids, ts=ts, share=shares, acct=f.account, side="BUY", px=px,
               qty=100, etype="NEW")
    out = [new]
    if f.kind == "modify":
        out.append(dict(order_id=ids, ts=ts + SECOND, share=shares, acct=f.account,
                        side="BUY", px=px, qty=100, etype="MODIFY"))
    # Of all the account's new orders in the share, those it traded with among them.
    gone = min(f.orders, math.ceil(f.cancelled * (f.orders + f.trades)))
    if gone:
        out.append(dict(order_id=ids[:gone], ts=ts[:gone] + 2 * SECOND, share=shares,
                        acct=f.account, side="BUY", px=px, qty=100, etype="CANCEL"))
    return out
