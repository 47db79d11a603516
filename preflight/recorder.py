"""Runs the Pulumi program under mocks and records every registration the way the engine sees it.

The SDK's MockMonitor is close to the engine but not the same: it builds URNs differently, registers
no default providers, and leaves resource references in the inputs. The RecordingMonitor below does
what the engine would do on those points, so that the policy pack sees what it would see in a real
``pulumi preview``.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from . import fakes

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ROOT_TYPE = "pulumi:pulumi:Stack"


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    id: str
    inputs: dict[str, Any]
    """Wire-form (camelCase) inputs: references replaced by IDs, secrets kept as secret objects."""
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    options: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)
    """Where the program created it: ``{"file": path relative to the project directory, "line": n}``."""

    @property
    def provider_ref(self) -> str:
        return self.options.get("provider") or ""


@dataclass
class Recording:
    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    directory: str = ""
    """The project's directory, which ``source`` files are relative to."""

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]


class FakeCloud(pulumi_mocks.Mocks):
    """Answers invokes and creates resources with realistic IDs and ARNs in one region."""

    def __init__(self, region: str):
        self.region = region
        self.provider_regions: dict[str, str] = {}
        """Explicit providers' regions by provider reference: their resources live there, not in ours."""

    def call(self, args: pulumi_mocks.MockCallArgs):
        region = self.provider_regions.get(args.provider or "", self.region)
        return fakes.answer_invoke(args.token, args.args, region)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if not args.custom:
            return "", {}
        region = self.provider_regions.get(args.provider, self.region)
        return fakes.fake_outputs(args.typ, args.name, args.inputs, region)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, cloud: FakeCloud, project: str, stack: str, provider_config: Mapping[str, dict[str, str]]):
        super().__init__(cloud)
        self.recording = Recording(project, stack)
        self._project = project
        self._stack = stack
        self._provider_config = provider_config
        self._default_providers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._root_urn = ""

    # URNs as the engine builds them: the root stack's type is left out of its children's.
    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent and parent != self._root_urn:
            type_ = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{self._stack}::{self._project}::{type_}::{name}"

    def RegisterResource(self, request):
        if request.type == ROOT_TYPE:
            self._root_urn = self.make_urn("", ROOT_TYPE, request.name)
            return resource_pb2.RegisterResourceResponse(urn=self._root_urn)
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = downgrade_references(json_format.MessageToDict(request.object))
        inputs = self._apply_stack_transforms(request, inputs)
        provider = request.provider
        if request.custom and not provider and not request.type.startswith("pulumi:providers:"):
            provider = self._default_provider(request.type.split(":")[0], request.version)
        resource_id, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=provider,
            resource_id=request.importId, custom=bool(request.custom)))
        if request.type == "pulumi:providers:aws" and isinstance(inputs.get("region"), str):
            self.mocks.provider_regions[f"{urn}::{resource_id}"] = inputs["region"]
        self._record(RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent="" if request.parent == self._root_urn else request.parent,
            custom=bool(request.custom),
            id=resource_id or "",
            inputs=inputs,
            outputs=state,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            options=_options_of(request, provider),
            source=source_of(request, self.recording.directory),
        ))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        obj = struct_pb2.Struct()
        json_format.ParseDict(_plain(state), obj)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj)

    def RegisterResourceOutputs(self, request):
        if request.urn == self._root_urn:
            self.recording.outputs = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)

    def _record(self, resource: RecordedResource) -> None:
        with self._lock:
            self.recording.resources.append(resource)

    def _default_provider(self, package: str, version: str) -> str:
        """The engine registers one default provider per package and version; so do we."""
        with self._lock:
            if package in self._default_providers:
                return self._default_providers[package]
            name = "default_" + version.replace(".", "_") if version else "default"
            type_ = f"pulumi:providers:{package}"
            urn = self.make_urn("", type_, name)
            provider_id = str(uuid.uuid5(uuid.NAMESPACE_URL, urn))
            inputs = {**self._provider_config.get(package, {}), **({"version": version} if version else {})}
            self.recording.resources.append(RecordedResource(
                urn=urn, type=type_, name=name, parent="", custom=True, id=provider_id, inputs=inputs,
                outputs=dict(inputs), dependencies=[], property_dependencies={},
                options={"protect": False, "retainOnDelete": False, "ignoreChanges": [],
                         "deleteBeforeReplace": False, "provider": ""},
            ))
            ref = f"{urn}::{provider_id}"
            self._default_providers[package] = ref
            return ref

    def _apply_stack_transforms(self, request, inputs: dict[str, Any]) -> dict[str, Any]:
        """Stack transforms registered by the program run on every resource, as the engine runs them."""
        for transform in self._stack_transforms:
            result = transform(pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name,
                props=dict(inputs), opts=pulumi.ResourceOptions()))
            if result is not None and result.props is not None:
                inputs = dict(result.props)
        return inputs


def _options_of(request, provider: str) -> dict[str, Any]:
    return {
        "protect": bool(request.protect),
        "retainOnDelete": bool(request.retainOnDelete),
        "ignoreChanges": list(request.ignoreChanges),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        "provider": provider,
        "additionalSecretOutputs": list(request.additionalSecretOutputs),
    }


def source_of(request, project_dir: str) -> dict[str, Any]:
    """The program line that created the resource, as the SDK reports it (the caller of the resource's
    constructor); when that caller is an installed library, the program's own call into it."""
    frames = [frame.pc for frame in request.stackTrace.frames if frame.pc.uri]
    if not frames and request.HasField("sourcePosition") and request.sourcePosition.uri:
        frames = [request.sourcePosition]
    own = [pc for pc in frames if not {"site-packages", "dist-packages"} & set(_path_of(pc.uri).parts)]
    position = (own or frames or [None])[0]
    if position is None or not project_dir:
        return {}
    return {"file": Path(os.path.relpath(_path_of(position.uri), project_dir)).as_posix(), "line": position.line}


def _path_of(uri: str) -> Path:
    return Path(url2pathname(urlparse(uri).path))


def downgrade_references(value: Any) -> Any:
    """Replace resource references by the ID (or URN when there is none), as the engine does before
    Analyze; keep secret objects, which the policy SDK unwraps itself."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == RESOURCE_SIG:
            return value.get("id") or value.get("urn", "")
        return {k: downgrade_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [downgrade_references(v) for v in value]
    return value


def reveal(value: Any, secret_text: str | None = None) -> Any:
    """The value with secret wrappers removed (or replaced by ``secret_text`` when given)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return secret_text if secret_text is not None else reveal(value.get("value"))
        return {k: reveal(v, secret_text) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, secret_text) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class ProgramError(Exception):
    """The program failed for a reason other than a policy: bad config, a bug, an unanswered invoke."""


def _shadowed_modules(project_dir: Path) -> dict[str, Any]:
    """Modules already imported (by the preflight itself, say ``components``) under a name that the project
    provides from its own files: the program must import the project's, as it would under the CLI."""
    own = {path.stem if path.suffix == ".py" else path.name for path in project_dir.iterdir()
           if path.suffix == ".py" or (path / "__init__.py").exists()}
    shadowed = {}
    for name, module in list(sys.modules.items()):
        top = name.split(".", 1)[0]
        location = getattr(module, "__file__", None) or ""
        if top in own and location and not Path(location).resolve().is_relative_to(project_dir.resolve()):
            shadowed[name] = sys.modules.pop(name)
    return shadowed


@contextmanager
def _program_environment(project_dir: Path):
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    shadowed = _shadowed_modules(project_dir)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n.split(".", 1)[0] in {s.split(".", 1)[0] for s in shadowed}]:
            del sys.modules[name]  # the project's own copies, imported by the program
        sys.modules.update(shadowed)


def run_program(project_dir: Path, project: str, stack: str, config: Mapping[str, str],
                secret_keys: list[str], main: str = "__main__.py") -> Recording:
    """Run ``main`` under mocks with the flattened stack config; return everything it registered.

    Raises ProgramError with the program's own message (a config error, a failed invoke, a bug).
    """
    region = config.get("aws:region", "us-east-1")
    provider_config = {"aws": {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("aws:")}}
    monitor = RecordingMonitor(FakeCloud(region), project, stack, provider_config)
    monitor.recording.directory = str(project_dir.absolute())
    pulumi_settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi_settings.ROOT.set(None)  # run_in_stack creates the root stack itself, as the language host does
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    program = project_dir / main
    with _program_environment(project_dir):
        try:
            _sync_await(run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__")))
        except pulumi.RunError as error:
            raise ProgramError(str(error)) from None
        except fakes.UnansweredInvoke as error:
            raise ProgramError(str(error)) from None
        except Exception as error:  # a bug in the program: say where, without the SDK's internals
            raise ProgramError(f"the program failed: {type(error).__name__}: {error}") from error
    # Registrations arrive from several threads; sort so reports and documents are stable.
    monitor.recording.resources.sort(key=lambda r: r.urn)
    return monitor.recording
