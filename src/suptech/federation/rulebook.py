"""Harmonised standards: the detector rulebook the coordinator publishes (which
detectors, at which version, with which parameters, scanned by default) and how a
node's own differs from it (issue 25). A node states its rulebook from its registry;
the coordinator compares each node's with the published one, and the differences are
what the dashboard shows."""

from __future__ import annotations

import json


def rulebook(detectors=None) -> dict[str, dict]:
    """detector id -> version, parameters and whether a plain scan runs it: this
    installation's (its registry, at its defaults), or `detectors`' (instances)."""
    import suptech.detect.run  # noqa: F401  (registers the built-in detectors)
    from suptech.detect.base import REGISTRY

    chosen = detectors if detectors is not None else [c() for c in REGISTRY.detectors.values()]
    return {d.id: {"version": d.version, "parameters": json.loads(d.params.as_json()),
                   "default": d.by_default()} for d in chosen}


def differences(published: dict[str, dict], node: dict[str, dict]) -> list[dict]:
    """Where a node's rulebook departs from the published one, detector by detector:
    missing, extra, another version, a parameter set otherwise, run or not by default."""
    out = []
    for d in sorted(set(published) | set(node)):
        mine, theirs = node.get(d), published.get(d)
        if theirs is None or mine is None:
            out.append({"detector": d, "what": "extra" if theirs is None else "missing"})
            continue
        if mine["version"] != theirs["version"]:
            out.append({"detector": d, "what": "version", "published": theirs["version"],
                        "node": mine["version"]})
        for name in sorted(set(mine["parameters"]) | set(theirs["parameters"])):
            a, b = theirs["parameters"].get(name), mine["parameters"].get(name)
            if a != b:
                out.append({"detector": d, "what": f"parameter {name}", "published": a,
                            "node": b})
        if mine["default"] != theirs["default"]:
            out.append({"detector": d, "what": "default", "published": theirs["default"],
                        "node": mine["default"]})
    return out
