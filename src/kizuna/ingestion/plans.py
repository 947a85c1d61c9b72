"""Tracking plans: JSON Schema per event name and for traits, with an enforcement mode.

A plan document looks like::

    {"events": {"Order Completed": {<JSON Schema of properties>}},
     "traits": {<JSON Schema of identify traits>},
     "unplanned": "allow" | "violation"}

Modes: ``allow`` (not enforced), ``warn`` (stored, violations recorded), ``quarantine`` (held
aside with the reason, replayable) and ``reject`` (the request gets a 400).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from kizuna.privacy.classification import PersonalCategory, plan_marks

PLAN_MODES = ("allow", "warn", "quarantine", "reject")
MAX_VIOLATIONS = 20


class PlanInvalid(ValueError):
    pass


@dataclass(frozen=True)
class CompiledPlan:
    mode: str
    version: int
    events: dict[str, Draft202012Validator] = field(default_factory=dict)
    traits: Draft202012Validator | None = None
    unplanned_is_violation: bool = False
    # Trait properties marked ``"x-kizuna-personal": "<category>"`` (docs/privacy.md).
    personal_traits: dict[str, PersonalCategory] = field(default_factory=dict)

    @property
    def enforced(self) -> bool:
        return self.mode != "allow"

    def violations(self, message: dict[str, Any]) -> list[dict[str, str]]:
        """Every way ``message`` breaks the plan (empty when it conforms)."""
        kind = message.get("type")
        if kind == "track":
            name = message.get("event")
            validator = self.events.get(name) if isinstance(name, str) else None
            if validator is None:
                if self.unplanned_is_violation:
                    return [
                        {
                            "path": "event",
                            "keyword": "unplanned",
                            "message": f"event {name!r} is not in the tracking plan",
                        }
                    ]
                return []
            return _errors(validator, message.get("properties") or {}, "properties")
        if kind == "identify" and self.traits is not None:
            return _errors(self.traits, message.get("traits") or {}, "traits")
        return []


def _errors(validator: Draft202012Validator, instance: Any, root: str) -> list[dict[str, str]]:
    found = []
    for error in validator.iter_errors(instance):
        path = ".".join([root, *(str(p) for p in error.absolute_path)])
        found.append({"path": path, "keyword": str(error.validator), "message": error.message})
        if len(found) >= MAX_VIOLATIONS:
            break
    return found


def compile_plan(plan: dict[str, Any] | None, mode: str, version: int) -> CompiledPlan:
    """Check a plan document and build its validators; raise PlanInvalid with the reason."""
    if mode not in PLAN_MODES:
        raise PlanInvalid(f"mode must be one of {', '.join(PLAN_MODES)}")
    if not plan:
        return CompiledPlan(mode=mode, version=version)
    if not isinstance(plan, dict):
        raise PlanInvalid("a plan is a JSON object")
    unknown = set(plan) - {"events", "traits", "unplanned"}
    if unknown:
        raise PlanInvalid(f"unknown plan keys: {', '.join(sorted(unknown))}")
    events = plan.get("events") or {}
    if not isinstance(events, dict):
        raise PlanInvalid("'events' maps event names to JSON Schemas")
    unplanned = plan.get("unplanned", "allow")
    if unplanned not in ("allow", "violation"):
        raise PlanInvalid("'unplanned' is 'allow' or 'violation'")
    compiled = {name: _validator(schema, f"events.{name}") for name, schema in events.items()}
    traits = plan.get("traits")
    try:
        personal = plan_marks(traits)
    except ValueError as exc:
        raise PlanInvalid(f"traits: {exc}") from exc
    return CompiledPlan(
        mode=mode,
        version=version,
        events=compiled,
        traits=_validator(traits, "traits") if traits is not None else None,
        unplanned_is_violation=unplanned == "violation",
        personal_traits=personal,
    )


def _validator(schema: Any, where: str) -> Draft202012Validator:
    if not isinstance(schema, dict):
        raise PlanInvalid(f"{where}: a JSON Schema is an object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise PlanInvalid(f"{where}: {exc.message}") from exc
    return Draft202012Validator(schema)
