"""A joint job runs only under an agreement in force: the right regions, the right
fields, the result to those named, a sum's budget within its cap; the newest version of
an agreement rules; a refusal says why and goes into the node's audit log."""

from __future__ import annotations

import json
from datetime import date

import pytest

from suptech.federation.agreements import Agreements, refuse
from suptech.ops import audit
from suptech.ops.access import Refused
from suptech.ops.db import connect

ON = date(2026, 12, 6)
PSI = {"id": "delta-psi", "version": 1, "job": "psi", "regions": ["CN-SH", "CN-JS", "CN-ZJ"],
       "fields": ["resident_id", "uscc"], "released_to": ["CN-SH", "CN-JS"],
       "valid_from": "2026-01-01"}
SUM = {"id": "risk-sum", "version": 1, "job": "secure_sum",
       "regions": ["CN-SH", "CN-JS", "CN-ZJ", "CN-AH"], "fields": ["risk_score_bucket"],
       "released_to": ["CN-SH"], "max_rho": 0.1, "valid_from": "2026-01-01",
       "valid_to": "2026-12-31"}


def load(tmp_path, *agreements) -> Agreements:
    path = tmp_path / "agreements.json"
    path.write_text(json.dumps(list(agreements)))
    return Agreements.load(path)


def test_a_job_runs_only_as_its_agreement_says(tmp_path):
    a = load(tmp_path, PSI, SUM)
    assert a.allow("psi", {"CN-JS"}, "CN-SH", {"uscc"}, ON).id == "delta-psi"
    assert a.allow("secure_sum", {"CN-JS", "CN-ZJ", "CN-AH"}, "CN-SH",
                   {"risk_score_bucket"}, ON, rho=0.05).id == "risk-sum"
    refusals = {
        "no agreement in force for psi between CN-AH, CN-SH":
            lambda: a.allow("psi", {"CN-AH"}, "CN-SH", {"uscc"}, ON),
        "CN-ZJ may take part in psi but not learn its result (agreement delta-psi v1)":
            lambda: a.allow("psi", {"CN-SH"}, "CN-ZJ", {"uscc"}, ON),
        "phone not in agreement delta-psi v1":
            lambda: a.allow("psi", {"CN-JS"}, "CN-SH", {"uscc", "phone"}, ON),
        "a release of rho 0.5 is over agreement risk-sum v1's 0.1":
            lambda: a.allow("secure_sum", {"CN-JS"}, "CN-SH", {"risk_score_bucket"}, ON, rho=0.5),
        "no agreement in force for secure_sum between CN-JS, CN-SH":
            lambda: a.allow("secure_sum", {"CN-JS"}, "CN-SH", {"risk_score_bucket"},
                            date(2027, 1, 1), rho=0.05),
    }
    for why, ask in refusals.items():
        with pytest.raises(Refused) as e:
            ask()
        assert str(e.value) == why


def test_the_newest_version_of_an_agreement_rules(tmp_path):
    narrower = {**PSI, "version": 2, "regions": ["CN-SH", "CN-ZJ"], "released_to": ["CN-SH"]}
    a = load(tmp_path, PSI, narrower)
    assert a.allow("psi", {"CN-ZJ"}, "CN-SH", {"uscc"}, ON).version == 2
    with pytest.raises(Refused):
        a.allow("psi", {"CN-JS"}, "CN-SH", {"uscc"}, ON)  # Jiangsu left in version 2


def test_a_refusal_is_in_the_nodes_audit_log(tmp_path):
    a = load(tmp_path, PSI)
    ops = connect(tmp_path)
    with pytest.raises(Refused) as e:
        a.allow("psi", {"CN-AH"}, "CN-SH", {"uscc"}, ON)
    with ops.begin() as con:
        refuse(con, "CN-AH", "CN-SH", "psi", e.value)
    with ops.connect() as con:
        assert audit.verify(con).ok
        [row] = [r for r in con.execute(audit.audit.select()).mappings()
                 if r["action"] == "federation.refused"]
    assert row["actor"] == "CN-SH" and "no agreement in force" in json.loads(row["detail"])["why"]


@pytest.mark.parametrize("broken, said", [
    ({**PSI, "regions": ["CN-SH", "CN-XX"]}, "agreement delta-psi: regions: Value error, unknown regions ['CN-XX']"),
    ({**PSI, "released_to": ["CN-AH"]}, "released_to names a region that is not a party"),
    ({**SUM, "max_rho": None}, "max_rho is a secure sum's, and a secure sum needs one"),
    ({**PSI, "job": "gossip"}, "agreement delta-psi: job: Input should be"),
])
def test_a_malformed_agreement_is_refused_naming_it_and_its_field(tmp_path, broken, said):
    with pytest.raises(ValueError) as e:
        load(tmp_path, broken)
    assert said in str(e.value) and "agreements.json" in str(e.value)
