"""Tagging: the tags a team requires on every resource it can tag, for ownership and cost reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import Resource, Stack, is_unknown, stack_rule, unverifiable


def tags_of(resource: Resource) -> dict[str, Any] | None:
    """The tags AWS will hold for the resource, None when nothing says it takes tags. ``tagsAll`` (an output of
    every taggable resource) includes the provider's default tags; an Auto Scaling group writes its tags as a
    list of {key, value, propagateAtLaunch}."""
    for key in ("tagsAll", "tags"):
        tags = resource.get(key)
        if isinstance(tags, Mapping):
            return dict(tags)
        if isinstance(tags, list):
            return {t.get("key"): t.get("value") for t in tags if isinstance(t, Mapping)}
    return None


@stack_rule(
    name="required-tags",
    description="Ensure every resource that carries tags carries the tags the team requires (by default "
                "Project, Environment and ManagedBy), each with a value.",
    severity="low",
    enforcement="advisory",
    controls=["catalog:tags"],
    remediation="Add the tags to the resource's tags argument, or for a whole program register a stack "
                "transform that adds them: pulumi.runtime.register_resource_transform(...).",
    config={"requiredTags": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True,
                             "default": ["Project", "Environment", "ManagedBy"],
                             "description": "tag keys every taggable resource must carry"}},
)
def required_tags(stack: Stack, config: Mapping[str, Any]) -> Iterable[tuple[Resource, str]]:
    required = [key for key in config.get("requiredTags") or [] if isinstance(key, str)]
    for resource in stack.resources:
        if not resource.type.startswith("aws:"):
            continue
        if is_unknown(resource.get("tags")):
            yield resource, unverifiable("tags")
            continue
        tags = tags_of(resource)
        if tags is None:
            continue  # takes no tags, as far as the engine says
        missing = [key for key in required if not (isinstance(tags.get(key), str) and tags[key].strip())
                   and not is_unknown(tags.get(key))]
        if missing:
            yield resource, f"tags lack {', '.join(missing)}; allowed: tags with a value for each of {required}"
