"""Record linkage between regions where identifiers are missing: people matched on name,
birth date and address without either region handing them over (issue 25).

Each region turns its people into cryptographic long-term keys (CLKs: Bloom filters of
the fields' bigrams, keyed with a secret the regions share for one campaign; clkhash),
and only the CLKs travel; a third party (the coordinator) or either region compares
them (Dice similarity, one-to-one greedy matching; anonlink) and returns the matched
pairs. A typo or another spelling of a name moves a few bits, not the match. The
libraries pin cryptography below what this package needs, so they run as a worker in
an environment of their own (`.venv-linkage`, made by scripts/setup.sh): Parquet in,
Parquet out.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl

from suptech.federation.workers import worker_python

WORKER = Path(__file__).with_name("linkage_worker.py")
#: The fields a person is matched on (an agreement for linkage names them).
LINKED = ("name", "birth_date", "address")
#: Dice similarity from which two people are taken as one. Set on two simulated pairs of
#: populations (tests/test_linkage.py's, seeds 4 and 11): the same person written
#: another way (upper case, run together, "Rd.", a letter dropped) scored 0.955 and
#: above, strangers with common surnames, streets and cities 0.85 at most.
THRESHOLD = 0.9


def _run(*args: str) -> None:
    python = worker_python(".venv-linkage", "SUPTECH_LINKAGE_PYTHON")
    done = subprocess.run([str(python), str(WORKER), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"record-linkage worker failed: {done.stderr[-800:]}")


def normalised(people: pl.DataFrame) -> pl.DataFrame:
    """name, birth_date (YYYY-MM-DD), address as every region writes them: lower case,
    no punctuation, one space; a pinyin name's spaces gone ("Zhang San", "ZHANG  san"
    and "zhangsan" are one); common address words shortened alike."""
    def clean(c: str) -> pl.Expr:
        return (pl.col(c).fill_null("").str.to_lowercase()
                .str.replace_all(r"[^\w\s]", " ").str.replace_all(r"\s+", " ").str.strip_chars())
    address = clean("address")
    for word, short in (("road", "rd"), ("street", "st"), ("avenue", "ave"), ("district", "dist")):
        address = address.str.replace_all(rf"\b{word}\b", short)
    return people.select(clean("name").str.replace_all(" ", "").alias("name"),
                         pl.col("birth_date").cast(pl.String).str.slice(0, 10),
                         address.alias("address"))


def encode(people: pl.DataFrame, secret: str, work: Path) -> pl.DataFrame:
    """The people (name, birth_date, address) as CLKs, one `clk` (bytes) a row, in order."""
    work.mkdir(parents=True, exist_ok=True)
    source, out = work / "people.parquet", work / "clks.parquet"
    if re.search(r"\s", secret) or not secret:
        raise ValueError("a campaign's secret is one word, not empty")
    normalised(people).write_parquet(source)
    try:
        _run("encode", str(source), str(out), secret)
    finally:
        source.unlink(missing_ok=True)  # the plaintext never stays on disk
    return pl.read_parquet(out)


def match(a: pl.DataFrame, b: pl.DataFrame, work: Path,
          threshold: float = THRESHOLD) -> pl.DataFrame:
    """a, b, similarity: the rows of two regions' CLKs taken as the same person, each
    row at most once."""
    work.mkdir(parents=True, exist_ok=True)
    a.write_parquet(work / "a.parquet")
    b.write_parquet(work / "b.parquet")
    _run("match", str(work / "a.parquet"), str(work / "b.parquet"), str(work / "pairs.parquet"),
         str(threshold))
    return pl.read_parquet(work / "pairs.parquet")
