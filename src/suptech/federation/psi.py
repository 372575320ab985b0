"""Entity matching between two regions without pooling identifiers: private set
intersection over normalised identifiers (issue 25's first joint job).

Each region holds identifiers of the people and companies in its reports: resident
identity card numbers, unified social credit codes, account numbers, mobile numbers.
Two regions learn which of them they share, and nothing about the rest, by ECDH-PSI
(OpenMined's `psi` library): the asking region sends its items blinded under a key of
its own; the answering region returns them blinded again under its key, with its own
items blinded once; the asker removes its blinding and sees which of its items meet.
Neither side's raw identifiers, nor anything that can be hashed back to them without
the other's key, are in the messages (`tests/test_psi.py` searches every byte).

Identifiers are normalised before they are blinded, so that one person written two ways
(a lower-case check letter, spaces in a number, a phone with +86) is one item, and each
item carries the campaign's name: keys are drawn anew for every run, and an item of one
campaign never meets the same identifier in another (keys rotated per campaign).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import private_set_intersection.python as psi
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

#: The kinds of identifier matched, and how each is written canonically.
KINDS = ("resident_id", "uscc", "account", "phone")
_SPACES = re.compile(r"[\s\-]")


def normalise(kind: str, value: str | None) -> str | None:
    """The identifier as one canonical string, or None where it is not a valid one of
    its kind (a resident ID or a credit code whose check character fails)."""
    if value is None:
        return None
    text = _SPACES.sub("", str(value)).upper()
    if kind == "resident_id":
        return _resident_id(text)
    if kind == "uscc":
        return text if uscc.is_valid(text) else None
    if kind == "account":
        return text or None
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        for prefix in ("0086", "86"):
            if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
                digits = digits[len(prefix):]
        return digits if re.fullmatch(r"1\d{10}", digits) else None
    raise ValueError(f"unknown kind of identifier {kind!r} (kinds: {', '.join(KINDS)})")


def _resident_id(text: str) -> str | None:
    """By form, check character and birth date. Not by birthplace: python-stdnum's table
    of which county codes were in use in which years misses real ones (Nanjing's
    Xuanwu district, 320102, for people born in 1980), and a real person must match."""
    if len(text) != 18 or not text[:-1].isdigit() or text[-1] != ric.calc_check_digit(text):
        return None
    try:
        ric.get_birth_date(text)
    except ValidationError:
        return None
    return text


def items(campaign: str, entities: list[tuple[str, str]]) -> list[str | None]:
    """Each (kind, value) as the item the campaign blinds: its kind and canonical form
    under the campaign's name; None where the value is not valid."""
    out = []
    for kind, value in entities:
        canonical = normalise(kind, value)
        out.append(None if canonical is None else f"{campaign}\x1f{kind}\x1f{canonical}")
    return out


@dataclass
class Asker:
    """The region that learns which of its entities the other region also holds."""
    campaign: str
    entities: list[tuple[str, str]]

    def __post_init__(self):
        self._items = items(self.campaign, self.entities)
        self._valid = [i for i, item in enumerate(self._items) if item is not None]
        self._client = psi.client.CreateWithNewKey(True)  # True: learn the items, not a count

    def request(self) -> bytes:
        return self._client.CreateRequest(
            [self._items[i] for i in self._valid]).SerializeToString()

    @property
    def size(self) -> int:
        """How many items the request holds (the answerer sizes its setup by it)."""
        return len(self._valid)

    def shared(self, setup: bytes, response: bytes) -> list[int]:
        """The indices into `entities` that the other region also holds."""
        s, r = psi.ServerSetup(), psi.Response()
        s.ParseFromString(setup)
        r.ParseFromString(response)
        return sorted(self._valid[i] for i in self._client.GetIntersection(s, r))


@dataclass
class Answerer:
    """The region that answers: it learns only how many items were asked about."""
    campaign: str
    entities: list[tuple[str, str]]

    def answer(self, request: bytes, asked: int) -> tuple[bytes, bytes]:
        """(setup, response) for the asker: this region's items blinded under a key
        drawn for this answer, and the asker's items blinded again."""
        server = psi.server.CreateWithNewKey(True)
        mine = [item for item in items(self.campaign, self.entities) if item is not None]
        # RAW: the blinded items themselves, not a filter with false positives; every
        # shared entity is found and no other.
        setup = server.CreateSetupMessage(0.0, asked, mine, psi.DataStructure.RAW)
        r = psi.Request()
        r.ParseFromString(request)
        return setup.SerializeToString(), server.ProcessRequest(r).SerializeToString()
