"""The probabilistic matcher: a Fellegi-Sunter model trained and run by Splink on DuckDB.

Splink is the field's reference for this job: it learns, without labels, how much each
agreement or disagreement says (u from random pairs, m by expectation maximisation), adjusts
for how common a value is (two 佐藤 agree less than two 勅使河原), and scores millions of
pairs in DuckDB. What is ours is the input: names as reading keys, dates, phones, postcodes and
addresses normalised the Japanese way (``normalise.py``), and the choice of comparisons and
blocking rules below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from kizuna.matching.records import COMPARED, Table

Progress = Callable[[str], None]


# Pairs that share one of these are scored; a true pair is missed only if noise broke them all.
_BLOCKING = (("dob",), ("phone",), ("email",), ("name_key",), ("postcode", "surname"),
             ("address",))  # fmt: skip
# Pairs that are almost surely one person (for the prior: how many pairs are matches at all).
_DETERMINISTIC = (("email",), ("phone",), ("name_key", "dob"))


@dataclass(frozen=True, slots=True)
class MatchedPair:
    left_id: str
    right_id: str
    probability: float


def _comparisons(present: set[str]) -> list[Any]:
    comparisons: list[Any] = []
    if {"surname", "given_name"} & present:
        comparisons.append(
            cl.ForenameSurnameComparison(
                "given_name",
                "surname",
                jaro_winkler_thresholds=[0.92, 0.85],
                forename_surname_concat_col_name="name_key",
            )
        )
    if "dob" in present:
        comparisons.append(
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d")
        )
    if "email" in present:
        comparisons.append(cl.EmailComparison("email"))
    if "phone" in present:
        comparisons.append(cl.LevenshteinAtThresholds("phone", [1]))
    if "postcode" in present:
        comparisons.append(cl.LevenshteinAtThresholds("postcode", [1]))
    if "address" in present:
        comparisons.append(cl.JaroWinklerAtThresholds("address", [0.95, 0.85]))
    return comparisons


def _present(tables: Sequence[Table]) -> set[str]:
    return {c for c in COMPARED if any(any(v for v in t[c]) for t in tables)}


def _rules(keys: Sequence[tuple[str, ...]], present: set[str]) -> list[Any]:
    return [block_on(*k) for k in keys if set(k) <= present]


def find_matches(
    tables: Sequence[Table],
    *,
    threshold: float = 0.5,
    progress: Progress | None = None,
    seed: int = 1,
) -> list[MatchedPair]:
    """Candidate pairs above ``threshold``: within one table (dedupe) or across two (link).

    For a link, ``left_id`` is always from the first table and ``right_id`` from the second.
    """
    say = progress or (lambda _: None)
    started = time.perf_counter()

    def step(text: str) -> None:
        say(f"[{time.perf_counter() - started:6.1f}s] {text}")

    link = len(tables) == 2
    present = _present(tables)
    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    db_api = DuckDBAPI(connection)
    frames = [
        db_api.register(table, dataset_display_name=f"records_{n}", table_name=f"records_{n}")
        for n, table in enumerate(tables)
    ]
    settings = SettingsCreator(
        link_type="link_only" if link else "dedupe_only",
        comparisons=_comparisons(present),
        blocking_rules_to_generate_predictions=_rules(_BLOCKING, present),
        retain_matching_columns=False,
        max_iterations=20,
    )
    linker = Linker(frames if link else frames[0], settings, log_level=logging.WARNING)
    step(f"training on {sum(len(t['unique_id']) for t in tables):,} records")
    deterministic = _rules(_DETERMINISTIC, present)
    if deterministic:
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for keys in (("dob",), ("name_key",)):
        if set(keys) <= present:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*keys), estimate_without_term_frequencies=True
            )
    step("scoring candidate pairs")
    predictions = linker.inference.predict(
        threshold_match_probability=threshold, warning_mode="never"
    )
    rows = predictions.as_duckdbpyrelation().fetchall()
    columns = predictions.as_duckdbpyrelation().columns
    step(f"{len(rows):,} pairs at or above {threshold}")
    at = {name: i for i, name in enumerate(columns)}
    pairs = []
    for row in rows:
        left, right = str(row[at["unique_id_l"]]), str(row[at["unique_id_r"]])
        if link and row[at["source_dataset_l"]] != "records_0":
            left, right = right, left
        pairs.append(MatchedPair(left, right, float(row[at["match_probability"]])))
    connection.close()
    return sorted(pairs, key=lambda p: (-p.probability, p.left_id, p.right_id))
