"""Runs the Pulumi program under mocks and records every registration the way the engine sees it.

The SDK's MockMonitor is close to the engine but not the same: it builds URNs differently, registers
no default providers, and leaves resource references in the inputs. The RecordingMonitor below does
what the engine would do on those points, so that the policy pack sees what it would see in a real
``pulumi preview``.
"""

from __future__ import annotations

import contextvars
import os
import runpy
import sys
import threading
import traceback
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
from .fakes import SECRET_SIG, SIG_KEY
from .invokes import GivenAnswer, InvokeArgumentError, OfflineCloud, UnansweredInvoke, matching_answer

RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ROOT_TYPE = "pulumi:pulumi:Stack"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's unknown string: a value computed by the provider, known only after the update."""
STACK_REFERENCE = "pulumi:pulumi:StackReference"
PREVIEW_AS = {
    "deployed": "the preview of an update to a deployed stack: the IDs, ARNs and other outputs the preflight models "
                "have realistic values, as the stack's state would give them; every other computed output is unknown",
    "new": "the first preview of a stack never deployed: every output the provider computes is unknown; only inputs, "
           "auto-names and tags are known",
}
PREFLIGHT_DIR = Path(__file__).resolve().parent


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
    preview_as: str = "deployed"
    """Which preview the run reproduces: a key of PREVIEW_AS."""
    unchecked_components: list[dict[str, Any]] = field(default_factory=list)
    """Packaged (multi-language) components, each ``{urn, type, name, source}``: their children are created by
    the package's plugin, which cannot run offline, so no policy sees them."""
    stack_references: list[dict[str, Any]] = field(default_factory=list)
    """Each ``pulumi.StackReference`` the program made: ``{name, urn, outputs: "given" | "unknown"}``."""

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]


_INVOKE_SITE: contextvars.ContextVar[str] = contextvars.ContextVar("preflight_invoke_site", default="")
"""The program line that made the invoke being answered (the SDK answers it on another thread)."""


class FakeCloud(pulumi_mocks.Mocks):
    """Answers invokes and creates resources with realistic IDs and ARNs in one region."""

    def __init__(self, region: str, given_answers: Mapping[str, list[GivenAnswer]] | None = None):
        self.region = region
        self.provider_regions: dict[str, str] = {}
        """Explicit providers' regions by provider reference: their resources live there, not in ours."""
        self.given_answers = dict(given_answers or {})
        self.clouds: dict[str, OfflineCloud] = {}
        self.failed_invokes: list[Exception] = []
        """Invokes that could not be answered, first first: the program may swallow or wrap the error."""

    def call(self, args: pulumi_mocks.MockCallArgs):
        given = self.given_answers.get(args.token)
        result = matching_answer(given, args.args) if given else None
        if result is not None:
            return dict(result)
        region = self.provider_regions.get(args.provider or "", self.region)
        cloud = self.clouds.setdefault(region, OfflineCloud(region))
        try:
            return cloud.answer(args.token, args.args)
        except UnansweredInvoke as error:
            failure: Exception = UnansweredInvoke(args.token, _INVOKE_SITE.get(), error.reason)
        except InvokeArgumentError as error:
            site = _INVOKE_SITE.get()
            failure = InvokeArgumentError(args.token, f"{error} (called at {site})" if site else str(error))
        self.failed_invokes.append(failure)
        # Answered as a provider's failure, which the SDK raises in the program, not in the monitor's thread.
        return {}, [("", str(failure))]

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if not args.custom:
            return "", {}
        region = self.provider_regions.get(args.provider, self.region)
        return fakes.fake_outputs(args.typ, args.name, args.inputs, region)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, cloud: FakeCloud, project: str, stack: str, provider_config: Mapping[str, dict[str, str]],
                 preview_as: str = "deployed", stack_outputs: Mapping[str, dict[str, Any]] | None = None):
        super().__init__(cloud)
        self.recording = Recording(project, stack, preview_as=preview_as)
        self.stack_outputs = dict(stack_outputs or {})
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
        state = secret_outputs(state, request.additionalSecretOutputs)
        if self.recording.preview_as == "new" and request.custom and not request.type.startswith("pulumi:providers:"):
            resource_id, state = "", planned_state(inputs, state)
        if request.remote:
            self._record_unchecked(urn, request)
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

    def ReadResource(self, request):
        """A stack reference reads another stack's outputs: those the user gave (--stack-outputs), else unknown,
        as a preview of a stack whose referenced stack the preflight cannot reach. Other reads as the SDK's."""
        if request.type != STACK_REFERENCE:
            return super().ReadResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        outputs = self.stack_outputs.get(request.id)
        properties = {"name": request.id}
        if outputs is not None:
            properties.update(outputs=outputs, secretOutputNames=[])
        with self._lock:
            self.recording.stack_references.append(
                {"name": request.id, "urn": urn, "outputs": "given" if outputs is not None else "unknown"})
        obj = struct_pb2.Struct()
        json_format.ParseDict(_plain(properties), obj)
        return resource_pb2.ReadResourceResponse(urn=urn, id=request.id, properties=obj)

    def _record_unchecked(self, urn: str, request) -> None:
        with self._lock:
            self.recording.unchecked_components.append({
                "urn": urn, "type": request.type, "name": request.name,
                "source": source_of(request, self.recording.directory)})

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


PLAN_KNOWN = frozenset({"name", "tagsAll"})
"""Outputs a provider knows at plan time: the auto-name its Check adds, the tags merged with the defaults."""


def secret_outputs(state: dict[str, Any], names) -> dict[str, Any]:
    """The state with the outputs the resource declares secret (``additional_secret_outputs``, which the
    providers' SDKs set for passwords and keys) wrapped as secrets, as the engine returns them."""
    wrapped = dict(state)
    for name in names:
        value = wrapped.get(name)
        if value is not None and not (isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG):
            wrapped[name] = {SIG_KEY: SECRET_SIG, "value": value}
    return wrapped


def planned_state(inputs: dict[str, Any], created: dict[str, Any]) -> dict[str, Any]:
    """The state a preview plans for a resource to be created: its inputs as given, and every output the
    provider computes unknown, as ``pulumi preview`` has it."""
    state = dict(inputs)
    for key, value in created.items():
        if key not in state:
            state[key] = value if key in PLAN_KNOWN else UNKNOWN
    return state


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
                secret_keys: list[str], main: str = "__main__.py", *, preview_as: str = "deployed",
                invoke_answers: Mapping[str, list[GivenAnswer]] | None = None,
                stack_outputs: Mapping[str, dict[str, Any]] | None = None) -> Recording:
    """Run ``main`` under mocks with the flattened stack config, as ``pulumi preview`` runs it (``preview_as``: a
    key of PREVIEW_AS); return everything it registered.

    Raises ProgramError with the program's own message and line (a config error, a failed invoke, a bug).
    """
    if preview_as not in PREVIEW_AS:
        raise ValueError(f"preview_as: {preview_as!r}; allowed: {', '.join(PREVIEW_AS)}")
    region = config.get("aws:region", "us-east-1")
    provider_config = {"aws": {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("aws:")}}
    cloud = FakeCloud(region, invoke_answers)
    monitor = RecordingMonitor(cloud, project, stack, provider_config, preview_as, stack_outputs)
    monitor.recording.directory = str(project_dir.absolute())
    pulumi_settings.ROOT.set(None)
    # preview=True: outputs the mocks leave out are unknown and callbacks on them are skipped, as in a preview.
    pulumi_mocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor)
    pulumi_settings.ROOT.set(None)  # run_in_stack creates the root stack itself, as the language host does
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    program = project_dir / main
    notes = PreviewNotes(project_dir)
    with _program_environment(project_dir), _tracking_invokes(notes):
        try:
            _sync_await(run_in_stack(lambda: runpy.run_path(str(program), run_name="__main__")))
        except pulumi.RunError as error:
            raise ProgramError(str(error)) from None
        except Exception as error:  # a bug in the program, or an invoke it could not get answered: say where
            raise ProgramError(program_failure(error, project_dir, cloud.failed_invokes, notes, monitor.recording)) \
                from None
    # Registrations arrive from several threads; sort so reports and documents are stable.
    monitor.recording.resources.sort(key=lambda r: r.urn)
    return monitor.recording


# --- Where the program failed ------------------------------------------------------------------------------

def is_program_file(filename: str, project_dir: Path) -> bool:
    """A file of the program itself: under its directory, neither an installed library nor the preflight."""
    path = Path(filename)
    if not path.is_absolute() or {"site-packages", "dist-packages"} & set(path.parts):
        return False
    resolved = path.resolve()
    return resolved.is_relative_to(project_dir.resolve()) and not resolved.is_relative_to(PREFLIGHT_DIR)


def program_site(project_dir: Path, frames: list[traceback.FrameSummary] | None = None) -> str:
    """``file:line`` of the innermost program frame (relative to the project), or "" when there is none."""
    frames = traceback.extract_stack() if frames is None else frames
    own = [f for f in frames if is_program_file(f.filename, project_dir)]
    return _site(own[-1], project_dir) if own else ""


class PreviewNotes:
    """What the run saw that explains a None in the program: invokes whose arguments were unknown (a plain
    invoke then returns None during a preview) and answers given without fields the SDK reads."""

    def __init__(self, project_dir: Path):
        self.project_dir = project_dir
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self.lines:
            self.lines.append(line)


@contextmanager
def _tracking_invokes(notes: PreviewNotes):
    """Wrap the SDK's invoke entry points so that each answer knows the program line that asked for it."""
    runtime = pulumi.runtime
    originals = {name: getattr(runtime, name) for name in ("invoke", "invoke_single", "invoke_output",
                                                           "invoke_output_single", "invoke_async")}

    def tracked(name, original):
        def invoke(tok, *args, **kwargs):
            site = program_site(notes.project_dir)
            reset = _INVOKE_SITE.set(site)
            try:
                result = original(tok, *args, **kwargs)
            finally:
                _INVOKE_SITE.reset(reset)
            if name in ("invoke", "invoke_single") and not getattr(result, "is_known", True):
                notes.add(f"{site or 'the program'}: the invoke '{tok}' had an argument that is unknown during "
                          f"preview (an output not yet computed), so it returned None")
            return result
        return invoke

    for name, original in originals.items():
        setattr(runtime, name, tracked(name, original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(runtime, name, original)


def program_failure(error: BaseException, project_dir: Path, failed_invokes: list[Exception], notes: PreviewNotes,
                    recording: Recording) -> str:
    """The message for a failed program: an unanswered invoke as the invoke's own error; otherwise the program's
    file and line, the error, and why a value there may be None or unknown during a preview."""
    first_invoke = failed_invokes[0] if failed_invokes else None
    if first_invoke is not None and _caused_by(error, first_invoke):
        return str(first_invoke)
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if is_program_file(f.filename, project_dir)]
    where, site = "", ""
    if own:
        frame = own[-1]
        site = _site(frame, project_dir)
        where = f" at {site}" + (f" (in {frame.name})" if frame.name != "<module>" else "")
        callers = [_site(f, project_dir) for f in reversed(own[:-1])]
        where += "".join(f", called from {caller}" for caller in callers)
        where += f"\n    {frame.line}" if frame.line else ""
    message = f"the program failed{where}\n  {type(error).__name__}: {error}"
    here = [line for line in notes.lines if site and line.startswith(site + ":")]
    if here:
        message += "\n  during preview, " + "\n  ".join(here)
    elif "NoneType" in str(error) or "None" in str(error).split():
        message += "\n  " + _none_hint(notes, recording)
    if first_invoke is not None:
        message += f"\n  before that, {first_invoke}"
    return message


def _site(frame: traceback.FrameSummary, project_dir: Path) -> str:
    return f"{Path(os.path.relpath(frame.filename, project_dir)).as_posix()}:{frame.lineno}"


def _caused_by(error: BaseException, cause: Exception) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if seen is cause or str(cause) in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _none_hint(notes: PreviewNotes, recording: Recording) -> str:
    reasons = list(notes.lines)
    unknown_references = [r["name"] for r in recording.stack_references if r["outputs"] == "unknown"]
    if unknown_references:
        reasons.append("stack references whose outputs are unknown: " + ", ".join(unknown_references) +
                       " (give them with --stack-outputs NAME=FILE.json)")
    head = ("a value there was None. During a preview, outputs the provider computes are unknown: callbacks on "
            "them are skipped, but a value read outside a callback (a plain invoke's result, a field the offline "
            "answer lacks) can be None")
    if reasons:
        return head + ". Here:\n    - " + "\n    - ".join(reasons)
    return head + "; give invoke results with --invoke-answers FILE.json and another stack's outputs with " \
                  "--stack-outputs NAME=FILE.json"
