"""``kizuna identity rules show|check``: the rules as code, printed and validated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def kizuna(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_the_printed_defaults_are_a_valid_rules_file(tmp_path: Path) -> None:
    shown = kizuna("identity", "rules", "show")
    assert shown.returncode == 0, shown.stderr
    rules = json.loads(shown.stdout)
    assert rules["priority"][:2] == ["user_id", "email"]
    assert rules["default_phone_region"] == "JP"

    edited = {**rules, "version": 2, "unique": ["user_id", "loyalty_card"]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(edited))
    checked = kizuna("identity", "rules", "check", str(path))
    assert checked.returncode == 0, checked.stderr
    assert "version 2" in checked.stdout


def test_an_inconsistent_rules_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"unique": ["passport"]}))

    checked = kizuna("identity", "rules", "check", str(path))

    assert checked.returncode == 1
    assert "unique names types not in priority: ['passport']" in checked.stderr
