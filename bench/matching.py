"""Probabilistic matcher benchmark: precision, recall, F1 and time on a labelled Japanese list.

Usage::

    .venv/bin/python bench/matching.py [--people 70000] [--seed 7] [--threshold 0.5] [--no-em]

The list comes from ``kizuna.matching.synthetic`` with a seed other than the reference model's
training seed (typos, every script of a name, swapped and merged name columns, missing values,
moved addresses, new phones and emails, date and phone formats, married names; hard
negatives: namesakes, families at one address). It is written to CSV and deduplicated the way
``kizuna identity dedupe`` does it (read, infer roles, normalise, score), timed end to end.

Printed for each configuration: records, true pairs, predicted pairs, precision, recall, F1,
seconds and peak RSS. Configurations:

- ``reference``: the shipped model (m from labelled synthetic data, u and prior estimated on
  this list) - what ``kizuna identity dedupe`` runs;
- ``em``: no labels at all, m estimated by expectation maximisation on this list
  (``--train``);
- ``link``: the same people split over two files, ``kizuna identity link``;
- baseline in the same run: deterministic matching (same normalised name and birth date, or
  same phone, or same email), the rule a hand-written dedupe usually starts with.

Nothing asserts; results are printed and written to ``bench/results/matching-<ts>.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kizuna.matching.fields import infer_roles  # noqa: E402
from kizuna.matching.model import find_matches  # noqa: E402
from kizuna.matching.records import Table, prepare, read_csv  # noqa: E402
from kizuna.matching.synthetic import generate, split_for_linking, write_csv  # noqa: E402

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
Scored = dict[tuple[str, str], float]


def by_threshold(found: Scored, truth: set[tuple[str, str]]) -> dict[str, Any]:
    return {str(t): scores({k for k, p in found.items() if p >= t}, truth) for t in THRESHOLDS}


def scores(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, Any]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "predicted_pairs": len(predicted),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def load(path: Path) -> Table:
    columns, rows = read_csv(path)
    return prepare(rows, infer_roles(columns, "customer_id"), "customer_id")


def deterministic(table: Table) -> set[tuple[str, str]]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for n, record_id in enumerate(table["unique_id"]):
        name, dob = table["name_key"][n], table["dob"][n]
        assert record_id is not None
        if name and dob:
            groups[("name_dob", f"{name}|{dob}")].append(record_id)
        for column in ("phone", "email"):
            if value := table[column][n]:
                groups[(column, value)].append(record_id)
    pairs: set[tuple[str, str]] = set()
    for ids in groups.values():
        if len(ids) > 50:  # a shared family phone: no rule-writer pairs fifty people on it
            continue
        pairs |= {tuple(sorted((a, b))) for i, a in enumerate(ids) for b in ids[i + 1 :]}  # type: ignore[misc]
    return pairs


def timed(label: str, run: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", file=sys.stderr)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=72_000, help="about 1.39 records each")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=0.95, help="the headline figure")
    parser.add_argument("--no-em", action="store_true", help="skip the unsupervised run")
    args = parser.parse_args()
    data = generate(args.people, seed=args.seed)
    truth = {tuple(sorted(p)) for p in data.true_pairs()}
    work = Path(tempfile.mkdtemp(prefix="kizuna-match-"))
    listing = work / "customers.csv"
    write_csv(listing, data.records)
    results: dict[str, Any] = {
        "people": args.people,
        "records": len(data.records),
        "true_pairs": len(truth),
        "threshold": args.threshold,
    }
    print(f"{len(data.records):,} records, {len(truth):,} true pairs", file=sys.stderr)

    def dedupe(train: bool) -> Scored:
        pairs = find_matches(
            [load(listing)],
            threshold=min(THRESHOLDS),
            train=train,
            progress=lambda t: print("   ", t, file=sys.stderr),
        )
        return {tuple(sorted((p.left_id, p.right_id))): p.probability for p in pairs}  # type: ignore[misc]

    def report(found: Scored, seconds: float) -> dict[str, Any]:
        at = {k for k, p in found.items() if p >= args.threshold}
        return (
            scores(at, truth)
            | {"seconds": round(seconds, 1)}
            | {"by_threshold": by_threshold(found, truth)}
        )

    found, seconds = timed("reference model", lambda: dedupe(False))
    results["reference"] = report(found, seconds)
    if not args.no_em:
        found, seconds = timed("unsupervised (EM)", lambda: dedupe(True))
        results["em"] = report(found, seconds)
    base, seconds = timed("deterministic baseline", lambda: deterministic(load(listing)))
    results["baseline_deterministic"] = scores(base, truth) | {"seconds": round(seconds, 1)}

    left_rows, right_rows = split_for_linking(data, seed=args.seed)
    write_csv(work / "left.csv", left_rows)
    write_csv(work / "right.csv", right_rows)
    left_ids = {r["customer_id"] for r in left_rows}
    cross = {
        (a, b) if a in left_ids else (b, a) for a, b in truth if (a in left_ids) != (b in left_ids)
    }

    def link() -> set[tuple[str, str]]:
        tables = [load(work / "left.csv"), load(work / "right.csv")]
        pairs = find_matches(tables, threshold=args.threshold)
        return {(p.left_id, p.right_id) for p in pairs}

    linked, seconds = timed("link two files", link)
    results["link"] = (
        {"left": len(left_rows), "right": len(right_rows), "true_pairs": len(cross)}
        | scores(linked, cross)
        | {"seconds": round(seconds, 1)}
    )
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"matching-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
