"""The record-linkage worker: run by `suptech.federation.linkage` in its own environment
(`.venv-linkage`: clkhash and anonlink, whose pins conflict with the main one's), with
only those libraries and pyarrow; Parquet in, Parquet out.

    python linkage_worker.py encode PEOPLE.parquet CLKS.parquet SECRET
    python linkage_worker.py match CLKS_A.parquet CLKS_B.parquet PAIRS.parquet THRESHOLD
"""

import sys

import pyarrow as pa
import pyarrow.parquet as pq

#: Names and addresses by bigrams, birth dates digit by digit in place: a typo or a
#: spelling moves a few bits of the filter, not all of them.
SCHEMA = {
    "version": 3,
    "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64}},
    "features": [
        {"identifier": "name", "format": {"type": "string", "encoding": "utf-8"},
         "hashing": {"comparison": {"type": "ngram", "n": 2},
                     "strategy": {"bitsPerToken": 20}, "hash": {"type": "doubleHash"}}},
        {"identifier": "birth_date", "format": {"type": "date", "format": "%Y-%m-%d"},
         "hashing": {"comparison": {"type": "ngram", "n": 1, "positional": True},
                     "strategy": {"bitsPerToken": 30}, "hash": {"type": "doubleHash"}}},
        {"identifier": "address", "format": {"type": "string", "encoding": "utf-8"},
         "hashing": {"comparison": {"type": "ngram", "n": 2},
                     "strategy": {"bitsPerToken": 8}, "hash": {"type": "doubleHash"}}},
    ],
}


def encode(people: str, out: str, secret: str) -> None:
    from clkhash import clk, schema

    table = pq.read_table(people, columns=["name", "birth_date", "address"])
    rows = list(zip(*(table.column(c).to_pylist() for c in ("name", "birth_date", "address"))))
    clks = clk.generate_clks(rows, schema.from_json_dict(SCHEMA), secret)
    pq.write_table(pa.table({"clk": pa.array([c.tobytes() for c in clks], pa.binary())}), out)


def match(a: str, b: str, out: str, threshold: str) -> None:
    import anonlink
    from bitarray import bitarray

    def clks(path):
        found = []
        for raw in pq.read_table(path).column("clk").to_pylist():
            bits = bitarray()
            bits.frombytes(raw)
            found.append(bits)
        return found

    candidates = anonlink.candidate_generation.find_candidate_pairs(
        [clks(a), clks(b)], anonlink.similarities.dice_coefficient_accelerated,
        float(threshold))
    similarity = {(int(i), int(j)): float(s) for s, (_, _), (i, j) in zip(
        candidates[0], zip(*candidates[1]), zip(*candidates[2]))}
    groups = [sorted(g) for g in anonlink.solving.greedy_solve(candidates) if len(g) == 2]
    pairs = sorted((int(g[0][1]), int(g[1][1])) for g in groups)  # (dataset, record)
    pq.write_table(pa.table({"a": [i for i, _ in pairs], "b": [j for _, j in pairs],
                             "similarity": [similarity[p] for p in pairs]}), out)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"encode": encode, "match": match}[command](*args)
