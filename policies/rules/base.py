"""The pack's small framework: a rule is a check function with its metadata beside it.

A resource rule's check takes one ``Resource`` and its config and yields violation messages; a stack
rule's check takes the whole ``Stack`` and yields ``(resource, message)`` pairs. Checks are plain
functions, so tests call them directly; ``to_policy`` wraps them for the pulumi-policy SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
CONTROL_PREFIXES = ("checkov:", "fsbp:", "cis-aws:", "trivy:", "awsguard:", "pulumi-crp:", "catalog:")


@dataclass(frozen=True)
class Resource:
    """What a policy judges: the resource's type token, its camelCase properties, name and URN."""

    type: str
    props: Mapping[str, Any]
    name: str = ""
    urn: str = ""
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default) if isinstance(self.props, Mapping) else default

    @property
    def id(self) -> Any:
        return self.get("id")


@dataclass(frozen=True)
class Stack:
    resources: tuple[Resource, ...]
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def of_type(self, *types: str) -> list[Resource]:
        by_type = self.memo("by type", self._by_type)
        if len(types) == 1:
            return list(by_type.get(types[0], ()))
        # In stack order, as one pass over the stack would give them; built once per set of types.
        return list(self.memo(("of types", types), lambda: [r for r in self.resources if r.type in types]))

    def _by_type(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = {}
        for resource in self.resources:
            index.setdefault(resource.type, []).append(resource)
        return index

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``, once per stack: for indexes that keep relation lookups linear in big stacks."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Stack, Mapping[str, Any]], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: str
    enforcement: str
    controls: tuple[str, ...]
    remediation: str
    check: Callable[..., Iterable[Any]]
    types: tuple[str, ...] = ()
    """Resource types a resource rule applies to; empty for stack rules."""
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """JSON Schema of each config property, each with a default."""
    kind: str = "resource"

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}

    def configured(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self.defaults(), **{k: v for k, v in (given or {}).items() if k != "enforcementLevel"}}

    def evaluate(self, resource: Resource, config: Mapping[str, Any] | None = None) -> list[str]:
        """The messages this resource rule reports for one resource (none when the type does not apply)."""
        if resource.type not in self.types:
            return []
        return list(self.check(resource, self.configured(config)))

    def evaluate_stack(self, stack: Stack, config: Mapping[str, Any] | None = None) -> list[tuple[Resource, str]]:
        return list(self.check(stack, self.configured(config)))


RULES: list[Rule] = []


def _register(rule: Rule) -> Rule:
    if rule.severity not in SEVERITIES:
        raise ValueError(f"{rule.name}: severity must be one of {SEVERITIES}")
    if rule.enforcement not in LEVELS:
        raise ValueError(f"{rule.name}: enforcement must be one of {LEVELS}")
    if any(not c.startswith(CONTROL_PREFIXES) for c in rule.controls):
        raise ValueError(f"{rule.name}: each control tag starts with one of {CONTROL_PREFIXES}")
    if any(r.name == rule.name for r in RULES):
        raise ValueError(f"{rule.name}: a rule of that name is already registered")
    RULES.append(rule)
    return rule


def resource_rule(*, name: str, description: str, severity: str, enforcement: str, controls: Iterable[str],
                  remediation: str, types: Iterable[str],
                  config: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[ResourceCheck], ResourceCheck]:
    def register(check: ResourceCheck) -> ResourceCheck:
        _register(Rule(name, description, severity, enforcement, tuple(controls), remediation, check,
                       tuple(types), dict(config or {}), "resource"))
        return check
    return register


def stack_rule(*, name: str, description: str, severity: str, enforcement: str, controls: Iterable[str],
               remediation: str, config: Mapping[str, Mapping[str, Any]] | None = None
               ) -> Callable[[StackCheck], StackCheck]:
    def register(check: StackCheck) -> StackCheck:
        _register(Rule(name, description, severity, enforcement, tuple(controls), remediation, check, (),
                       dict(config or {}), "stack"))
        return check
    return register


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)


_PACK_CONFIG: dict[str, Mapping[str, Any]] = {}
_DISABLED: set[str] = set()


def remember_pack_config(properties: Mapping[str, Mapping[str, Any]], disabled: Iterable[str]) -> None:
    """The config the engine gave every policy of the pack (its Configure request), kept so that a policy
    that stays quiet on a defect another policy reports can ask what that policy will report."""
    _PACK_CONFIG.clear()
    _PACK_CONFIG.update(properties)
    _DISABLED.clear()
    _DISABLED.update(disabled)


def config_of(name: str) -> dict[str, Any]:
    """Another policy's config as the engine configured it, defaults filled in."""
    return rule_named(name).configured(_PACK_CONFIG.get(name))


def is_enabled(name: str) -> bool:
    """False when the pack's config disables the policy: then it reports nothing, and no other policy may
    leave a defect to it."""
    return name not in _DISABLED


def as_list(value: Any) -> list[Any]:
    """A property that may be missing, one value or a list, as a list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def indexed(items: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(as_list(items))


# During a real preview, inputs that depend on other resources' outputs arrive as these sentinels.
UNKNOWN_SENTINELS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
    "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
    "e48ece36-62e2-4504-bad9-02848725956a",  # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
})


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def shown(value: Any) -> str:
    """A property's value in a message: the value as written, or "not set"."""
    return "not set" if value is None else repr(value)


def require_true(value: Any, path: str) -> Iterator[str]:
    """The finding for a boolean property that must be true: none when it is, unverifiable when unknown."""
    if is_unknown(value):
        yield unverifiable(path)
    elif value is not True:
        yield f"{path} = {shown(value)}; allowed: true"


class Unverifiable(str):
    """A finding that only the update's real values can decide. The pack reports it as advisory, as the SDK
    reports its own unknown values, so that a preview is never blocked by what it cannot see; during the
    update the engine analyzes the resource again with those values, and the policy's level applies."""


def unverifiable(path: str) -> str:
    """The message for a property whose unknown value decides the outcome."""
    return Unverifiable(f"{path} cannot be verified during preview: its value is known only after the update")
