"""Every node states its detector rulebook; its differences from the published one are
named detector by detector."""

from __future__ import annotations

from suptech.detect.market.spoofing import Spoofing
from suptech.detect.run import REGISTRY
from suptech.federation.rulebook import differences, rulebook


def test_an_installation_states_every_detector_with_version_and_parameters():
    book = rulebook()
    assert set(book) == {c.id for c in REGISTRY.detectors.values()}
    assert book["spoofing"]["version"] == Spoofing.version and book["spoofing"]["default"]
    assert book["gbm"]["default"] is False  # the simulator's model runs only when named
    assert differences(book, rulebook()) == []


def test_a_node_that_departs_is_shown_where():
    published = rulebook()
    param, value = next(iter(published["spoofing"]["parameters"].items()))
    node = {k: {**v, "parameters": dict(v["parameters"])} for k, v in published.items()
            if k != "cycle"}
    node["spoofing"]["parameters"][param] = "changed"
    node["spoofing"]["version"] = "0"
    node["homegrown"] = {"version": "1", "parameters": {}, "default": True}
    assert differences(published, node) == [
        {"detector": "cycle", "what": "missing"},
        {"detector": "homegrown", "what": "extra"},
        {"detector": "spoofing", "what": "version", "published": Spoofing.version, "node": "0"},
        {"detector": "spoofing", "what": f"parameter {param}", "published": value,
         "node": "changed"}]
