"""Train the reference model shipped with Kizuna: ``python -m kizuna.matching.training``.

m (how often a true pair agrees at each comparison level) is counted on a labelled synthetic
list (``synthetic.py``: Japanese names in every script, typos, moves, missing values, hard
negatives); u and the prior are estimated again on every list the matcher runs on, so only
the error patterns of true pairs come from here. The benchmark evaluates on a different seed.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import duckdb
from splink import DuckDBAPI, Linker

from kizuna.matching.model import REFERENCE_MODEL, settings
from kizuna.matching.records import COMPARED, prepare
from kizuna.matching.synthetic import COLUMNS, generate

TRAINING_SEED = 101


def train(people: int, seed: int, output: Path) -> dict[str, object]:
    data = generate(people, seed=seed)
    roles = {c: c for c in COLUMNS if c != "customer_id"}
    table = prepare(data.records, roles, "customer_id")
    table["person"] = [str(data.person_of[str(i)]) for i in table["unique_id"]]
    connection = duckdb.connect()
    db_api = DuckDBAPI(connection)
    frame = db_api.register(table, table_name="training")
    linker = Linker(frame, settings(False, set(COMPARED), None), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_m_from_label_column("person")
    records = len(table["unique_id"])
    true_pairs = len(data.true_pairs())
    prior = true_pairs / (records * (records - 1) / 2)
    model = linker.misc.save_model_to_json()
    model["probability_two_random_records_match"] = prior
    output.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    connection.close()
    return {"records": records, "true_pairs": true_pairs, "prior": prior, "model": model}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=TRAINING_SEED)
    parser.add_argument("--output", type=Path, default=REFERENCE_MODEL)
    args = parser.parse_args()
    result = train(args.people, args.seed, args.output)
    print(f"{result['records']:,} records, {result['true_pairs']:,} true pairs -> {args.output}")


if __name__ == "__main__":
    main()
