"""The probabilistic matcher: a Fellegi-Sunter model trained and run by Splink on DuckDB.

Splink is the field's reference for this job: it learns, without labels, how much each
agreement or disagreement says (u from random pairs, m by expectation maximisation), adjusts
for how common a value is (two 佐藤 agree less than two 勅使河原), and scores millions of
pairs in DuckDB. What is ours is the input: names as reading keys, dates, phones, postcodes and
addresses normalised the Japanese way (``normalise.py``), and the choice of comparisons and
blocking rules below.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from kizuna.matching.records import COMPARED, Table

Progress = Callable[[str], None]


# Pairs that share one of these are scored; a true pair is missed only if noise broke them all.
_BLOCKING = (("dob",), ("phone",), ("email",), ("name_key",), ("postcode", "surname"),
             ("address",))  # fmt: skip
# Pairs that are almost surely one person (for the prior: how many pairs are matches at all).
_DETERMINISTIC = (("email",), ("phone",), ("name_key", "dob"))
# Below this many records, chance agreement is taken from the reference model, not measured.
MIN_RECORDS_TO_ESTIMATE = 2_000


@dataclass(frozen=True, slots=True)
class MatchedPair:
    left_id: str
    right_id: str
    probability: float


def _name_comparisons() -> list[Any]:
    """Surname and given name as two pieces of evidence, so a family (same surname, other
    given names) does not pass for one person written twice. A given name written in kanji on
    one side only has an uncertain reading (陽翔: Haruto or Yōshō), so that disagreement gets a
    level of its own; columns swapped on one side count as agreement."""
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname").configure(tf_adjustment_column="surname"),
            cll.ColumnsReversedLevel("surname", "given_name"),
            cll.JaroWinklerLevel("surname", 0.92),
            cll.JaroWinklerLevel("surname", 0.85),
            cll.ElseLevel(),
        ],
    )
    given = cl.CustomComparison(
        output_column_name="given_name",
        comparison_levels=[
            cll.NullLevel("given_name"),
            cll.ExactMatchLevel("given_name").configure(tf_adjustment_column="given_name"),
            cll.ColumnsReversedLevel("given_name", "surname"),
            cll.JaroWinklerLevel("given_name", 0.92),
            cll.JaroWinklerLevel("given_name", 0.85),
            cll.CustomLevel(
                "(given_kanji_l IS NULL) <> (given_kanji_r IS NULL)",
                label_for_charts="Kanji on one side only: the reading may differ",
            ),
            cll.ElseLevel(),
        ],
    )
    return [surname, given]


def _place_comparison() -> Any:
    """Address and postcode as one comparison: they say the same thing twice, and counting
    it twice would make everyone at one address one person."""
    return cl.CustomComparison(
        output_column_name="place",
        comparison_levels=[
            cll.And(cll.NullLevel("address"), cll.NullLevel("postcode"), cll.NullLevel("landline")),
            cll.ExactMatchLevel("address"),
            cll.JaroWinklerLevel("address", 0.95),
            cll.JaroWinklerLevel("address", 0.85),
            cll.ExactMatchLevel("landline"),
            cll.ExactMatchLevel("postcode"),
            cll.ElseLevel(),
        ],
    )


def _email_comparison() -> Any:
    """Emails: the same address, or one typo away. Not "the same user name at another
    domain": such names are made of the person's name and birth year (koji.oda72@), so
    namesakes share them and the name comparison has already counted that agreement."""
    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email").configure(tf_adjustment_column="email"),
            cll.DamerauLevenshteinLevel("email", 2),
            cll.ElseLevel(),
        ],
    )


def _comparisons(present: set[str]) -> list[Any]:
    comparisons: list[Any] = []
    if "name_key" in present:
        comparisons += _name_comparisons()
    if "dob" in present:
        comparisons.append(
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d")
        )
    if "email" in present:
        comparisons.append(_email_comparison())
    if "phone" in present:
        comparisons.append(cl.LevenshteinAtThresholds("phone", [1]))
    if {"address", "postcode", "landline"} & present:
        comparisons.append(_place_comparison())
    return comparisons


HOUSEHOLD_PENALTY = 10.0  # bits taken off a pair that looks like two people of one home


def _household_guard(present: set[str]) -> str:
    """SQL: two given names that are not variants of each other (nor swapped columns), at one
    address or on one home line. Fellegi-Sunter adds surname, address, home phone and (for
    twins and many spouses) birth date as if independent; in a home they are not, and only
    the given name tells the people apart, so such pairs lose ``HOUSEHOLD_PENALTY`` bits. A
    true pair whose given name was misread (kanji on one side) keeps its other evidence: the
    benchmark measured the trade (docs/matching.md)."""
    home = [f"{c}_l = {c}_r" for c in ("address", "landline") if c in present]
    if not home or "name_key" not in present:
        return "FALSE"
    return f"""(given_name_l IS NOT NULL AND given_name_r IS NOT NULL
        AND jaro_winkler_similarity(given_name_l, given_name_r) < 0.92
        AND NOT (given_name_l = surname_r AND surname_l = given_name_r)
        AND ({" OR ".join(home)}))"""


def _present(tables: Sequence[Table]) -> set[str]:
    return {c for c in COMPARED if any(any(v for v in t[c]) for t in tables)}


def _rules(keys: Sequence[tuple[str, ...]], present: set[str]) -> list[Any]:
    return [block_on(*k) for k in keys if set(k) <= present]


REFERENCE_MODEL = Path(__file__).with_name("reference_model.json")
# a comparison in the model -> the column it needs
_NAMES = {"surname", "given_name"}
_NEEDS = {
    "surname": _NAMES,
    "given_name": _NAMES,
    "dob": {"dob"},
    "email": {"email"},
    "phone": {"phone"},
    "place": {"address", "postcode", "landline"},
}


def size_prior(sizes: Sequence[int]) -> float:
    """How likely two records are one person before comparing them, from the tables' sizes.

    A list holds about 0.36 duplicate pairs per record (the reference data's rate), so a dedupe
    of n records has about 0.72 / n; in a link, about half the records of the smaller table
    have their person in the larger one.
    """
    if len(sizes) == 2:
        return min(0.5, 0.5 / max(max(sizes), 1))
    return min(0.5, 0.72 / max(sizes[0], 1))


def settings(
    link: bool, present: set[str], model: Path | None, prior: float | None = None
) -> SettingsCreator:
    """The model's settings for these tables: the reference model's weights when given
    (comparisons on columns the tables lack are dropped), else untrained comparisons."""
    blocking = _rules(_BLOCKING, present)
    link_type: Any = "link_only" if link else "dedupe_only"
    if model is None:
        return SettingsCreator(
            link_type=link_type,
            comparisons=_comparisons(present),
            blocking_rules_to_generate_predictions=blocking,
            retain_matching_columns=True,
            max_iterations=20,
        )
    trained = json.loads(model.read_text(encoding="utf-8"))
    trained["link_type"] = link_type
    trained["comparisons"] = [
        c for c in trained["comparisons"] if _NEEDS.get(c["output_column_name"], set()) & present
    ]
    trained["blocking_rules_to_generate_predictions"] = blocking
    trained["retain_matching_columns"] = True
    trained.pop("linker_uid", None)
    if prior is not None:
        trained["probability_two_random_records_match"] = prior
    return SettingsCreator.from_path_or_dict(trained)


def find_matches(
    tables: Sequence[Table],
    *,
    threshold: float = 0.5,
    progress: Progress | None = None,
    model: Path | None = REFERENCE_MODEL,
    train: bool = False,
    seed: int = 1,
) -> list[MatchedPair]:
    """Candidate pairs above ``threshold``: within one table (dedupe) or across two (link).

    The reference model's m (how often a true pair agrees at each level) is kept unless
    ``train`` re-estimates it by expectation maximisation on these tables; u (how often two
    different people agree by chance) and the prior are always estimated on these tables when
    they are large enough to say (below that, the reference model's u and a prior from the
    tables' sizes). For a link, ``left_id`` is from the first table.
    """
    say = progress or (lambda _: None)
    started = time.perf_counter()

    def step(text: str) -> None:
        say(f"[{time.perf_counter() - started:6.1f}s] {text}")

    link = len(tables) == 2
    present = _present(tables)
    records = sum(len(t["unique_id"]) for t in tables)
    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    db_api = DuckDBAPI(connection)
    frames = [
        db_api.register(table, dataset_display_name=f"records_{n}", table_name=f"records_{n}")
        for n, table in enumerate(tables)
    ]
    prior = size_prior([len(t["unique_id"]) for t in tables])
    chosen = settings(link, present, None if train else model, prior)
    linker = Linker(frames if link else frames[0], chosen, log_level=logging.WARNING)
    if records >= MIN_RECORDS_TO_ESTIMATE or train:
        step(f"estimating chance agreement on {records:,} records")
        deterministic = _rules(_DETERMINISTIC, present)
        if deterministic:
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    if train:
        step("estimating agreement of true pairs (expectation maximisation)")
        for keys in (("dob",), ("name_key",)):
            if set(keys) <= present:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*keys), estimate_without_term_frequencies=True
                )
    step("scoring candidate pairs")
    predictions = linker.inference.predict(
        threshold_match_probability=min(threshold, 0.01), warning_mode="never"
    )
    guarded = _household_guard(present)
    rows = connection.execute(
        f"""
        SELECT unique_id_l, unique_id_r, {"source_dataset_l" if link else "''"},
               CASE WHEN {guarded} THEN 1 / (1 + pow(2, ?::DOUBLE - match_weight))
                    ELSE match_probability END AS probability
        FROM {predictions.physical_name}
        WHERE probability >= ?
        """,
        [HOUSEHOLD_PENALTY, threshold],
    ).fetchall()
    step(f"{len(rows):,} pairs at or above {threshold}")
    pairs = []
    for left, right, dataset, probability in rows:
        left, right = str(left), str(right)
        if link and dataset != "records_0":
            left, right = right, left
        pairs.append(MatchedPair(left, right, float(probability)))
    connection.close()
    return sorted(pairs, key=lambda p: (-p.probability, p.left_id, p.right_id))
