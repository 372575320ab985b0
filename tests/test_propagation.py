"""Risk propagation's definition, in plaintext (`federation.propagation`): what each
region brings (its frontier, its own risk, pseudonyms) and what a round does. That the
secure protocol over the nodes gives the same is tests/test_federation.py's."""

from __future__ import annotations

import polars as pl
import pytest

from suptech.federation import propagation
from suptech.federation.sharing import pseudonym

WHERE = pl.DataFrame({"account_id": ["a1", "a2", "a3", "b1", "b2", "c1"],
                      "region": ["A", "A", "A", "B", "B", "C"]})
PAYMENTS = pl.DataFrame({
    "debtor_account_id": ["a1", "a1", "a2", "a3", "b2", "c1"],
    "creditor_account_id": ["b1", "b1", "a1", "a2", "a3", "b1"],
    "amount": [60.0, 40.0, 10.0, 5.0, 30.0, 100.0]})


def test_a_regions_frontier_is_what_crosses_regions_and_the_payments_among_it():
    e = propagation.frontier("A", propagation.edges(PAYMENTS, WHERE))
    pairs = set(zip(e["source"], e["destination"], e["amount"]))
    # a1->b1 summed; b2->a3 across; a2->a1 is inside A but a2 pays no other region,
    # so only the edges among A's frontier (a1, a3) and across stay.
    assert pairs == {("a1", "b1", 100), ("b2", "a3", 30)}


def test_a_regions_inputs_name_accounts_by_pseudonym_and_named_accounts_risk_one():
    alerts = pl.DataFrame({"account_ids": ["a3;b2"]})
    risk, e = propagation.region_inputs("A", ["A", "B"], PAYMENTS, WHERE, alerts, b"k")
    assert dict(zip(risk["account_id"], risk["risk"])) == {"a1": 0.0, "a3": 1.0}
    assert set(risk["id"]) == {pseudonym(b"k", "a1"), pseudonym(b"k", "a3")}
    assert not set(e["source"]) & {"a1", "a3", "b2"}  # no raw account id leaves
    # C is not a party: its payment to b1 is not A's business, nor in B's frontier.
    _, eb = propagation.region_inputs("B", ["A", "B"], PAYMENTS, WHERE, alerts, b"k")
    assert pseudonym(b"k", "c1") not in set(eb["source"])


def test_a_round_keeps_part_of_an_accounts_risk_and_takes_the_rest_from_who_paid_it():
    risk = pl.DataFrame({"id": ["x", "y", "z"], "risk": [1.0, 0.0, 0.0]})
    e = pl.DataFrame({"source": ["x", "y"], "destination": ["z", "z"], "amount": [300, 100]})
    one = dict(propagation.propagate(risk, e, delta=0.5, iterations=1).iter_rows())
    # z: half its own 0, half of what paid it weighted by amount: 0.5 * 300/400.
    assert one == pytest.approx({"x": 0.5, "y": 0.0, "z": 0.375})
    two = dict(propagation.propagate(risk, e, delta=0.5, iterations=2).iter_rows())
    assert two == pytest.approx({"x": 0.25, "y": 0.0, "z": 0.5 * 0.375 + 0.5 * 0.75 * 0.5})
    # A lead: an account no rule named (own risk 0) whose propagated risk is high enough.
    leads = propagation.leads(propagation.propagate(risk, e), risk)
    assert leads["id"].to_list() == ["z"]
