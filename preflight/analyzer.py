"""Drives a policy pack over the Analyzer gRPC protocol, the way the Pulumi engine does.

Launch: ``<python> -u -m pulumi.policy <engineAddress> <packDir>`` with cwd the pack dir and the
PULUMI_* environment the language host sets; the pack prints its port on the first line.
Then: Handshake and ConfigureStack (UNIMPLEMENTED tolerated), GetAnalyzerInfo, Configure with every
policy at an explicit enforcement level, Analyze per resource, AnalyzeStack once, Cancel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from .recorder import RecordedResource, Recording

LEVELS = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
          "remediate": analyzer_pb2.REMEDIATE, "disabled": analyzer_pb2.DISABLED}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
SEVERITY_NAMES = {0: "", 1: "low", 2: "medium", 3: "high", 4: "critical"}
POLICY_KINDS = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource", analyzer_pb2.POLICY_TYPE_STACK: "stack"}
MAX_MESSAGE = 400 * 1024 * 1024
ENGINE_ADDRESS = "127.0.0.1:0"  # a Python pack never dials the engine; the CLI passes its own address


class PolicyPackError(Exception):
    """The pack could not be launched, or its config is invalid."""


@dataclass
class Violation:
    policy_pack: str
    policy: str
    enforcement_level: str
    severity: str
    urn: str
    resource_type: str
    resource_name: str
    description: str
    message: str
    tags: list[str] = field(default_factory=list)
    remediation: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "policyPack": self.policy_pack,
            "policy": self.policy,
            "enforcementLevel": self.enforcement_level,
            "severity": self.severity,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "message": self.message,
            "description": self.description,
            "tags": self.tags,
            "remediation": self.remediation,
        }


@dataclass
class PackResult:
    name: str
    version: str
    path: str
    policies: list[dict[str, Any]]
    violations: list[Violation]
    not_applicable: list[dict[str, str]] = field(default_factory=list)
    config: str = ""
    """The policy config file that set the levels; empty when they are the pack's defaults."""


def pack_version(pack_dir: Path) -> str:
    """The engine shows the version from PulumiPolicy.yaml (the Python SDK always reports 0.0.1)."""
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    return str(project.get("version", "0.0.1"))


def pack_python(pack_dir: Path) -> str:
    """The interpreter the language host would pick: the pack's configured virtualenv, else ours."""
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    runtime = project.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    venv = options.get("virtualenv")
    if venv:
        # Not resolve(): a venv's python is a symlink, and following it loses the venv.
        candidate = os.path.abspath(pack_dir / venv / "bin" / "python")
        if os.path.exists(candidate):
            return candidate
    return sys.executable


class PolicyPackProcess:
    """One running policy pack and a gRPC channel to it. Use as a context manager."""

    def __init__(self, pack_dir: Path, project: str, stack: str, config: dict[str, str], dry_run: bool = True):
        self.pack_dir = pack_dir.resolve()
        self.display_path = os.path.relpath(self.pack_dir)
        self._env = {
            **os.environ,
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_ORGANIZATION": "organization",
            "PULUMI_DRY_RUN": "true" if dry_run else "false",
            "PULUMI_CONFIG": json.dumps(config),
        }
        self._project, self._stack, self._config, self._dry_run = project, stack, config, dry_run
        self._process: subprocess.Popen[str] | None = None
        self._channel: grpc.Channel | None = None
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None

    def __enter__(self) -> PolicyPackProcess:
        self._process = subprocess.Popen(
            [pack_python(self.pack_dir), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, str(self.pack_dir)],
            cwd=self.pack_dir, env=self._env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        port_line = self._process.stdout.readline().strip()
        if not port_line.isdigit():
            self._process.kill()
            stderr = self._process.stderr.read()
            raise PolicyPackError(f"policy pack {self.display_path} did not start: {stderr.strip() or port_line}")
        options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port_line}", options=options)
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._handshake()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.stub is not None:
                self.stub.Cancel(empty_pb2.Empty(), timeout=5)
        except grpc.RpcError:
            pass
        if self._channel is not None:
            self._channel.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def _handshake(self) -> None:
        for call, request in (
            (self.stub.Handshake, analyzer_pb2.AnalyzerHandshakeRequest(
                engine_address=ENGINE_ADDRESS, root_directory=str(self.pack_dir),
                program_directory=str(self.pack_dir))),
            (self.stub.ConfigureStack, analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self._stack, project=self._project, organization="organization", dry_run=self._dry_run,
                config=self._config)),
        ):
            try:
                call(request)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure(self, info: analyzer_pb2.AnalyzerInfo, file_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        reconciled = reconcile_policy_config(info, file_config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in reconciled.items():
            properties = struct_pb2.Struct()
            json_format.ParseDict(entry["properties"], properties)
            request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[entry["enforcementLevel"]], properties=properties))
        self.stub.Configure(request)
        return reconciled

    def analyze_all(self, recording: Recording, workers: int = 8) -> list[analyzer_pb2.AnalyzeResponse]:
        by_urn = recording.by_urn()
        requests = [analyze_request(r, by_urn) for r in recording.resources]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.stub.Analyze, requests))

    def analyze_stack(self, recording: Recording) -> analyzer_pb2.AnalyzeResponse:
        by_urn = recording.by_urn()
        request = analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(r, by_urn) for r in recording.resources])
        return self.stub.AnalyzeStack(request)


def reconcile_policy_config(info: analyzer_pb2.AnalyzerInfo, file_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The engine's reconciliation: policy defaults, then the pack's initial config, then the file
    ("all" first, then per policy); each policy's properties validated against its schema."""
    result: dict[str, dict[str, Any]] = {}
    initial = {name: json_format.MessageToDict(cfg, preserving_proto_field_name=True)
               for name, cfg in info.initialConfig.items()}
    unknown = sorted(set(file_config) - {p.name for p in info.policies} - {"all", "environments"})
    if unknown:
        raise PolicyPackError(f"policy config names unknown policies: {', '.join(unknown)}")
    errors: list[str] = []
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties) if policy.configSchema else {}
        properties = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        level = LEVEL_NAMES[policy.enforcementLevel]
        if policy.name in initial:
            properties.update(initial[policy.name].get("properties", {}))
        if "all" in file_config:
            level = _level_of(file_config["all"], "all", errors) or level
        entry = file_config.get(policy.name)
        if isinstance(entry, str):
            level = _level_of(entry, policy.name, errors) or level
        elif isinstance(entry, dict):
            entry = dict(entry)
            if "enforcementLevel" in entry:
                level = _level_of(entry.pop("enforcementLevel"), policy.name, errors) or level
            properties.update(entry)
        elif entry is not None:
            errors.append(f"{policy.name}: expected an enforcement level or an object, got {entry!r}")
        full_schema = {"type": "object", "properties": schema, "required": list(policy.configSchema.required)}
        for problem in jsonschema.Draft7Validator(full_schema).iter_errors(properties):
            where = ".".join(str(p) for p in problem.absolute_path)
            errors.append(f"{policy.name}: {where + ': ' if where else ''}{problem.message}")
        result[policy.name] = {"enforcementLevel": level, "properties": properties}
    if errors:
        raise PolicyPackError("invalid policy config:\n  - " + "\n  - ".join(errors))
    return result


def _level_of(value: Any, where: str, errors: list[str]) -> str | None:
    if isinstance(value, str) and value in LEVELS:
        return value
    errors.append(f"{where}: enforcement level must be one of {', '.join(LEVELS)}, got {value!r}")
    return None


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = resource.options
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=opts.get("protect", False), ignoreChanges=opts.get("ignoreChanges", []),
        deleteBeforeReplace=opts.get("deleteBeforeReplace", False),
        deleteBeforeReplaceDefined=bool(opts.get("deleteBeforeReplace")),
        additionalSecretOutputs=opts.get("additionalSecretOutputs", []), parent=resource.parent)


def _provider(resource: RecordedResource, by_urn: dict[str, RecordedResource]) -> analyzer_pb2.AnalyzerProviderResource:
    ref = resource.provider_ref
    provider = by_urn.get(ref.rsplit("::", 1)[0]) if ref else None
    if provider is None:
        return analyzer_pb2.AnalyzerProviderResource()
    return analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.inputs),
                                                 urn=provider.urn, name=provider.name)


def analyze_request(resource: RecordedResource, by_urn: dict[str, RecordedResource]) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(type=resource.type, properties=_struct(resource.inputs), urn=resource.urn,
                                       name=resource.name, options=_options(resource),
                                       provider=_provider(resource, by_urn))


def stack_resource(resource: RecordedResource, by_urn: dict[str, RecordedResource]) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type, properties=_struct(resource.outputs), urn=resource.urn, name=resource.name,
        options=_options(resource), provider=_provider(resource, by_urn), parent=resource.parent,
        dependencies=resource.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in resource.property_dependencies.items()})


def violations_of(responses: list[tuple[str, analyzer_pb2.AnalyzeResponse]], info: analyzer_pb2.AnalyzerInfo,
                  by_urn: dict[str, RecordedResource]) -> list[Violation]:
    """Each response paired with the URN the engine attributes its unattributed diagnostics to: the
    analyzed resource for Analyze, the root stack for AnalyzeStack."""
    tags = {p.name: list(p.tags) for p in info.policies}
    remediation = {p.name: p.remediation_steps for p in info.policies}
    found = []
    for default_urn, response in responses:
        for diag in response.diagnostics:
            urn = diag.urn if diag.urn in by_urn else default_urn
            resource = by_urn.get(urn)
            found.append(Violation(
                policy_pack=diag.policyPackName or info.name, policy=diag.policyName,
                enforcement_level=LEVEL_NAMES.get(diag.enforcementLevel, "advisory"),
                severity=SEVERITY_NAMES.get(diag.severity, ""), urn=urn,
                resource_type=resource.type if resource else "pulumi:pulumi:Stack",
                resource_name=resource.name if resource else urn.rsplit("::", 1)[-1],
                description=diag.description, message=own_message(diag.message, diag.description),
                tags=tags.get(diag.policyName, []), remediation=remediation.get(diag.policyName, "")))
    return found


def own_message(message: str, description: str) -> str:
    """The policy's own words: the Python SDK prefixes every message with the policy's description, which the
    report shows beside it anyway."""
    if description and message.startswith(description):
        return message[len(description):].lstrip("\n")
    return message


def run_pack(pack_dir: Path, recording: Recording, config: dict[str, str], file_config: dict[str, Any]) -> PackResult:
    """Launch the pack, configure it, analyze every resource and the stack; return what it found."""
    with StartingPack(pack_dir, recording.project, recording.stack, config, file_config) as pack:
        return pack.analyze(recording)


class StartingPack:
    """A pack launched, handshaken and configured in a thread, so that its start-up overlaps the program's run
    (the engine, too, starts the analyzers before the program); ``analyze`` then waits for it. Everything the
    start needs (project, stack, config, the policy config) is known before the program runs. Use as a context
    manager: leaving it stops the pack, whether or not it was used."""

    def __init__(self, pack_dir: Path, project: str, stack: str, config: dict[str, str],
                 file_config: dict[str, Any], config_path: str = ""):
        self.version = pack_version(pack_dir)
        self.config_path = config_path
        self._process = PolicyPackProcess(pack_dir, project, stack, config)
        self._file_config = file_config
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="policy-pack-start", daemon=True)

    def __enter__(self) -> StartingPack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()
        self._process.__exit__(*exc)  # stops whatever the start got to, even after a failed start

    def _start(self) -> None:
        try:
            self._process.__enter__()
            self.info = self._process.info()
            self.reconciled = self._process.configure(self.info, self._file_config)
        except BaseException as error:  # re-raised in the caller's thread by analyze()
            self._error = error

    def analyze(self, recording: Recording) -> PackResult:
        """Every resource and the stack analyzed, once the pack is ready; the pack's start-up error if any."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        pack, info = self._process, self.info
        root_urn = f"urn:pulumi:{recording.stack}::{recording.project}::pulumi:pulumi:Stack::" \
                   f"{recording.project}-{recording.stack}"
        responses = list(zip([r.urn for r in recording.resources], pack.analyze_all(recording), strict=True))
        responses.append((root_urn, pack.analyze_stack(recording)))
        violations = violations_of(responses, info, recording.by_urn())
        policies = [{"name": p.name, "severity": SEVERITY_NAMES.get(p.severity, ""),
                     "enforcementLevel": self.reconciled[p.name]["enforcementLevel"], "tags": list(p.tags),
                     "description": p.description, "remediation": p.remediation_steps,
                     "kind": POLICY_KINDS.get(p.policy_type, "")} for p in info.policies]
        not_applicable = [{"policy": n.policy_name, "reason": n.reason, "urn": urn}
                          for urn, r in responses for n in r.not_applicable]
        return PackResult(info.name, self.version, pack.display_path, policies, violations, not_applicable,
                          self.config_path)
