"""Two regions find the people and companies they share without handing over their
identifiers: every planted shared entity is found, written either way, and no other;
no raw identifier is in any byte sent; a new campaign's messages meet nothing of
another's."""

from __future__ import annotations

import random

from stdnum.cn import ric

from suptech.federation.population import population, resident_id, written_otherwise
from suptech.federation.psi import Answerer, Asker, normalise


def test_every_shared_entity_is_found_written_either_way_and_no_other():
    rng = random.Random(7)
    shanghai, jiangsu = population(rng, 2_000), population(rng, 2_000)
    planted = rng.sample(range(2_000), 60)
    for i, j in zip(planted, rng.sample(range(2_000), 60)):
        kind, value = shanghai[i]
        jiangsu[j] = (kind, written_otherwise(kind, value))
    asker = Asker("campaign-2026-12", shanghai)
    setup, response = Answerer("campaign-2026-12", jiangsu).answer(asker.request(), asker.size)
    assert asker.shared(setup, response) == sorted(planted)


def test_no_identifier_is_in_any_byte_either_region_sends():
    rng = random.Random(8)
    mine, theirs = population(rng, 300), population(rng, 300)
    theirs[:30] = mine[:30]
    asker = Asker("c1", mine)
    request = asker.request()
    setup, response = Answerer("c1", theirs).answer(request, asker.size)
    sent = request + setup + response
    for kind, value in mine + theirs:
        for written in {value, normalise(kind, value)}:
            assert written.encode() not in sent
    assert asker.shared(setup, response) == list(range(30))


def test_a_new_campaign_draws_new_keys_and_meets_nothing_of_an_old_one():
    rng = random.Random(9)
    both = population(rng, 200)
    first, second = Asker("c1", both), Asker("c2", both)
    assert first.request() != Asker("c1", both).request()  # fresh keys on every run
    setup, response = Answerer("c1", both).answer(second.request(), second.size)
    assert second.shared(setup, response) == []  # c2's items are not c1's


def test_an_identifier_that_fails_its_check_is_not_matched():
    rng = random.Random(10)
    good = resident_id(rng)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert normalise("resident_id", bad) is None and normalise("uscc", "91ABC") is None
    # A county python-stdnum's table lacks is judged by form, check character and date.
    body = "32010219800101123"
    assert normalise("resident_id", body + ric.calc_check_digit(body + "0")) is not None
    assert normalise("phone", "+86 138-0013-8000") == normalise("phone", "13800138000")
    asker = Asker("c", [("resident_id", bad), ("resident_id", good)])
    setup, response = Answerer("c", [("resident_id", bad), ("resident_id", good)]).answer(
        asker.request(), asker.size)
    assert asker.shared(setup, response) == [1]
