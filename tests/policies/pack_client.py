"""Talks to the real policy pack over gRPC, launched exactly as the CLI launches it.

``PackClient`` starts one pack process; ``analyze`` sends each resource through Analyze and the whole
set through AnalyzeStack, and returns the diagnostics as ``Finding`` tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pulumi.runtime.proto import analyzer_pb2

from preflight.analyzer import PolicyPackProcess, analyze_request, stack_resource
from preflight.recorder import RecordedResource, Recording

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
PROJECT, STACK = "aws-compute", "test"


class Finding(NamedTuple):
    policy: str
    urn: str
    message: str
    level: int


def as_recorded(type_: str, props: Mapping[str, Any], name: str = "r", **extra: Any) -> RecordedResource:
    """A resource as the preflight would record it, for sending through the pack."""
    return RecordedResource(
        urn=extra.get("urn", f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"), type=type_, name=name,
        parent=extra.get("parent", ""), custom=True, id=extra.get("id", f"{name}-id"), inputs=dict(props),
        outputs=dict(extra.get("outputs", props)), dependencies=list(extra.get("dependencies", [])),
        property_dependencies=dict(extra.get("property_dependencies", {})),
        options={"protect": False, "retainOnDelete": False, "ignoreChanges": [], "deleteBeforeReplace": False,
                 "provider": ""})


class PackClient:
    def __init__(self, policy_config: Mapping[str, Any] | None = None):
        self._config = dict(policy_config or {"all": "mandatory"})
        self._process = PolicyPackProcess(PACK_DIR, PROJECT, STACK, {})

    def __enter__(self) -> PackClient:
        self._process.__enter__()
        self.info = self._process.info()
        self._process.configure(self.info, self._config)
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.__exit__(*exc)

    def configure(self, policy_config: Mapping[str, Any]) -> None:
        self._process.configure(self.info, dict(policy_config))

    def analyze(self, resources: Iterable[RecordedResource], stack: bool = True) -> list[Finding]:
        recording = Recording(PROJECT, STACK, list(resources))
        by_urn = recording.by_urn()
        stub = self._process.stub
        responses = [(r.urn, stub.Analyze(analyze_request(r, by_urn))) for r in recording.resources]
        if stack:
            resources = [stack_resource(r, by_urn) for r in recording.resources]
            request = analyzer_pb2.AnalyzeStackRequest(resources=resources)
            responses.append(("", stub.AnalyzeStack(request)))
        # The engine attributes a resource policy's diagnostic to the analyzed resource.
        return [Finding(d.policyName, d.urn or urn, d.message, d.enforcementLevel)
                for urn, response in responses for d in response.diagnostics]
