"""Builders for small inline report files: valid by default, one field changed per test."""

from __future__ import annotations

import csv
import io
from pathlib import Path

SUBMITTER = "5493SSE0000000000019"
BROKER_A = "5493BRKA000000000065"
BROKER_B = "5493BRKB000000000015"
BANK = "5493BANKA00000000079"
ISIN_A = "CNE000000016"
ISIN_B = "CNE000000024"
TS = "2026-03-02T09:30:00+08:00"

DEFAULTS: dict[str, dict[str, str]] = {
    "instrument": dict(isin=ISIN_A, mic="XSHG", name="Demo Bank", asset_class="EQUITY",
                       currency="CNY", tick_size="0.01", lot_size="100", board="MAIN",
                       price_limit_pct="10", product_risk_level="R3"),
    "party": dict(party_id="P1", party_type="PERSON", region="CN-SH", investor_class="C3"),
    "account": dict(account_id="A1", owner_party_id="P1", member_lei=BROKER_A,
                    account_type="CASH", opened_date="2020-01-02"),
    "order_event": dict(order_id="O1", event_type="NEW", isin=ISIN_A, mic="XSHG",
                        account_id="A1", member_lei=BROKER_A, side="BUY", order_type="LIMIT",
                        price="10.01", quantity="1000", leaves_quantity="1000",
                        time_in_force="DAY"),
    "trade": dict(trade_id="T1", isin=ISIN_A, mic="XSHG", price="10.01", quantity="100",
                  buy_account_id="A1", sell_account_id="A2", buy_order_id="O1",
                  sell_order_id="O2", aggressor_side="BUY"),
    "payment": dict(payment_id="7d4e9b0c-6a3f-4c1e-9f2a-3b5c8d7e1a20",
                    debtor_account_id="D1", creditor_account_id="C1",
                    debtor_agent="BKCHCNBJ", creditor_agent="ICBKCNBJ", amount="100.50",
                    currency="CNY", channel="CIPS", debtor_country="CN",
                    creditor_country="CN", purpose="SALA"),
    "announcement": dict(announcement_id="N1", isin=ISIN_A, category="EARNINGS",
                         price_sensitive="true"),
    "insider": dict(isin=ISIN_A, party_id="P1", valid_from="2026-01-01", valid_to="2026-06-30"),
    "product_sale": dict(sale_id="S1", party_id="P1", isin=ISIN_A, member_lei=BROKER_A,
                         amount="10000", currency="CNY"),
    "index_level": dict(index_id="000001", level="3000.00"),
    "share_capital": dict(isin=ISIN_A, total_shares="1000000000", float_shares="800000000"),
    "institution_capital": dict(institution_lei=BANK, tier1_capital="50000000000",
                                currency="CNY"),
    "exposure": dict(lender_lei=BANK, borrower_lei=BROKER_A, exposure_type="LOAN",
                     amount="1000000000", currency="CNY"),
    "tech_application": dict(application_id="APP1", institution_lei=BANK, technology="AI_ML",
                             business="LENDING", description="credit scoring model",
                             customer_type="RETAIL", customers="10000", volume="500000000",
                             exposure="10000000", currency="CNY", live_from="2026-01-05"),
    "tech_assessment": dict(application_id="APP1", assessed_on="2026-01-02",
                            next_review="2026-07-01", inherent_risk="HIGH",
                            residual_risk="MEDIUM", operational="MEDIUM", cyber="MEDIUM",
                            data_protection="HIGH", model="HIGH", third_party="LOW",
                            conduct="MEDIUM"),
    "tech_incident": dict(incident_id="I1", application_id="APP1", severity="HIGH",
                          category="MODEL_ERROR", loss="250000", currency="CNY",
                          customers_affected="120", description="scores drifted"),
    "risk_cover": dict(application_id="APP1", cover_type="PROVISION", amount="10000000",
                       currency="CNY"),
    "pilot": dict(pilot_id="PL1", institution_lei=BANK, name="Supply-chain credit on a chain",
                  technology="BLOCKCHAIN", business="LENDING", status="LIVE",
                  max_customers="500", max_volume="100000000", currency="CNY",
                  ends_on="2026-12-31", conditions="SMEs of the Yangtze delta only"),
    "pilot_activity": dict(pilot_id="PL1", customers="100", volume="1000000", currency="CNY"),
    "investor_assessment": dict(party_id="P1", category="C3", lowest_category="false",
                                assessed_on="2026-01-05"),
    "complaint_event": dict(complaint_id="C1", event="ACKNOWLEDGED"),
    "complaint": dict(complaint_id="C1", party_id="P1", member_lei=BROKER_A, isin=ISIN_A,
                      category="MIS_SELLING", description="sold an R5 product to a C1 investor"),
}


def record(report_type: str, n: int = 1, **changes: str | None) -> dict[str, str | None]:
    """One valid record of `report_type`; keyword arguments change or blank fields."""
    rec: dict[str, str | None] = dict(report_id=f"{report_type[:3].upper()}-{n}", action="NEW",
                                      submitter=SUBMITTER, ts_event=TS)
    rec.update(DEFAULTS[report_type])
    rec.update(changes)
    return rec


def csv_text(records: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(records[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def write_csv(directory: Path, name: str, records: list[dict], **kw) -> Path:
    path = directory / name
    path.write_text(csv_text(records, **kw), encoding="utf-8")
    return path


def detector_alerts(directory: Path, detector: str, events: list[dict],
                    trades: list[dict] = (), accounts: list[dict] = ()) -> list[dict]:
    """The alerts one detector raises on inline order events and trades (with
    `reference_data` and `accounts` besides), ingested into a fresh store with no
    rejection."""
    from suptech.detect.base import REGISTRY
    from suptech.detect.run import run
    from suptech.ingest.pipeline import ingest_files
    from suptech.store.database import open_store

    files = reference_data(directory, accounts) + [
        write_csv(directory, "order_event.csv", events)]
    if trades:
        files.append(write_csv(directory, "trade.csv", list(trades)))
    store = open_store(directory / "db")
    try:
        assert all(r.summary.rejected == 0 for r in ingest_files(store, files))
        return run(store, [REGISTRY.get(detector)()]).to_dicts()
    finally:
        store.close()


def reference_data(directory: Path, accounts: list[dict] = ()) -> list[Path]:
    """Two instruments, two parties and two accounts (and `accounts`) that events can
    refer to."""
    return [
        write_csv(directory, "instrument.csv", [
            record("instrument", 1),
            record("instrument", 2, isin=ISIN_B, lot_size="200", board="STAR")]),
        write_csv(directory, "party.csv", [
            record("party", 1), record("party", 2, party_id="P2", region="CN-JS")]),
        write_csv(directory, "account.csv", [
            record("account", 1),
            record("account", 2, account_id="A2", owner_party_id="P2", member_lei=BROKER_B),
            *accounts]),
    ]


def taking(n: int, ts: str, account: str, side: str, lots: int, price: str = "10.01",
           maker: str = "A2", maker_lei: str = BROKER_B,
           **mine: str) -> tuple[list[dict], list[dict]]:
    """An order of `account` (`mine`: fields of it changed) that takes `lots` lots at
    `price` from a resting order of `maker` (a client of `maker_lei`) entered at the
    same moment: both orders' NEW events, and the trade."""
    qty, other = str(lots * 100), "SELL" if side == "BUY" else "BUY"
    resting = record("order_event", 2 * n, order_id=f"R{n}", ts_event=ts, side=other,
                     account_id=maker, member_lei=maker_lei, price=price, quantity=qty,
                     leaves_quantity=qty)
    order = record("order_event", 2 * n + 1, order_id=f"T{n}", ts_event=ts, side=side,
                   account_id=account, price=price, quantity=qty, leaves_quantity=qty,
                   time_in_force="IOC", **mine)
    buy, sell = (order, resting) if side == "BUY" else (resting, order)
    trade = record("trade", n, trade_id=f"X{n}", ts_event=ts, price=price, quantity=qty,
                   buy_account_id=buy["account_id"], sell_account_id=sell["account_id"],
                   buy_order_id=buy["order_id"], sell_order_id=sell["order_id"],
                   aggressor_side=side)
    return [resting, order], [trade]


def usual_orders(lots: int = 2, minutes: int = 40) -> list[dict]:
    """A market's ordinary resting orders: one of A2's of `lots` lots a minute from
    09:30, never traded (what `common.usual_order_size` measures)."""
    return [record("order_event", 5000 + k, order_id=f"U{k}",
                   ts_event=f"2026-03-02T{9 + (30 + k) // 60:02d}:{(30 + k) % 60:02d}:30+08:00",
                   side="BUY", account_id="A2", member_lei=BROKER_B, price="9.90",
                   quantity=str(lots * 100), leaves_quantity=str(lots * 100))
            for k in range(minutes)]


def shared_data(*parts: str) -> Path:
    """A file of the public data beside the repository (never copied into it).

    Looked for in $SUPTECH_SHARED, then ../shared next to the checkout, then
    /work/shared; a test that needs it is skipped, saying why, where none is found.
    """
    import os

    import pytest

    roots = [os.environ.get("SUPTECH_SHARED"), Path(__file__).parents[2] / "shared",
             "/work/shared"]
    for root in roots:
        if root and (Path(root, "data", *parts)).exists():
            return Path(root, "data", *parts)
    pytest.skip(f"public data data/{'/'.join(parts)} not found (set SUPTECH_SHARED)")


def error_lines(result) -> list[str]:
    """The `error:` lines a CLI run printed."""
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def stored_orders(cli) -> int:
    return cli("query", "order_event", "--format", "csv").output.count("ORD-")
