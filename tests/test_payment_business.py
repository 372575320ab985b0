"""Payment typologies measured against each account's own business: a group's cash pool,
a payroll the size of an employer's day, a trader's payments are not laundering shapes;
money wandering among accounts, and layers with a stray leg, are."""

from __future__ import annotations

import uuid

import polars as pl
import pytest
from builders import record, write_csv

from suptech.detect.payments.bipartite import Bipartite
from suptech.detect.payments.cycle import Cycle
from suptech.detect.payments.fan_out import FanOut
from suptech.detect.payments.random_walk import RandomWalk
from suptech.detect.payments.rapid import RapidMovement
from suptech.detect.payments.stack import Stack
from suptech.detect.run import alerts_of, run


@pytest.fixture
def pay(tmp_path, ingest):
    """Ingest payments given as (debtor, creditor, CNY, "MM-DD", "HH:MM"[, channel[,
    purpose]])."""
    def ingest_payments(rows):
        payments = [record("payment", i, payment_id=str(uuid.UUID(int=i + 1, version=4)),
                           debtor_account_id=d, creditor_account_id=c, amount=f"{cny:.2f}",
                           channel=(more or ["RTGS"])[0],
                           purpose=more[1] if len(more) > 1 else None,
                           ts_event=f"2026-03-{day}T{at}:00+08:00")
                    for i, (d, c, cny, day, at, *more) in enumerate(rows)]
        ingest(write_csv(tmp_path, "payment.csv", payments))
    return ingest_payments


def accounts(alerts) -> list[str]:
    return sorted(alerts["account_ids"])


def test_a_groups_cash_pool_is_its_business_and_a_new_ring_is_not(store, pay):
    """For ten days parent P tops up S1 each morning, S1 tops up its own subsidiary S2,
    and S2 sweeps back to P each evening, a little less each time: a ring, a relay
    twice a day and a conduit, all standing relationships. A, B and C, who never dealt
    with each other, send 200,000 round once."""
    rows = []
    for day in range(1, 11):
        d = f"{day:02d}"
        rows += [("P", "S1", 100_000, d, "09:00"), ("S1", "S2", 98_000, d, "09:30"),
                 ("S2", "P", 96_000, d, "17:00")]
    rows += [("A", "B", 200_000, "10", "10:00"), ("B", "C", 195_000, "10", "11:00"),
             ("C", "A", 190_000, "10", "12:00")]
    pay(rows)
    found = run(store, [Cycle(), RandomWalk(), RapidMovement()])
    assert list(found["typology"]) == ["CYCLE"]
    assert accounts(found) == ["A;B;C"]


def test_a_payroll_a_tenth_of_the_employers_usual_day_is_not_a_fan_out(store, pay):
    """E sweeps 1,000,000 to its parent every day; on the tenth it pays six new staff
    20,000 each. M, with no business of its own, pays six others as much."""
    rows = [("E", "PARENT", 1_000_000, f"{day:02d}", "17:00") for day in range(1, 11)]
    rows += [("E", f"STAFF{k}", 20_000, "10", f"10:{k:02d}") for k in range(6)]
    rows += [("M", f"MULE{k}", 20_000, "10", f"11:{k:02d}") for k in range(6)]
    pay(rows)
    assert accounts(run(store, [FanOut()])) == [
        "M;MULE0;MULE1;MULE2;MULE3;MULE4;MULE5"]


def test_money_wandering_among_accounts_is_a_walk_and_a_single_hop_or_a_trader_is_not(
        store, pay):
    """X's money goes round Y and Z and on through W back to Y: each of the four pays
    and receives. G passes on what F paid it once, T pays suppliers out of a buyer's
    payment: in each only one account both pays and receives."""
    pay([("X", "Y", 100_000, "02", "09:00"), ("Y", "Z", 97_000, "02", "10:00"),
         ("Z", "X", 95_000, "02", "11:00"), ("X", "W", 93_000, "02", "12:00"),
         ("W", "Y", 90_000, "02", "13:00"),
         ("F", "G", 200_000, "02", "09:00"), ("G", "H", 195_000, "02", "10:00"),
         ("BUYER", "T", 500_000, "02", "09:00"), ("T", "SUP1", 150_000, "02", "13:00"),
         ("T", "SUP2", 140_000, "02", "14:00")])
    assert accounts(run(store, [RandomWalk()])) == ["W;X;Y;Z"]


def test_layers_stand_when_a_leg_is_small_or_a_middle_also_pays_someone_else(store, pay):
    """S1 and S2 pay middles M1 and M2, which pay R1 and R2. S3 also pays M1, but only
    800 to M2 (under the CNY 1,000 a leg needs); M2 also pays Q. The layers are S1, S2 /
    M1, M2 / R1, R2, their eight payments the evidence."""
    rows = [(s, m, 150_000, "02", f"09:{i:02d}") for i, (s, m) in enumerate(
        [("S1", "M1"), ("S2", "M1"), ("S3", "M1"), ("S1", "M2"), ("S2", "M2")])]
    rows += [("S3", "M2", 800, "02", "09:30")]
    rows += [(m, r, 140_000, "02", f"11:{i:02d}") for i, (m, r) in enumerate(
        [("M1", "R1"), ("M1", "R2"), ("M2", "R1"), ("M2", "R2"), ("M2", "Q")])]
    pay(rows)
    found = run(store, [Stack()])
    assert accounts(found) == ["M1;M2;R1;R2;S1;S2"]
    legs = [str(uuid.UUID(int=k, version=4)) for k in (1, 2, 4, 5, 7, 8, 9, 10)]
    assert sorted(found["evidence"][0].split(";")) == sorted(legs)


def test_a_case_a_rule_raised_is_not_raised_again_by_the_model():
    """The model's alert that holds a payment of the fan-in's is the fan-in's case: it
    joins the fan-in's alert, which lists the model and its reasons beside its own. The
    model's alert on payments no rule holds stays (what the rules did not see)."""
    import json

    import polars as pl

    from suptech.detect.run import EMPTY, one_per_case
    from suptech.model.alert import detectors

    why = json.dumps({"model": "aml-gbm-2", "drivers": [{"feature": "fan_in"}]})
    alerts = pl.concat([EMPTY, pl.DataFrame({
        "alert_id": ["AL-1", "AL-2", "AL-3"], "detector": ["fan_in", "gbm", "gbm"],
        "typology": ["FAN_IN", "DORMANT_ACTIVATION", "STACK"], "score": [0.6, 0.9, 0.8],
        "evidence": ["P1;P2;P3;P4;P5", "P3;P9", "P7;P8"],
        "explanation": [None, why, why]})], how="diagonal_relaxed")
    one = one_per_case(alerts)
    assert list(one["alert_id"]) == ["AL-1", "AL-3"]
    fan_in = one.row(0, named=True)
    assert detectors(fan_in["detector"], fan_in["explanation"]) == ["fan_in", "gbm"]
    assert json.loads(fan_in["explanation"])["also"] == [
        {"detector": "gbm", "typology": "DORMANT_ACTIVATION", "score": 0.9,
         "explanation": json.loads(why)}]
    assert one.row(1, named=True)["explanation"] == why  # alone: unchanged


def test_a_dormant_account_waking_to_collect_is_one_case_not_also_a_fan_in():
    """A dormant account woke to collect P1-P5: the activation's alert and a fan-in's on
    the same payments are one case, the activation's. A fan-in elsewhere stays, and so
    does a rapid movement through the same account (another shape of its own)."""
    import polars as pl

    from suptech.detect.run import EMPTY, one_per_case

    alerts = pl.concat([EMPTY, pl.DataFrame({
        "alert_id": ["AL-1", "AL-2", "AL-3", "AL-4"],
        "detector": ["dormant_activation", "fan_in", "fan_in", "rapid_movement"],
        "typology": ["DORMANT_ACTIVATION", "FAN_IN", "FAN_IN", "RAPID_MOVEMENT"],
        "evidence": ["P1;P2;P3;P4;P5;P6", "P1;P2;P3;P4;P5", "Q1;Q2;Q3;Q4;Q5", "P5;P6"]})],
        how="diagonal_relaxed")
    assert list(one_per_case(alerts)["alert_id"]) == ["AL-1", "AL-3", "AL-4"]


def test_smurfs_who_consolidate_to_one_organiser_are_one_case_with_it(store, pay):
    """S1 and S2 each deposit cash twice just under the CNY 50,000 threshold and pay it
    on to BOSS the next day: one case of three accounts, deposits and transfers its
    evidence. S3 structures alone and keeps the money: a case of its own."""
    from suptech.detect.payments.structuring import Structuring

    rows = []
    for who, hours in (("S1", ("09", "15")), ("S2", ("10", "16")), ("S3", ("11", "17"))):
        rows += [(who, who, 48_000, "02", f"{h}:00", "CASH") for h in hours]
    rows += [("S1", "BOSS", 95_000, "03", "10:00"), ("S2", "BOSS", 94_000, "03", "12:00")]
    pay(rows)
    found = run(store, [Structuring()]).sort("account_ids")
    assert accounts(found) == ["BOSS;S1;S2", "S3"]
    assert [len(e.split(";")) for e in found["evidence"]] == [6, 2]


def test_smurfs_who_each_deposit_once_and_send_it_on_to_one_account_are_a_case(store, pay):
    """S1, S2 and S3 each deposit 46,000-48,000 in cash once, S1 again the next morning
    (a day and more apart), and each sends BOSS what it deposited. Shopkeepers K1 and
    K2 each deposit 47,000 and pay their wholesaler for goods; F1 and F2 each deposit
    45,000 and give a friend 2,000."""
    from suptech.detect.payments.structuring import Structuring

    rows = [(s, s, cny, day, at, "CASH") for s, cny, day, at in (
        ("S1", 47_000, "02", "09:00"), ("S2", 48_000, "02", "11:00"),
        ("S3", 46_000, "02", "15:00"), ("S1", 48_500, "03", "23:00"))]
    rows += [("S1", "BOSS", 94_000, "04", "10:00"), ("S2", "BOSS", 47_000, "04", "12:00"),
             ("S3", "BOSS", 45_000, "04", "13:00")]
    rows += [(k, k, 47_000, "05", "18:00", "CASH") for k in ("K1", "K2")]
    rows += [(k, "WHOLESALE", 60_000, "06", "10:00", "RTGS", "GDDS") for k in ("K1", "K2")]
    rows += [(f, f, 45_000, "08", "18:00", "CASH") for f in ("F1", "F2")]
    rows += [(f, "FRIEND", 2_000, "09", "10:00") for f in ("F1", "F2")]
    pay(rows)
    found = run(store, [Structuring()])
    assert accounts(found) == ["BOSS;S1;S2;S3"]
    assert [len(e.split(";")) for e in found["evidence"]] == [7]


def test_the_model_runs_unasked_only_when_fitted_on_the_institutions_own_labels(
        tmp_path, monkeypatch):
    """The shipped model, fitted on the simulator, runs when named; a model fitted on an
    institution's labels or decisions (its description says which) runs in every scan."""
    import json
    import shutil

    from suptech.detect.payments.learned import Learned
    from suptech.detect.payments.model import model_dir, versions

    newest = versions()[-1]
    for f in model_dir().glob(f"aml-gbm-{newest}*"):
        shutil.copy(f, tmp_path / f.name.replace(f"aml-gbm-{newest}", "aml-gbm-1"))
    monkeypatch.setenv("SUPTECH_MODEL_DIR", str(tmp_path))
    assert not Learned().by_default()
    meta = json.loads((tmp_path / "aml-gbm-1.json").read_text())
    meta["trained_on"]["labels"] = "decisions of suptech-data"
    (tmp_path / "aml-gbm-1.json").write_text(json.dumps(meta))
    assert Learned().by_default()
    monkeypatch.setenv("SUPTECH_MODEL_DIR", str(tmp_path / "none"))
    assert not Learned().by_default()


def test_money_that_stays_with_one_holder_makes_no_shape(tmp_path, store, ingest, pay):
    """C1, C2 and C3 are one group (their banks say so) and pass 500,000 round; Li moves
    her savings between her accounts at two banks and a friend's; X, Y and Z, three
    parties, pass 300,000 round. Only X, Y and Z's ring is a cycle."""
    holders = {"C1": ("PC1", "GRP-C"), "C2": ("PC2", "GRP-C"), "C3": ("PC3", "GRP-C"),
               "LI-1": ("PLI", None), "LI-2": ("PLI", None), "F": ("PF", None),
               "X": ("PX", None), "Y": ("PY", None), "Z": ("PZ", None)}
    parties = {p: g for p, g in holders.values()}
    ingest(write_csv(tmp_path, "party.csv", [
               record("party", i, party_id=p, group_id=g, party_type="PERSON")
               for i, (p, g) in enumerate(parties.items())]),
           write_csv(tmp_path, "account.csv", [
               record("account", i, account_id=a, owner_party_id=p, account_type="PAYMENT")
               for i, (a, (p, _)) in enumerate(holders.items())]))
    pay([("C1", "C2", 500_000, "02", "09:00"), ("C2", "C3", 495_000, "02", "10:00"),
         ("C3", "C1", 490_000, "02", "11:00"),
         ("LI-1", "LI-2", 80_000, "02", "09:00"), ("LI-2", "F", 79_000, "02", "10:00"),
         ("F", "LI-1", 78_000, "02", "11:00"),
         ("X", "Y", 300_000, "02", "09:00"), ("Y", "Z", 295_000, "02", "10:00"),
         ("Z", "X", 290_000, "02", "11:00")])
    assert accounts(run(store, [Cycle()])) == ["X;Y;Z"]


def test_a_hub_is_judged_by_the_days_it_gathered_and_scattered(store, pay):
    """H takes in 8,000, 12,000 and 15,000 from three new payers and pays three others
    11,000 each within hours; three weeks later it is paid 50,000 and keeps it. Over
    the month it paid out far less than it took in; in those hours, nearly all of it."""
    from suptech.detect.payments.gather_scatter import GatherScatter

    pay([("A", "H", 8_000, "02", "09:00"), ("B", "H", 12_000, "02", "09:30"),
         ("C", "H", 15_000, "02", "10:00"), ("H", "D", 11_000, "02", "12:00"),
         ("H", "E", 11_000, "02", "12:30"), ("H", "F", 11_000, "02", "13:00"),
         ("G", "H", 50_000, "23", "10:00")])
    found = run(store, [GatherScatter()])
    assert accounts(found) == ["A;B;C;D;E;F;H"]
    assert len(found["evidence"][0].split(";")) == 6


def test_a_fan_out_spread_over_days_is_one_fan_and_legs_a_week_apart_are_not(store, pay):
    """D pays seven new accounts 30,000 each over three days, two or three a day: one
    fan-out, every leg its evidence. L pays one new account a week: no fan."""
    rows = [("D", f"MULE{k}", 30_000, f"{10 + k // 3:02d}", f"1{k % 3}:00") for k in range(7)]
    rows += [("L", f"ONE{k}", 30_000, f"{1 + 7 * k:02d}", "10:00") for k in range(4)]
    pay(rows)
    found = run(store, [FanOut()])
    assert accounts(found) == ["D;MULE0;MULE1;MULE2;MULE3;MULE4;MULE5;MULE6"]
    assert len(found["evidence"][0].split(";")) == 7


def test_loan_repayments_and_rent_are_business_not_a_fan_in(store, ingest, tmp_path):
    """Eight borrowers repay BANK over two days and eight tenants pay their landlord, each
    coded as such (ISO 20022 LOAR, RENT); eight strangers pay C as much, uncoded."""
    from suptech.detect.payments.fan_in import FanIn
    rows = [(f"B{k}", "BANK", "LOAR") for k in range(8)] + [
        (f"T{k}", "LANDLORD", "RENT") for k in range(8)] + [(f"S{k}", "C", None) for k in range(8)]
    payments = [record("payment", i, payment_id=str(uuid.UUID(int=i + 1, version=4)),
                       debtor_account_id=d, creditor_account_id=c, amount="25000.00",
                       channel="ACH", purpose=code,
                       ts_event=f"2026-03-{3 + i % 2:02d}T{9 + i % 8:02d}:00:00+08:00")
                for i, (d, c, code) in enumerate(rows)]
    ingest(write_csv(tmp_path, "payment.csv", payments))
    assert [a.split(";")[0] for a in run(store, [FanIn()])["account_ids"]] == ["C"]


def test_intermediaries_passing_on_a_like_sum_to_one_sink_is_a_scatter_gather(store, pay):
    """S pays M1-M3, who each pay K a sum of the same order a day later (one keeps a fee,
    one adds to it). In a stack, P1 and P2 both pay N1-N3, who both pay Q1 and Q2: every
    pair of ends shares three middles, but each middle deals with several."""
    from suptech.detect.payments.scatter_gather import ScatterGather
    rows = [("S", f"M{k}", 100_000, "05", f"10:0{k}") for k in range(1, 4)]
    rows += [(f"M{k}", "K", cny, "06", f"11:0{k}") for k, cny in ((1, 80_000), (2, 100_000),
                                                                   (3, 110_000))]
    for p in ("P1", "P2"):
        rows += [(p, f"N{k}", 50_000, "05", f"12:0{k}") for k in range(1, 4)]
    for q in ("Q1", "Q2"):
        rows += [(f"N{k}", q, 49_000, "06", f"13:0{k}") for k in range(1, 4)]
    pay(rows)
    assert accounts(run(store, [ScatterGather()])) == ["K;M1;M2;M3;S"]


def test_a_hub_paying_out_a_like_sum_is_a_gather_scatter_and_a_stacks_middle_is_not(
        store, pay):
    """H takes 30,000 from each of A1-A3 and pays 40,000 to each of B1-B3 the next day
    (more than it took in: it adds from what it holds). N1 and N2 each take from P1-P3 and
    pay Q1-Q3, who deal with both."""
    from suptech.detect.payments.gather_scatter import GatherScatter
    rows = [(f"A{k}", "H", 30_000, "05", f"10:0{k}") for k in range(1, 4)]
    rows += [("H", f"B{k}", 40_000, "06", f"10:0{k}") for k in range(1, 4)]
    for n in ("N1", "N2"):
        rows += [(f"P{k}", n, 30_000, "05", f"11:0{k}") for k in range(1, 4)]
        rows += [(n, f"Q{k}", 29_000, "06", f"11:0{k}") for k in range(1, 4)]
    pay(rows)
    assert accounts(run(store, [GatherScatter()])) == ["A1;A2;A3;B1;B2;B3;H"]


def test_a_ring_whose_hops_come_out_of_order_and_vary_in_size_is_a_cycle(store, pay):
    """A, B, C and D, strangers, pay each other round a ring over three days; D pays A
    before C has paid D, and the sums wander (80,000 to 110,000). E pays F a like sum
    and F pays G ten times as much: no ring."""
    pay([("A", "B", 100_000, "03", "09:00"), ("B", "C", 80_000, "04", "10:00"),
         ("D", "A", 110_000, "04", "11:00"), ("C", "D", 95_000, "05", "12:00"),
         ("E", "F", 50_000, "03", "09:00"), ("F", "G", 500_000, "03", "10:00"),
         ("G", "E", 60_000, "04", "10:00")])
    found = run(store, [Cycle()])
    assert accounts(found) == ["A;B;C;D"]


def test_payments_weeks_apart_do_not_make_a_walk(store, pay):
    """U1 pays U2 on the 2nd, U2 pays U3 on the 20th, U3 pays U1 on the 28th; U1 pays U4
    on the 10th and U4 paid U2 on the 2nd: the same accounts as a walk, but none passes
    on what it was paid within days. W1 to W4 pass money round within hours."""
    pay([("U1", "U2", 100_000, "02", "09:00"), ("U2", "U3", 90_000, "20", "09:00"),
         ("U3", "U1", 80_000, "28", "09:00"), ("U1", "U4", 70_000, "10", "09:00"),
         ("U4", "U2", 60_000, "02", "08:00"),
         ("W1", "W2", 100_000, "10", "09:00"), ("W2", "W3", 97_000, "10", "10:00"),
         ("W3", "W1", 95_000, "10", "11:00"), ("W1", "W4", 93_000, "10", "12:00"),
         ("W4", "W2", 90_000, "10", "13:00")])
    assert accounts(run(store, [RandomWalk()])) == ["W1;W2;W3;W4"]


def test_a_stack_whose_legs_are_small_is_a_stack(store, pay):
    """S1 and S2 pay M1 and M2, who pay R1 and R2; S1 sends M2 only 8,000: a layer holds
    small legs too (from CNY 1,000, as a gather-scatter's)."""
    rows = [(s, m, 8_000 if (s, m) == ("S1", "M2") else 150_000, "02", f"09:{i:02d}")
            for i, (s, m) in enumerate([("S1", "M1"), ("S2", "M1"), ("S1", "M2"), ("S2", "M2")])]
    rows += [(m, r, 70_000, "02", f"11:{i:02d}") for i, (m, r) in enumerate(
        [("M1", "R1"), ("M1", "R2"), ("M2", "R1"), ("M2", "R2")])]
    pay(rows)
    assert accounts(run(store, [Stack()])) == ["M1;M2;R1;R2;S1;S2"]


def test_a_lent_account_that_also_pays_a_friend_a_little_still_feeds_a_hub(store, pay):
    """A1, a person who otherwise banks normally, pays H 30,000 and a friend 2,000 the same
    day; A2 and A3 pay H as much; H pays B1-B3 the next day: a gather-scatter. The
    sender that matters is one paying no other hub at the shape's scale (10,000)."""
    from suptech.detect.payments.gather_scatter import GatherScatter
    rows = [(f"A{k}", "H", 30_000, "05", f"10:0{k}") for k in range(1, 4)]
    rows += [("A1", "FRIEND", 2_000, "05", "18:00")]
    rows += [("H", f"B{k}", 29_000, "06", f"10:0{k}") for k in range(1, 4)]
    pay(rows)
    assert accounts(run(store, [GatherScatter()])) == ["A1;A2;A3;B1;B2;B3;H"]


def test_one_intermediarys_smaller_share_does_not_break_a_scatter_gather(store, pay):
    """S sends M1 and M2 100,000 each and M3 9,000 (under the CNY 10,000 the legs once
    each needed); each passes it on to K within the hour."""
    from suptech.detect.payments.scatter_gather import ScatterGather
    rows = [("S", f"M{k}", cny, "05", f"10:0{k}") for k, cny in ((1, 100_000), (2, 100_000),
                                                                 (3, 9_000))]
    rows += [(f"M{k}", "K", cny, "05", f"11:0{k}") for k, cny in ((1, 98_000), (2, 97_000),
                                                                  (3, 8_800))]
    pay(rows)
    assert accounts(run(store, [ScatterGather()])) == ["K;M1;M2;M3;S"]


def test_a_few_hands_passing_a_small_sum_round_is_a_walk_and_a_chain_of_strangers_is_not(
        store, pay):
    """Q, R, S and U pass 6,000 back and forth in a day, every one of them paid by and
    paying the others. A1 pays A2, who pays A3, who pays A4, sums of the same size, and
    the money never comes back."""
    pay([("Q", "R", 6_000, "02", "09:00"), ("R", "Q", 5_800, "02", "10:00"),
         ("Q", "S", 5_600, "02", "11:00"), ("S", "U", 5_400, "02", "12:00"),
         ("U", "Q", 5_200, "02", "13:00"),
         ("A1", "A2", 3_000, "02", "09:00"), ("A2", "A3", 2_900, "02", "10:00"),
         ("A3", "A4", 2_800, "02", "11:00")])
    assert accounts(run(store, [RandomWalk()])) == ["Q;R;S;U"]


def test_a_ring_is_found_among_busy_accounts_but_not_carved_out_of_a_walk(store, pay):
    """A, B and C send 80,000 round on the 18th; A was paid 30,000 by K, a stranger, on
    the 3rd, so over the month A is paid by two. P1, P2 and P3 pass 50,000 round on the
    5th and 6th, and P1 passes it on to P4 on the 8th, who pays P2: money wandering
    among four, not a ring of three."""
    pay([("J", "K", 31_000, "03", "09:00"), ("K", "A", 30_000, "03", "10:00"),
         ("A", "B", 80_000, "18", "09:00"), ("B", "C", 79_000, "18", "10:00"),
         ("C", "A", 78_000, "18", "11:00"),
         ("P1", "P2", 50_000, "05", "09:00"), ("P2", "P3", 49_000, "05", "15:00"),
         ("P3", "P1", 48_000, "06", "09:00"), ("P1", "P4", 47_000, "08", "09:00"),
         ("P4", "P2", 46_000, "09", "09:00")])
    found = run(store, [Cycle(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("CYCLE", "A;B;C"), ("RANDOM", "P1;P2;P3;P4")]


def test_a_conduit_for_a_large_sum_in_smaller_passes_is_rapid_movement(store, pay):
    """C passes on to R what S pays it within the hour, 30,000, 48,000 and 29,000 over
    two days: 107,000 in all, none of them 50,000. C2 passes on 12,000 twice: a
    conduit, but for 24,000 in all."""
    pay([("S", "C", 30_000, "04", "08:00"), ("C", "R", 29_500, "04", "08:30"),
         ("S", "C", 48_000, "04", "16:00"), ("C", "R", 47_500, "04", "17:00"),
         ("S", "C", 29_000, "05", "01:00"), ("C", "R", 28_800, "05", "02:00"),
         ("S2", "C2", 12_000, "04", "08:00"), ("C2", "R2", 11_800, "04", "08:30"),
         ("S2", "C2", 12_000, "05", "08:00"), ("C2", "R2", 11_800, "05", "08:30")])
    assert accounts(run(store, [RapidMovement()])) == ["C;R;S"]


def test_a_block_is_found_among_busy_accounts_but_not_in_a_stacks_first_layer(store, pay):
    """B1, B2 and B3 each pay R1, R2 and R3 on the 20th; B1 was paid 40,000 by a
    stranger on the 3rd, so over the month B1 does not only pay. S1, S2 and S3 pay M1,
    M2 and M3 on the 5th, who pay T1, T2 and T3 on the 6th: layers, not a block."""
    rows = [("X", "B1", 40_000, "03", "09:00")]
    rows += [(f"B{i}", f"R{j}", 20_000 + 1_000 * i + 100 * j, "20", f"1{i}:{j}0")
             for i in (1, 2, 3) for j in (1, 2, 3)]
    rows += [(f"S{i}", f"M{j}", 30_000 + 1_000 * i + 100 * j, "05", f"1{i}:{j}0")
             for i in (1, 2, 3) for j in (1, 2, 3)]
    rows += [(f"M{i}", f"T{j}", 25_000 + 1_000 * i + 100 * j, "06", f"1{i}:{j}0")
             for i in (1, 2, 3) for j in (1, 2, 3)]
    pay(rows)
    assert accounts(run(store, [Bipartite()])) == ["B1;B2;B3;R1;R2;R3"]


def test_a_dispersal_with_a_small_leg_is_a_fan_out_and_a_payout_of_small_sums_is_not(
        store, pay):
    """D pays five strangers 196,000, 72,000, 80,000, 7,500 and 190,000 in a night.
    B pays twelve strangers 3,000 to 8,000 each, 60,000 in all, and two of them 12,000."""
    pay([("D", f"M{k}", cny, "25", f"0{k}:00")
         for k, cny in enumerate((196_000, 72_000, 80_000, 7_500, 190_000))]
        + [("B", f"P{k}", 3_000 + 400 * k, "25", f"1{k % 10}:{k:02d}") for k in range(12)]
        + [("B", "P12", 12_000, "25", "20:00"), ("B", "P13", 12_000, "25", "20:30")])
    assert accounts(run(store, [FanOut()])) == ["D;M0;M1;M2;M3;M4"]


def test_a_ring_of_smaller_sums_is_a_cycle_and_two_friends_settling_up_are_not(store, pay):
    """R1, R2 and R3 pass 6,000 round in a day (a network whose money is smaller); K1 to
    K4 pass 10,400 round, keeping a little at each hop, so the last two hops fall under
    the CNY 10,000 of the large scale. F1 and F2 pay each other back 4,000."""
    pay([("R1", "R2", 6_000, "10", "09:00"), ("R2", "R3", 5_900, "10", "11:00"),
         ("R3", "R1", 5_800, "10", "13:00"),
         ("K1", "K2", 10_400, "12", "09:00"), ("K2", "K3", 10_100, "12", "10:00"),
         ("K3", "K4", 9_900, "12", "11:00"), ("K4", "K1", 9_700, "12", "12:00"),
         ("F1", "F2", 4_000, "14", "09:00"), ("F2", "F1", 3_900, "14", "19:00")])
    assert accounts(run(store, [Cycle()])) == ["K1;K2;K3;K4", "R1;R2;R3"]


def test_a_ring_carved_out_of_a_walk_is_the_walk_and_a_walk_out_of_a_ring_the_ring(
        store, pay):
    """W1 and W2 pay each other back 10,000, and W1 passes the money on to W3 and W4,
    who pay it back round, under 10,000: a walk among four, whose large hops alone look
    like a ring of two. K1 to K6 pass 10,700 round, under 10,000 for the last two hops:
    a ring, whose large middle hops alone look like a walk of three."""
    pay([("W1", "W2", 10_200, "10", "09:00"), ("W2", "W1", 10_000, "10", "10:00"),
         ("W1", "W3", 9_300, "10", "11:00"), ("W3", "W1", 8_600, "10", "12:00"),
         ("W1", "W4", 8_000, "10", "13:00"), ("W4", "W2", 7_800, "10", "14:00")]
        + [(f"K{k}", f"K{k % 6 + 1}", cny, "20", f"1{k}:00") for k, cny in
           enumerate((10_700, 10_400, 10_300, 10_150, 9_900, 9_850), start=1)])
    found = run(store, [Cycle(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("CYCLE", "K1;K2;K3;K4;K5;K6"), ("RANDOM", "W1;W2;W3;W4")]


def test_a_blocks_smaller_legs_are_its_legs_but_make_no_block_alone(store, pay):
    """B1-B4 pay R1-R4 on the 20th, seven of the sixteen pairs 20,000 or more and two
    more 4,000-5,000: nine pairs, over half. C1-C3 pay D1-D3 every pair, 3,000 each: a
    block of small sums only."""
    large = [("B1", "R1"), ("B1", "R2"), ("B2", "R2"), ("B2", "R3"), ("B3", "R3"),
             ("B3", "R4"), ("B4", "R4")]
    rows = [(b, r, 20_000 + 1_000 * k, "20", f"1{k}:00") for k, (b, r) in enumerate(large)]
    rows += [("B4", "R1", 5_000, "20", "18:00"), ("B1", "R3", 4_000, "20", "19:00")]
    rows += [(f"C{i}", f"D{j}", 3_000, "22", f"1{i}:{j}0") for i in (1, 2, 3) for j in (1, 2, 3)]
    pay(rows)
    assert accounts(run(store, [Bipartite()])) == ["B1;B2;B3;B4;R1;R2;R3;R4"]


def test_a_hub_carved_out_of_a_walk_is_the_walk_and_a_hub_alone_a_gather_scatter(store, pay):
    """H collects 20,000 from each of A1-A3 and pays B1-B3 19,000 each within the hour;
    B1-B3 pay it back round to A1-A3: money wandering among seven, one of whose days
    looks like a gather-scatter. K collects from C1-C3 and pays D1-D3, and the money
    goes no further: a gather-scatter."""
    from suptech.detect.payments.gather_scatter import GatherScatter

    rows = [(f"A{k}", "H", 20_000, "10", f"09:0{k}") for k in (1, 2, 3)]
    rows += [("H", f"B{k}", 19_000, "10", f"10:0{k}") for k in (1, 2, 3)]
    rows += [(f"B{k}", f"A{k % 3 + 1}", 18_000, "10", f"12:0{k}") for k in (1, 2, 3)]
    rows += [(f"C{k}", "K", 30_000, "15", f"09:0{k}") for k in (1, 2, 3)]
    rows += [("K", f"D{k}", 29_000, "15", f"10:0{k}") for k in (1, 2, 3)]
    pay(rows)
    found = run(store, [GatherScatter(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("GATHER_SCATTER", "C1;C2;C3;D1;D2;D3;K"), ("RANDOM", "A1;A2;A3;B1;B2;B3;H")]


def test_a_ring_the_money_goes_round_again_is_a_walk_and_a_split_hop_still_a_ring(
        store, pay):
    """E pays W1 80,000, which W1, W2 and W3 pass round and W1 and W2 pass on again
    once it came back: a walk among three, round and round. A, B and C pass 60,000
    round once, A paying B in two parts: a ring."""
    pay([("E", "W1", 80_000, "10", "05:00"), ("W1", "W2", 79_000, "10", "06:00"),
         ("W2", "W3", 78_000, "10", "07:00"), ("W3", "W1", 77_000, "10", "10:00"),
         ("W1", "W2", 76_000, "10", "12:00"), ("W2", "W3", 75_000, "10", "15:00"),
         ("A", "B", 30_000, "20", "09:00"), ("A", "B", 30_000, "20", "09:20"),
         ("B", "C", 59_000, "20", "11:00"), ("C", "A", 58_000, "20", "13:00")])
    found = run(store, [Cycle(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("CYCLE", "A;B;C"), ("RANDOM", "W1;W2;W3")]


def test_four_hands_paying_one_another_round_are_a_walk_not_a_stack(store, pay):
    """M1 to M4 pass 150,000 back and forth among themselves, each paying each of the
    others once: a walk, whose payers are its payees, not layers money goes through one
    way. S1 and S2 pay L1 and L2, who pay T1 and T2: a stack."""
    hands = ["M1", "M4", "M3", "M4", "M2", "M3", "M2", "M4", "M1", "M3", "M1", "M2", "M1"]
    rows = [(a, b, 150_000 - 4_000 * k, "10", f"{8 + k:02d}:00")
            for k, (a, b) in enumerate(zip(hands, hands[1:]))]
    rows += [(s, m, 40_000 + 100 * k, "20", f"0{k}:00")
             for k, (s, m) in enumerate([("S1", "L1"), ("S1", "L2"), ("S2", "L1"), ("S2", "L2")])]
    rows += [(m, t, 39_000 + 100 * k, "20", f"1{k}:00")
             for k, (m, t) in enumerate([("L1", "T1"), ("L1", "T2"), ("L2", "T1"), ("L2", "T2")])]
    pay(rows)
    found = run(store, [Stack(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("RANDOM", "M1;M2;M3;M4"), ("STACK", "L1;L2;S1;S2;T1;T2")]


def test_a_case_a_detector_finds_twice_is_one_alert_with_the_evidence_of_both():
    """A mesh of four accounts was a stack's layers either way round: two hits of one
    case, which were two alerts with one id."""
    hits = pl.DataFrame({"account_ids": [["A", "B"], ["B", "A"]], "isin": [None, None],
                         "score": [0.5, 0.7], "window_start": [10, 10],
                         "window_end": [50, 90], "evidence": [["p1", "p2"], ["p3", "p2"]]})
    [alert] = alerts_of([(Stack(), hits)], keep_raw=True).to_dicts()
    assert (alert["account_ids"], alert["evidence"], alert["raw"], alert["window_end"]) == (
        "A;B", "p1;p2;p3", 0.7, 90)


def test_a_ring_on_a_walks_way_is_the_walk_and_a_ring_fed_from_outside_a_cycle(store, pay):
    """E pays W1 90,000, which W1, W2 and W3 pass round once, and W1 pays on to X once it
    came back: a walk through a loop. F pays A 60,000, which A, B and C pass round back
    to A, where it stays: a ring."""
    pay([("E", "W1", 90_000, "10", "05:00"), ("W1", "W2", 88_000, "10", "06:00"),
         ("W2", "W3", 86_000, "10", "07:00"), ("W3", "W1", 84_000, "10", "08:00"),
         ("W1", "X", 82_000, "10", "09:00"),
         ("F", "A", 60_000, "20", "05:00"), ("A", "B", 59_000, "20", "06:00"),
         ("B", "C", 58_000, "20", "07:00"), ("C", "A", 57_000, "20", "08:00")])
    found = run(store, [Cycle(), RandomWalk()]).sort("typology")
    assert list(zip(found["typology"], found["account_ids"])) == [
        ("CYCLE", "A;B;C"), ("RANDOM", "E;W1;W2;W3;X")]
