"""The whole stack config: root keys, one section per layer, and the rules that span sections."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .aws_catalog import region_problem
from .base import _MISSING, PROJECT, ConfigError, Problem, Section, full_key, parse_section, setting
from .ci import CiSettings
from .fleet import FleetSettings, alarm_topic_in_stack_region, fleet_problems, listener_rule_priorities_unique
from .function import FunctionSettings, function_name_fits
from .load_balancer import LoadBalancerSettings, certificate_in_stack_region, certificate_source_problems
from .network import NetworkSettings
from .operations import OperationsSettings, operations_topic_in_stack_region
from .server import ServerSettings, server_stack_problems, server_zone_problems
from .service import ServiceSettings, service_problems

RESERVED_TAGS = ("Project", "Environment", "ManagedBy")
MAX_USER_TAGS = 40  # AWS allows 50 tags per resource; leave room for ours and Name.
_TAG_CHARS = re.compile(r"^[\w .:/=+\-@]*$", re.UNICODE)


class RootSettings(Section):
    environment: Literal["dev", "staging", "prod"] = setting(
        "dev", "Environment of this stack; picks the policy enforcement in policies/config/<environment>.json.",
        "dev | staging | prod",
    )
    tags: tuple[str, ...] = setting(
        (), "Extra tags for every taggable resource, each written Key=Value.",
        f"up to {MAX_USER_TAGS} 'Key=Value' strings; keys 1-128 characters, values up to 256, "
        f"no 'aws:' prefix, not one of {', '.join(RESERVED_TAGS)}",
    )

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > MAX_USER_TAGS:
            raise ValueError(f"{len(value)} tags, {len(value) - MAX_USER_TAGS} over the limit of {MAX_USER_TAGS}")
        seen: set[str] = set()
        for item in value:
            key, sep, tag_value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"'{item}' is not written Key=Value")
            for part, text, limit in (("key", key, 128), ("value", tag_value, 256)):
                if len(text) > limit:
                    raise ValueError(f"the tag {part} of '{key[:20]}{'...' if len(key) > 20 else ''}' is "
                                     f"{len(text)} characters, {len(text) - limit} over AWS's limit of {limit}")
            if key.lower().startswith("aws:") or key in RESERVED_TAGS:
                raise ValueError(f"tag key '{key}' is reserved")
            if not (_TAG_CHARS.match(key) and _TAG_CHARS.match(tag_value)):
                raise ValueError(f"'{item}' holds characters AWS does not allow in tags")
            if key in seen:
                raise ValueError(f"tag key '{key}' is given twice")
            seen.add(key)
        return value


# Each layer adds its section here; the key prefix is the section's name.
SECTIONS: dict[str, type[Section]] = {
    "network": NetworkSettings,
    "server": ServerSettings,
    "loadBalancer": LoadBalancerSettings,
    "fleet": FleetSettings,
    "function": FunctionSettings,
    "service": ServiceSettings,
    "operations": OperationsSettings,
    "ci": CiSettings,
}


class StackConfig(BaseModel):
    """The validated, frozen config of one stack."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    project: str
    stack: str
    region: str
    environment: str
    extra_tags: dict[str, str]
    network: NetworkSettings
    server: ServerSettings
    load_balancer: LoadBalancerSettings = Field(alias="loadBalancer")
    fleet: FleetSettings
    function: FunctionSettings
    service: ServiceSettings
    operations: OperationsSettings
    ci: CiSettings

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def check_zones(self, zones: list[str]) -> None:
        """Rules that need the region's AZs, known only once the program asks AWS for them."""
        problems = [p for rule in ZONE_RULES for p in rule(self, zones)]
        if problems:
            raise ConfigError(problems)


# Rules that need more than one section; each returns the problems it finds.
CrossRule = Callable[[Mapping[str, Any]], Iterable[Problem]]
CROSS_SECTION_RULES: list[CrossRule] = [lambda sections: fleet_problems(sections["fleet"]),
                                        lambda sections: service_problems(sections["service"])]

# Rules that need the whole validated config (region, environment, every section).
StackRule = Callable[["StackConfig"], Iterable[Problem]]
STACK_RULES: list[StackRule] = [certificate_in_stack_region, certificate_source_problems, alarm_topic_in_stack_region,
                                listener_rule_priorities_unique, server_stack_problems, function_name_fits,
                                operations_topic_in_stack_region]


def _enough_zones(config: StackConfig, zones: list[str]) -> Iterable[Problem]:
    if config.network.az_count > len(zones):
        yield Problem(full_key("network", "azCount"), config.network.az_count,
                      f"region {config.region} has only {len(zones)} AZs that need no opt-in "
                      f"({', '.join(zones)}); allowed: 2 to {len(zones)}")


# Rules that need the region's AZs; each layer may add its own.
ZONE_RULES: list[Callable[[StackConfig, list[str]], Iterable[Problem]]] = [_enough_zones, server_zone_problems]


def load_stack_config(raw: Mapping[str, Any], stack: str, secret_keys: Iterable[str] = ()) -> StackConfig:
    """Turn the flat ``namespace:key -> string`` map that Pulumi passes into one StackConfig.

    A secret key's value is opaque where it cannot be decrypted (the preflight): it is not validated, and
    its setting keeps the default. Raises ConfigError naming every bad key at once.
    """
    secret = set(secret_keys)
    grouped, problems = _group_by_section({k: v for k, v in raw.items() if k not in secret})
    root, root_problems = parse_section(RootSettings, "", grouped.pop("", {}))
    problems += root_problems
    sections: dict[str, Any] = {}
    for name, model in SECTIONS.items():
        parsed, section_problems = parse_section(model, name, grouped.get(name, {}))
        problems += section_problems
        sections[name] = parsed
    region = raw.get("aws:region")
    problems += _region_problems(region)
    if all(sections.values()):
        for rule in CROSS_SECTION_RULES:
            problems += list(rule(sections))
    if problems:
        raise ConfigError(problems)
    assert root is not None
    config = StackConfig(
        project=PROJECT,
        stack=stack,
        region=region,
        environment=root.environment,
        extra_tags=dict(item.split("=", 1) for item in root.tags),
        **sections,
    )
    stack_problems = [problem for rule in STACK_RULES for problem in rule(config)]
    if stack_problems:
        raise ConfigError(stack_problems)
    return config


def _group_by_section(raw: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    grouped: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        namespace, _, path = key.partition(":")
        if namespace != PROJECT:
            continue
        section, dot, field = path.partition(".")
        if not dot and path in SECTIONS:
            continue  # the CLI's object of Pulumi.yaml's dotted defaults (workspace.mergeConfig); not the user's
        if not dot:
            section, field = "", path
        if section and section not in SECTIONS:
            problems.append(Problem(key, value, _unknown_section_message(section, field)))
            continue
        grouped.setdefault(section, {})[field] = value
    return grouped, problems


def _unknown_section_message(section: str, field: str) -> str:
    import difflib

    known = [full_key(name, alias) for name, model in SECTIONS.items()
             for alias in (info.alias or n for n, info in model.model_fields.items())]
    close = difflib.get_close_matches(full_key(section, field), known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown key{hint} (sections: {', '.join(sorted(SECTIONS))})"


def _region_problems(region: Any) -> list[Problem]:
    if region is None:
        return [Problem("aws:region", _MISSING, "required; set it with `pulumi config set aws:region us-east-1`")]
    problem = region_problem(region) if isinstance(region, str) else "text expected"
    return [Problem("aws:region", region, f"{problem}; allowed: a region such as us-east-1")] if problem else []
