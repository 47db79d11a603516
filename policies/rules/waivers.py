"""Waivers: a named resource exempted from a named policy, with a reason, in the policy config.

A waiver lives in the config of the policy it exempts from, so the engine validates it against that
policy's schema like any other knob::

    "no-world-ssh": {"enforcementLevel": "mandatory",
                     "waivers": [{"resource": "bastion-*", "reason": "INC-123: vendor access until May",
                                  "expires": "2027-05-31"}]}

``resource`` is a shell-style pattern matched against the resource's name and its URN. A waived
finding is never dropped silently: the policy does not report it, and ``waived-findings`` reports it
instead, as advisory, with the reason. A waiver that matched nothing, or has expired, is reported by
``waivers-match-resources``. Both read the ledger that the other policies fill while the engine sends
them resources; the engine calls AnalyzeStack after every Analyze, so the ledger is complete by then.
"""

from __future__ import annotations

import datetime
import fnmatch
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Resource, Stack, stack_rule

WAIVERS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "default": [],
    "description": "Resources exempted from this policy, each with the reason and an optional expiry date.",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["resource", "reason"],
        "properties": {
            "resource": {"type": "string", "minLength": 1,
                         "description": "resource name or URN; shell-style wildcards (*, ?) allowed"},
            "reason": {"type": "string", "minLength": 10,
                       "description": "why the exemption is acceptable, with a ticket or owner"},
            "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$",
                        "description": "YYYY-MM-DD; from this day on the waiver no longer applies"},
        },
    },
}
WAIVED_PREFIX = "waived "


@dataclass(frozen=True)
class Waiver:
    policy: str
    resource: str
    reason: str
    expires: str = ""

    def expired(self, today: datetime.date) -> bool:
        return bool(self.expires) and datetime.date.fromisoformat(self.expires) <= today

    def covers(self, resource: Resource) -> bool:
        return fnmatch.fnmatchcase(resource.name, self.resource) or fnmatch.fnmatchcase(resource.urn, self.resource)


@dataclass(frozen=True)
class WaivedFinding:
    waiver: Waiver
    resource: Resource
    message: str


def waivers_of(policy: str, config: Mapping[str, Any]) -> list[Waiver]:
    """The waivers in a policy's config; the engine has already checked them against WAIVERS_SCHEMA."""
    found = []
    for item in config.get("waivers") or []:
        if isinstance(item, Mapping) and item.get("resource") and item.get("reason"):
            found.append(Waiver(policy, str(item["resource"]), str(item["reason"]), str(item.get("expires") or "")))
    return found


class Ledger:
    """What the policies have waived so far in this pack process, and which waivers they were given."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._given: dict[Waiver, None] = {}
        self._waived: dict[tuple[Waiver, str, str], WaivedFinding] = {}  # keyed so a re-analysis adds nothing

    def given(self, waivers: Iterable[Waiver]) -> None:
        with self._lock:
            self._given.update(dict.fromkeys(waivers))

    def waive(self, finding: WaivedFinding) -> None:
        with self._lock:
            self._waived[(finding.waiver, finding.resource.urn, finding.message)] = finding

    def waived(self) -> list[WaivedFinding]:
        with self._lock:
            return sorted(self._waived.values(), key=lambda f: (f.waiver.policy, f.resource.urn, f.message))

    def unmatched(self) -> list[Waiver]:
        with self._lock:
            used = {key[0] for key in self._waived}
            return [waiver for waiver in self._given if waiver not in used]


LEDGER = Ledger()


def unwaived(policy: str, resource: Resource, messages: Iterable[str], config: Mapping[str, Any],
             today: datetime.date | None = None, ledger: Ledger = LEDGER) -> list[str]:
    """The messages to report for ``resource``: those no active waiver covers. Waived ones go to the ledger."""
    today = today or datetime.date.today()
    waivers = waivers_of(policy, config)
    ledger.given(waivers)
    active = [w for w in waivers if not w.expired(today) and w.covers(resource)]
    reported = []
    for message in messages:
        if active:
            ledger.waive(WaivedFinding(active[0], resource, message))
        else:
            reported.append(message)
    return reported


@stack_rule(
    name="waived-findings",
    description="Lists every finding that a waiver in the policy config exempted, with the waiver's reason.",
    severity="low",
    enforcement="advisory",
    controls=["catalog:waivers"],
    remediation="Nothing to do while the reason holds; remove the waiver from policies/config/<env>.json once "
                "the resource is fixed.",
)
def waived_findings(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    for finding in LEDGER.waived():
        waiver = finding.waiver
        until = f", until {waiver.expires}" if waiver.expires else ""
        yield finding.resource, (f"{WAIVED_PREFIX}{waiver.policy} (reason: {waiver.reason}{until}): "
                                 f"{finding.message}")


@stack_rule(
    name="waivers-match-resources",
    description="Ensure every waiver in the policy config matches a resource and has not expired.",
    severity="low",
    enforcement="advisory",
    controls=["catalog:waivers"],
    remediation="Fix the waiver's resource pattern (a resource name such as 'bastion-sg' or a URN pattern such "
                "as '*::aws:ec2/securityGroup:SecurityGroup::bastion-*'), or delete the waiver.",
)
def waivers_match_resources(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    root = Resource("pulumi:pulumi:Stack", {}, "", "")
    today = datetime.date.today()
    for waiver in LEDGER.unmatched():
        why = f"expired on {waiver.expires}" if waiver.expired(today) else "matches no resource that it would exempt"
        yield root, f"the waiver of {waiver.policy} for resource '{waiver.resource}' {why}"
