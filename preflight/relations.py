"""How recorded resources refer to each other: by URN (parents, dependencies, property dependencies) and by the
IDs and ARNs that the engine put in their inputs in place of resource references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .recorder import RecordedResource, Recording


class Relations:
    """Lookups over one recording: a resource by URN, by ID or ARN, and the resources an input refers to."""

    def __init__(self, recording: Recording):
        self.recording = recording
        self.by_urn = recording.by_urn()
        self._by_identity: dict[str, RecordedResource] = {}
        for resource in recording.resources:
            for identity in (resource.id, resource.outputs.get("arn")):
                if isinstance(identity, str) and identity:
                    self._by_identity.setdefault(identity, resource)

    def find(self, identity: Any) -> RecordedResource | None:
        """The resource whose ID or ARN is ``identity``."""
        return self._by_identity.get(identity) if isinstance(identity, str) else None

    def referenced(self, resource: RecordedResource) -> Iterator[tuple[str, RecordedResource]]:
        """(input key, resource) for every resource that ``resource``'s inputs refer to: through property
        dependencies first, then through IDs and ARNs found anywhere in the inputs (an ARN inside a longer string,
        such as an integration URI, counts)."""
        seen: set[tuple[str, str]] = set()
        for key, urns in resource.property_dependencies.items():
            for urn in urns:
                target = self.by_urn.get(urn)
                if target is not None and (key, urn) not in seen:
                    seen.add((key, urn))
                    yield key, target
        for key, value in resource.inputs.items():
            for text in _strings(value):
                target = self.find(text) or self._embedded_arn(text)
                if target is not None and target.urn != resource.urn and (key, target.urn) not in seen:
                    seen.add((key, target.urn))
                    yield key, target

    def _embedded_arn(self, text: str) -> RecordedResource | None:
        if "arn:" not in text[1:]:
            return None
        start = text.find("arn:", 1)
        for end in (text.find("/invocations", start), len(text)):
            if end > start and (found := self.find(text[start:end])) is not None:
                return found
        return None

    def region_of(self, resource: RecordedResource, default: str) -> str:
        """The region of the resource's provider: an explicit provider's ``region`` input, else ``default``."""
        provider_urn = resource.provider_ref.rsplit("::", 1)[0] if resource.provider_ref else ""
        provider = self.by_urn.get(provider_urn)
        region = provider.inputs.get("region") if provider is not None else None
        return region if isinstance(region, str) and region else default


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
