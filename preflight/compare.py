"""The change between two preflight JSON documents (a base, say from main, and this run): resources added, removed
and changed, and the monthly cost delta, which is what a reviewer of a pull request wants first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonfile import read_json


class CompareError(Exception):
    """A base document that cannot be read or is not a preflight JSON document."""


@dataclass
class Changed:
    urn: str
    fields: list[str]
    """Top-level input keys (or ``type``/``options.<key>``) whose value differs."""


@dataclass
class CostChange:
    urn: str
    base: float
    head: float

    @property
    def delta(self) -> float:
        return self.head - self.base


@dataclass
class Comparison:
    base_name: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    base_monthly: float | None = None
    head_monthly: float | None = None
    cost_changes: list[CostChange] = field(default_factory=list)

    @property
    def monthly_delta(self) -> float | None:
        if self.base_monthly is None or self.head_monthly is None:
            return None
        return self.head_monthly - self.base_monthly

    def as_json(self) -> dict[str, Any]:
        delta = self.monthly_delta
        return {
            "base": self.base_name,
            "added": self.added, "removed": self.removed,
            "changed": [{"urn": c.urn, "fields": c.fields} for c in self.changed],
            "cost": {"baseMonthly": self.base_monthly, "monthly": self.head_monthly,
                     "delta": None if delta is None else round(delta, 2),
                     "resources": [{"urn": c.urn, "baseMonthly": round(c.base, 2), "monthly": round(c.head, 2),
                                    "delta": round(c.delta, 2)} for c in self.cost_changes]},
        }


    def text_lines(self) -> list[str]:
        lines = [f"Change against {self.base_name}: {len(self.added)} added, {len(self.removed)} removed, "
                 f"{len(self.changed)} changed"]
        lines += [f"    + {urn}" for urn in self.added]
        lines += [f"    - {urn}" for urn in self.removed]
        lines += [f"    ~ {c.urn} ({', '.join(c.fields)})" for c in self.changed]
        delta = self.monthly_delta
        if delta is None:
            lines.append("    monthly cost delta: unknown (a document has no cost estimate)")
        else:
            lines.append(f"    monthly cost: {self.base_monthly:.2f} -> {self.head_monthly:.2f} ({delta:+.2f})")
        lines += [f"      {c.delta:+.2f}  {c.urn}" for c in sorted(self.cost_changes, key=lambda c: -abs(c.delta))]
        return lines

    def markdown_lines(self) -> list[str]:
        delta = self.monthly_delta
        cost = "unknown (a document has no cost estimate)" if delta is None else \
            f"{self.base_monthly:.2f} -> {self.head_monthly:.2f} (**{delta:+.2f}** a month)"
        lines = [f"#### Change against `{self.base_name}`", "",
                 f"Monthly cost: {cost}; {len(self.added)} added, {len(self.removed)} removed, "
                 f"{len(self.changed)} changed.", ""]
        rows = [("added", urn, "") for urn in self.added] + [("removed", urn, "") for urn in self.removed]
        rows += [("changed", c.urn, ", ".join(c.fields)) for c in self.changed]
        costs = {c.urn: f"{c.delta:+.2f}" for c in self.cost_changes}
        if rows:
            lines += ["| Change | Resource | Fields | Monthly delta |", "|---|---|---|---|"]
            lines += [f"| {kind} | `{urn}` | {fields} | {costs.get(urn, '')} |" for kind, urn, fields in rows]
        return lines


def load_base(path: Path) -> dict[str, Any]:
    document = read_json(path, "base document", CompareError)
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise CompareError(f"base document {path} is not a preflight JSON document (no 'resources' list); "
                           "allowed: the output of `python -m preflight --format json`")
    return document


def compare(base: dict[str, Any], head: dict[str, Any], base_name: str = "base") -> Comparison:
    """What ``head`` adds, removes and changes relative to ``base``; both are preflight JSON documents."""
    before = {r["urn"]: r for r in base.get("resources", [])}
    after = {r["urn"]: r for r in head.get("resources", [])}
    result = Comparison(base_name, added=sorted(after.keys() - before.keys()),
                        removed=sorted(before.keys() - after.keys()))
    for urn in sorted(before.keys() & after.keys()):
        fields = _changed_fields(before[urn], after[urn])
        if fields:
            result.changed.append(Changed(urn, fields))
    base_cost, head_cost = _costs(base), _costs(head)
    result.base_monthly = (base.get("cost") or {}).get("monthly")
    result.head_monthly = (head.get("cost") or {}).get("monthly")
    for urn in sorted(base_cost.keys() | head_cost.keys()):
        old, new = base_cost.get(urn, 0.0), head_cost.get(urn, 0.0)
        if round(old, 2) != round(new, 2):
            result.cost_changes.append(CostChange(urn, old, new))
    return result


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    fields = []
    if before.get("type") != after.get("type"):
        fields.append("type")
    old_inputs, new_inputs = before.get("inputs") or {}, after.get("inputs") or {}
    fields += sorted(k for k in old_inputs.keys() | new_inputs.keys() if old_inputs.get(k) != new_inputs.get(k))
    old_options, new_options = before.get("options") or {}, after.get("options") or {}
    fields += sorted(f"options.{k}" for k in old_options.keys() | new_options.keys()
                     if old_options.get(k) != new_options.get(k))
    return fields


def _costs(document: dict[str, Any]) -> dict[str, float]:
    return {r["urn"]: float(r["monthly"]) for r in (document.get("cost") or {}).get("resources", [])}
