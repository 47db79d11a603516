"""Renders a preflight result: a preview-like tree and the CLI's Policies block, or a JSON, SARIF, JUnit or
Markdown document. Several of them can be written from one result (see cli.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .analyzer import PackResult, Violation
from .compare import Comparison
from .cost import CostEstimate
from .recorder import UNKNOWN, RecordedResource, Recording, reveal

WAIVED_POLICY = "waived-findings"
WAIVED_MESSAGE = re.compile(r"waived (?P<policy>\S+) \(reason: (?P<reason>.*?)(, until (?P<expires>[0-9-]+))?\): "
                            r"(?P<message>.*)", re.DOTALL)
LEVEL_RANK = {"mandatory": 0, "remediate": 0, "advisory": 1, "disabled": 2}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "": 4}
BLOCKING = ("mandatory", "remediate")


@dataclass
class Coverage:
    """Which resources no policy judged. A pack tells it through the Analyzer protocol: for each resource,
    ``AnalyzeResponse.not_applicable`` names the resource policies that did not judge it (the policy SDK's
    ``args.not_applicable()``). A pack that never marks a policy not applicable gives no such information."""

    known: bool
    resources: list[RecordedResource]
    """The resources policies are meant to judge: custom resources other than providers."""
    unjudged: list[RecordedResource]
    judged_by_policy: dict[str, int]
    """Active policies (per pack, ``pack/policy``) and how many resources each judged; stack policies judge the
    stack as a whole (1) unless they said they did not apply (0)."""

    @property
    def judged(self) -> int:
        return len(self.resources) - len(self.unjudged)

    @property
    def unjudged_types(self) -> list[tuple[str, int]]:
        """``(type, count)`` of the resources no policy judged, most frequent first."""
        return sorted(Counter(r.type for r in self.unjudged).items(), key=lambda item: (-item[1], item[0]))

    @property
    def nothing_judged(self) -> bool:
        return self.known and bool(self.resources) and not self.judged

    def describe(self) -> str:
        if not self.known:
            return ("coverage unknown: the policy pack does not report which resources its policies judge "
                    "(it never marks a policy not applicable)")
        if not self.resources:
            return "no resources for policies to judge"
        return (f"{self.judged} of {len(self.resources)} resources judged by a resource policy or named in a "
                f"finding, {len(self.unjudged)} by none (stack policies report no per-resource coverage)")


def is_judgeable(resource: RecordedResource) -> bool:
    """Policies judge cloud resources: components and providers only group and configure them."""
    return resource.custom and not resource.type.startswith("pulumi:providers:")


def coverage_of(recording: Recording, packs: list[PackResult]) -> Coverage:
    # A packaged component's children are created by its plugin, which cannot run offline: the component stands
    # for them, and is never judged.
    packaged = {c["urn"] for c in recording.unchecked_components}
    resources = [r for r in recording.resources if is_judgeable(r) or r.urn in packaged]
    known = bool(packs) and all(_reports_applicability(pack) for pack in packs)
    analyzed = {r.urn for r in recording.resources}
    judged_by_policy: dict[str, int] = {}
    judged_urns: set[str] = set()
    for pack in packs:
        skipped: dict[str, set[str]] = {}
        for entry in pack.not_applicable:
            skipped.setdefault(entry["policy"], set()).add(entry.get("urn", ""))
        for policy in (p for p in pack.policies if p["enforcementLevel"] != "disabled"):
            name = policy["name"]
            if policy.get("kind") == "stack":
                judged_by_policy[f"{pack.name}/{name}"] = 0 if name in skipped else 1
            else:
                judged = analyzed - skipped.get(name, set())
                judged_urns |= judged
                judged_by_policy[f"{pack.name}/{name}"] = len(judged)
        judged_urns.update(v.urn for v in pack.violations)  # a stack policy's finding judged its resource
    unjudged = [r for r in resources if r.urn not in judged_urns or r.urn in packaged] if known else \
        [r for r in resources if r.urn in packaged]
    return Coverage(known, resources, unjudged, judged_by_policy)


def _reports_applicability(pack: PackResult) -> bool:
    resource_policies = {p["name"] for p in pack.policies if p.get("kind") != "stack"}
    return any(entry["policy"] in resource_policies for entry in pack.not_applicable)


@dataclass
class Result:
    recording: Recording
    packs: list[PackResult]
    cost: CostEstimate | None = None
    comparison: Comparison | None = None
    readiness: list[dict[str, str]] = field(default_factory=list)
    """Config values that cannot work in a real account, each {key, value, message}; never a failure."""
    source_root: str = ""
    """The repository root that SARIF paths are relative to; default: the git work tree holding the project."""
    seconds: float = 0.0
    """How long the run took, for the JUnit report."""

    @property
    def violations(self) -> list[Violation]:
        return [v for pack in self.packs for v in pack.violations]

    def count(self, level: str) -> int:
        """Violations at ``level``. Waived findings are counted apart, as ``waived``, unless a policy config made
        waived-findings mandatory: then they block, as they would in ``pulumi preview``."""
        return sum(1 for v in self.violations if v.enforcement_level == level and
                   not (v.policy == WAIVED_POLICY and level == "advisory"))

    @property
    def reported(self) -> list[Violation]:
        """The violations a report lists one by one, blocking first: those that ``count`` counts."""
        return sorted((v for v in self.violations if not (v.policy == WAIVED_POLICY and
                                                          v.enforcement_level == "advisory")), key=_violation_order)

    @property
    def waived(self) -> list[dict[str, str]]:
        """The findings that waivers exempted, as the pack's waived-findings policy reported them."""
        found = []
        for v in self.violations:
            match = WAIVED_MESSAGE.match(v.message) if v.policy == WAIVED_POLICY else None
            if match:
                found.append({"policy": match["policy"], "urn": v.urn, "resourceName": v.resource_name,
                              "reason": match["reason"], "expires": match["expires"] or "",
                              "message": match["message"]})
        return found

    @property
    def passed(self) -> bool:
        return self.count("mandatory") == 0 and self.count("remediate") == 0

    @cached_property
    def coverage(self) -> Coverage:
        return coverage_of(self.recording, self.packs)

    @property
    def verdict(self) -> str:
        """failed (a mandatory violation), unchecked (no policy judged any resource) or passed."""
        if not self.passed:
            return "failed"
        return "unchecked" if self.coverage.nothing_judged else "passed"


def display_type(type_token: str) -> str:
    """``aws:ec2/securityGroup:SecurityGroup`` is shown as ``aws:ec2:SecurityGroup``, as the CLI does."""
    parts = type_token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, file = parts[1].split("/", 1)
        name = parts[2]
        if file == name[:1].lower() + name[1:]:
            return f"{parts[0]}:{module}:{name}"
    return type_token


def shown_resources(recording: Recording) -> list[RecordedResource]:
    """What the preview lists: default providers are internal and hidden."""
    return [r for r in recording.resources if not (r.type.startswith("pulumi:providers:") and
                                                   r.name.startswith("default"))]


def render_text(result: Result) -> str:
    recording = result.recording
    lines = [f"Previewing update ({recording.stack}) offline with mocks:", ""]
    lines += _tree(recording)
    lines += ["", "Policies:"]
    for pack in sorted(result.packs, key=lambda p: f"{p.name}@v{p.version}"):
        lines += _pack_block(pack)
    lines += _readiness_block(result.readiness)
    lines += ["", "Coverage:", *_coverage_block(result.coverage)]
    lines += _unchecked_block(recording)
    lines += ["", "Outputs:"]
    for key, value in sorted(recording.outputs.items()):
        lines.append(f"    {key}: {_shown(reveal(value, '[secret]'))}")
    if result.passed:
        lines += ["", "Resources:", f"    + {len(shown_resources(recording)) + 1} to create"]
    else:
        lines += ["", "Diagnostics:", "  pulumi:pulumi:Stack (" + f"{recording.project}-{recording.stack}):",
                  "    error: preview failed"]
    lines += _extra_sections(result, "text_lines")
    lines += ["", _summary_line(result)]
    return "\n".join(lines) + "\n"


def _extra_sections(result: Result, form: str, sections: tuple[str, ...] = ("cost", "comparison")) -> list[str]:
    """The cost estimate and the change against a base, each rendered by its own module."""
    lines: list[str] = []
    for section in (getattr(result, name) for name in sections):
        if section is not None:
            lines += ["", *getattr(section, form)()]
    return lines


def _shown(value: Any) -> str:
    """A value as the text report prints it: JSON, with an unknown (known only after the update) as [unknown]."""
    return "[unknown]" if value == UNKNOWN else json.dumps(value).replace(json.dumps(UNKNOWN), '"[unknown]"')


def _unchecked_block(recording: Recording) -> list[str]:
    """Packaged components and stack references whose outputs are unknown: what this run could not see."""
    lines = []
    if recording.unchecked_components:
        lines += ["", "Unchecked packaged components (their plugin creates their children, which cannot run "
                      "offline; no policy saw those children):"]
        for component in recording.unchecked_components:
            source = component.get("source") or {}
            where = f"  ({source['file']}:{source['line']})" if source else ""
            lines.append(f"    - {display_type(component['type'])}: {component['name']}{where}")
    unknown = [r["name"] for r in recording.stack_references if r["outputs"] == "unknown"]
    if unknown:
        lines += ["", "Stack references with unknown outputs (give them with --stack-outputs NAME=FILE.json):",
                  *(f"    - {name}" for name in unknown)]
    return lines


def _readiness_block(entries: list[dict[str, str]]) -> list[str]:
    if not entries:
        return ["", "Deploy readiness:", "    nothing found that cannot work in a real account"]
    lines = ["", "Deploy readiness:"]
    for entry in entries:
        lines += [f"    - {entry['key']} = {entry['value']}", f"      {entry['message']}"]
    return lines


def _summary_line(result: Result) -> str:
    waived = f", {len(result.waived)} waived" if result.waived else ""
    coverage = result.coverage
    if result.verdict == "unchecked":
        judged = f"; no policy judged any of its {len(coverage.resources)} resources"
    elif coverage.unjudged:
        judged = f"; {len(coverage.unjudged)} resources judged by no policy"
    else:
        judged = ""
    packaged = len(result.recording.unchecked_components)
    unchecked = f"; {packaged} packaged component{'s' if packaged != 1 else ''} unchecked" if packaged else ""
    return (f"preflight {result.verdict.upper()}: {len(result.recording.resources)} resources, "
            f"{result.count('mandatory')} mandatory and {result.count('advisory')} advisory violations{waived}"
            f"{judged}{unchecked}")


def _coverage_block(coverage: Coverage) -> list[str]:
    lines = ["    " + coverage.describe()]
    width = max((len(str(count)) for _, count in coverage.unjudged_types), default=0)
    lines += [f"        {str(count).rjust(width)} {display_type(type_)}" for type_, count in coverage.unjudged_types]
    return lines


def _tree(recording: Recording) -> list[str]:
    resources = shown_resources(recording)
    children: dict[str, list[RecordedResource]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    rows = [("", "pulumi:pulumi:Stack", f"{recording.project}-{recording.stack}")]

    def walk(parent: str, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: r.name)
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            rows.append((prefix + ("└─ " if last else "├─ "), display_type(kid.type), kid.name))
            walk(kid.urn, prefix + ("   " if last else "│  "))

    walk("", "")
    type_width = max(len(p) + len(t) for p, t, _ in rows) + 2
    out = [f"     {'Type'.ljust(type_width)} {'Name'.ljust(40)} Plan"]
    for prefix, type_name, name in rows:
        out.append(f" +   {(prefix + type_name).ljust(type_width)} {name.ljust(40)} create")
    return out


def _pack_block(pack: PackResult) -> list[str]:
    levels = {v.enforcement_level for v in pack.violations}
    icon = "❌" if levels & {"mandatory", "remediate"} else ("⚠️" if levels else "✅")
    lines = [f"    {icon} {pack.name}@v{pack.version} (local: {pack.path}; levels: "
             f"{pack.config or 'the pack defaults'})"]
    for v in sorted(pack.violations, key=_violation_order):
        severity = f" [severity: {v.severity}]" if v.severity else ""
        lines.append(f"        - [{v.enforcement_level}]{severity}  {v.policy}  "
                     f"({display_type(v.resource_type)}: {v.resource_name})")
        text = (v.description + "\n" + v.message).rstrip("\n")
        lines += ["          " + line for line in text.split("\n")]
        if v.remediation and v.policy != WAIVED_POLICY:
            lines.append("          fix: " + v.remediation)
    return lines


def _violation_order(v: Violation) -> tuple[int, int, str, str]:
    return (LEVEL_RANK.get(v.enforcement_level, 3), SEVERITY_RANK.get(v.severity, 4), v.policy, v.urn)


def _json_number(value: Any) -> Any:
    """Struct numbers are floats on the wire; show whole ones as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_number(v) for v in value]
    return value


def render_json(result: Result) -> str:
    recording = result.recording
    document = {
        "project": recording.project,
        "stack": recording.stack,
        "resources": [{
            "urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "custom": r.custom, "id": r.id,
            "inputs": _json_number(reveal(r.inputs, "[secret]")),
            "dependencies": r.dependencies, "propertyDependencies": r.property_dependencies,
            "options": {key: r.options.get(key) for key in
                        ("protect", "retainOnDelete", "ignoreChanges", "deleteBeforeReplace", "provider")},
            "source": r.source or None,
        } for r in recording.resources],
        "outputs": _json_number(reveal(recording.outputs, "[secret]")),
        "policyPacks": [{"name": p.name, "version": p.version, "path": p.path, "config": p.config or None}
                        for p in result.packs],
        "violations": [v.as_json() for v in sorted(result.violations, key=_violation_order)],
        "waived": result.waived,
        "readiness": result.readiness,
        "coverage": _coverage_json(result.coverage),
        "uncheckedComponents": recording.unchecked_components,
        "stackReferences": recording.stack_references,
        "previewAs": recording.preview_as,
        "summary": {"resources": len(recording.resources), "mandatory": result.count("mandatory"),
                    "advisory": result.count("advisory"), "waived": len(result.waived), "passed": result.passed,
                    "verdict": result.verdict, "uncheckedComponents": len(recording.unchecked_components)},
    }
    if result.cost is not None:
        document["cost"] = result.cost.as_json()
    if result.comparison is not None:
        document["compare"] = result.comparison.as_json()
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def _coverage_json(coverage: Coverage) -> dict[str, Any]:
    return {
        "known": coverage.known,
        "resources": len(coverage.resources),
        "judged": coverage.judged if coverage.known else None,
        "unjudged": [{"type": type_, "count": count,
                      "names": sorted(r.name for r in coverage.unjudged if r.type == type_)}
                     for type_, count in coverage.unjudged_types],
        "policiesJudgingNothing": sorted(name for name, judged in coverage.judged_by_policy.items()
                                         if coverage.known and not judged),
        "note": coverage.describe(),
    }


# SARIF levels: a mandatory violation fails the gate (error), an advisory one is a warning. GitHub code scanning
# accepts note, warning and error ("SARIF support for code scanning", reportingDescriptor object).
SARIF_LEVELS = {"mandatory": "error", "remediate": "error", "advisory": "warning", "disabled": "note"}
# GitHub ranks security results by this score, a string: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium,
# 0.1 to 3.9 low; it counts only for rules tagged "security".
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub rejects an upload with more than 20 tags on a rule, and cuts descriptions at 1024 characters.
MAX_TAGS, MAX_DESCRIPTION = 20, 1024


def render_sarif(result: Result) -> str:
    """SARIF 2.1.0 as GitHub code scanning reads it: one run per pack, each result at the program line that
    created the resource, waived findings as suppressed results."""
    locate = SourceLocator(result)
    runs = [_sarif_run(result, pack, locate) for pack in result.packs]
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}, indent=2) + "\n"


def _sarif_run(result: Result, pack: PackResult, locate: SourceLocator) -> dict[str, Any]:
    rules = [_sarif_rule(p) for p in sorted(pack.policies, key=lambda p: p["name"])]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    levels = {p["name"]: p["enforcementLevel"] for p in pack.policies}
    results = []
    for v in sorted(pack.violations, key=_violation_order):
        waived = WAIVED_MESSAGE.match(v.message) if v.policy == WAIVED_POLICY else None
        if waived and waived["policy"] in index and v.enforcement_level not in BLOCKING:
            # No review status: the OASIS 2.1.0 standard names it "status", the schema revision in tests/ "state",
            # and each rejects the other's name.
            suppression = {"kind": "external", "justification": waived["reason"]}
            if waived["expires"]:
                suppression["properties"] = {"expires": waived["expires"]}
            results.append(_sarif_result(v, waived["policy"], levels[waived["policy"]], waived["message"], index,
                                         locate(v), [suppression]))
        else:
            results.append(_sarif_result(v, v.policy, v.enforcement_level, v.message, index, locate(v)))
    recording = result.recording
    driver = {"name": pack.name, "version": pack.version, "rules": rules}
    if re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", pack.version):
        driver["semanticVersion"] = pack.version
    return {
        "tool": {"driver": driver},
        # GitHub keeps one analysis per category (the id up to its last slash): one per project and stack.
        "automationDetails": {"id": f"preflight/{recording.project}/{recording.stack}/"},
        "results": results,
        "properties": {"coverage": _coverage_json(result.coverage)},
    }


def _sarif_rule(policy: dict[str, Any]) -> dict[str, Any]:
    description = policy["description"] or policy["name"]
    level, severity, controls = policy["enforcementLevel"], policy["severity"], list(policy["tags"])
    remediation = policy.get("remediation") or ""
    full = f"{description} Severity: {severity or 'not set'}; enforcement: {level}."
    if controls:
        full += f" Implements: {', '.join(controls)}."
    help_text = "\n\n".join(part for part in (description, remediation and f"Fix: {remediation}",
                                                controls and f"Implements: {', '.join(controls)}") if part)
    help_markdown = "\n\n".join(part for part in (
        markdown_text(description), remediation and f"**Fix:** {markdown_text(remediation)}",
        controls and "**Implements:** " + ", ".join(markdown_code(c) for c in controls)) if part)
    properties: dict[str, Any] = {"tags": controls[:MAX_TAGS]}
    if severity in SECURITY_SEVERITY:
        properties["tags"] = (["security"] + [c for c in controls if c != "security"])[:MAX_TAGS]
        properties["security-severity"] = SECURITY_SEVERITY[severity]
    return {
        "id": policy["name"],
        "name": policy["name"][:255],
        "shortDescription": {"text": _clipped(description)},
        "fullDescription": {"text": _clipped(full)},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": SARIF_LEVELS.get(level, "warning"), "enabled": level != "disabled"},
        "properties": properties,
    }


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 1] + "…"


def _sarif_result(v: Violation, rule_id: str, level: str, message: str, index: dict[str, int],
                  location: dict[str, Any], suppressions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    text = message.strip() or v.description or rule_id
    found: dict[str, Any] = {
        "ruleId": rule_id,
        "level": SARIF_LEVELS.get(level, "warning"),
        "message": {"text": f"{text} ({v.resource_name}, {display_type(v.resource_type)})"},
        "locations": [location],
        # GitHub matches results across runs by this key only. A finding is the same while the policy, the
        # resource and what is wrong stay the same, wherever the program's lines move.
        "partialFingerprints": {"primaryLocationLineHash": finding_fingerprint(rule_id, v.urn, text)},
    }
    if rule_id in index:
        found["ruleIndex"] = index[rule_id]
    if suppressions:
        found["suppressions"] = suppressions
    return found


def finding_fingerprint(policy: str, urn: str, message: str) -> str:
    return hashlib.sha256("\0".join((policy, urn, message)).encode()).hexdigest()[:32]


def repository_root(directory: Path) -> Path:
    """The git work tree holding ``directory`` (GitHub resolves SARIF paths against it), else ``directory``."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


class SourceLocator:
    """A violation's SARIF location: the program line that created its resource, as a path relative to the
    repository root; findings on the stack as a whole point at the stack's config file."""

    def __init__(self, result: Result):
        recording = result.recording
        self.project_dir = Path(recording.directory or ".").absolute()
        self.root = Path(result.source_root).absolute() if result.source_root else repository_root(self.project_dir)
        self.by_urn = recording.by_urn()
        self.stack_file = f"Pulumi.{recording.stack}.yaml"
        self._lines: dict[Path, list[str]] = {}

    def __call__(self, v: Violation) -> dict[str, Any]:
        resource = self.by_urn.get(v.urn)
        source = resource.source if resource and resource.source else {"file": self.stack_file, "line": 1}
        path, line = Path(os.path.normpath(self.project_dir / source["file"])), max(int(source["line"]), 1)
        if path.is_relative_to(self.root):
            artifact = {"uri": path.relative_to(self.root).as_posix(), "uriBaseId": "%SRCROOT%"}
        else:
            artifact = {"uri": path.as_uri()}
        return {
            "physicalLocation": {"artifactLocation": artifact, "region": {
                "startLine": line, "startColumn": 1, "endLine": line, "endColumn": len(self._line(path, line)) + 1}},
            "logicalLocations": [{"fullyQualifiedName": v.urn, "name": v.resource_name, "kind": "resource"}],
        }

    def _line(self, path: Path, line: int) -> str:
        if path not in self._lines:
            try:
                self._lines[path] = path.read_text(errors="replace").splitlines()
            except OSError:
                self._lines[path] = []
        lines = self._lines[path]
        return lines[line - 1] if line <= len(lines) else ""


def render_junit(result: Result) -> str:
    """JUnit XML, which every CI shows as test results: one test case per policy, failed by a mandatory
    violation, skipped when disabled or when it judged no resource; advisory violations go to system-out.
    A last suite has one skipped case per resource type that no policy judges."""
    suites = ET.Element("testsuites", name=f"preflight {result.recording.stack}")
    for pack in result.packs:
        suites.append(_junit_pack_suite(pack, result.coverage, result.seconds))
    suites.append(_junit_coverage_suite(result.coverage))
    for key in ("tests", "failures", "errors"):
        suites.set(key, str(sum(int(suite.get(key)) for suite in suites)))
    suites.set("time", _junit_time(result.seconds))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _junit_pack_suite(pack: PackResult, coverage: Coverage, seconds: float) -> ET.Element:
    by_policy: dict[str, list[Violation]] = {}
    for v in pack.violations:
        by_policy.setdefault(v.policy, []).append(v)
    suite = ET.Element("testsuite", name=f"{pack.name}@v{pack.version}")
    for policy in sorted(pack.policies, key=lambda p: p["name"]):
        case = ET.SubElement(suite, "testcase", classname=pack.name, name=policy["name"])
        found = by_policy.get(policy["name"], [])
        blocking = [v for v in found if v.enforcement_level in BLOCKING]
        judged = coverage.judged_by_policy.get(f"{pack.name}/{policy['name']}", 0)
        if policy["enforcementLevel"] == "disabled":
            ET.SubElement(case, "skipped", message="disabled by the policy config")
        elif blocking:
            failure = ET.SubElement(case, "failure", type="mandatory",
                                    message=f"{len(blocking)} mandatory violation(s)")
            failure.text = "\n".join(f"{v.urn}: {v.message.strip()}" for v in blocking)
            if blocking[0].remediation:
                failure.text += "\nfix: " + blocking[0].remediation
        elif not judged:
            ET.SubElement(case, "skipped", message="judged no resource: the stack has none of the types it applies to")
        notes = [f"[advisory] {v.urn}: {v.message.strip()}" for v in found if v not in blocking]
        if policy["enforcementLevel"] != "disabled" and policy.get("kind") != "stack" and coverage.known:
            notes.append(f"judged {judged} resource(s)")
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    _junit_counts(suite, seconds)
    return suite


def _junit_coverage_suite(coverage: Coverage) -> ET.Element:
    suite = ET.Element("testsuite", name="coverage")
    if not coverage.known:
        case = ET.SubElement(suite, "testcase", classname="coverage", name="resources judged by a policy")
        ET.SubElement(case, "skipped", message=coverage.describe())
    elif not coverage.unjudged:
        ET.SubElement(suite, "testcase", classname="coverage", name="resources judged by a policy")
    for type_, count in coverage.unjudged_types:
        case = ET.SubElement(suite, "testcase", classname="coverage", name=type_)
        names = sorted(r.name for r in coverage.unjudged if r.type == type_)
        ET.SubElement(case, "skipped", message=f"{count} resource(s) of this type judged by no policy").text = \
            "\n".join(names)
    _junit_counts(suite, 0.0)
    return suite


def _junit_counts(suite: ET.Element, seconds: float) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", "0")  # a policy that crashes stops the run (exit 2): no report holds an errored case
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("time", _junit_time(seconds))


def _junit_time(seconds: float) -> str:
    return f"{seconds:.3f}"


# Characters that Markdown (CommonMark and GitHub's tables) would read as formatting in a message.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def markdown_text(text: str) -> str:
    """Plain text shown as itself in Markdown, one table cell: ``arn:aws:logs:*:*:*`` stays unitalicised and
    ``<env>`` stays visible."""
    escaped = MARKDOWN_SPECIAL.sub(r"\\\1", text.strip().replace("&", "&amp;"))
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def markdown_code(text: str) -> str:
    """``text`` as a code span that no backtick inside it can end, and that a table does not split at ``|``."""
    text = " ".join(text.split("\n"))
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def render_markdown(result: Result) -> str:
    """A pull-request comment: the verdict, counts that equal the rows below them, a table of violations
    (blocking first), the waived findings, and the resource types no policy judges."""
    rows, waived, coverage = result.reported, result.waived, result.coverage
    blocking = sum(1 for v in rows if v.enforcement_level in BLOCKING)
    verdict = {"passed": "passed", "failed": "failed", "unchecked": "nothing checked"}[result.verdict]
    lines = [f"### Preflight of {markdown_code(result.recording.stack)}: {verdict}", "",
             f"{len(result.recording.resources)} resources; {blocking} mandatory and {len(rows) - blocking} "
             f"advisory violations; {len(waived)} waived.", "", "Coverage: " + markdown_text(coverage.describe()) + "."]
    if result.comparison:
        lines += ["", *_extra_sections(result, "markdown_lines", ("comparison",))[1:]]
    if rows:
        lines += ["", "| Level | Severity | Policy | Resource | Message | Fix |", "|---|---|---|---|---|---|"]
        lines += [f"| {v.enforcement_level} | {v.severity} | {markdown_code(v.policy)} | "
                  f"{markdown_code(v.resource_name)} ({markdown_text(display_type(v.resource_type))}) | "
                  f"{markdown_text(v.message)} | {markdown_text(v.remediation)} |" for v in rows]
    if waived:
        lines += ["", f"#### Waived findings ({len(waived)})", "", "| Policy | Resource | Reason | Until | Message |",
                  "|---|---|---|---|---|"]
        lines += [f"| {markdown_code(w['policy'])} | {markdown_code(w['resourceName'])} | "
                  f"{markdown_text(w['reason'])} | {w['expires']} | {markdown_text(w['message'])} |" for w in waived]
    if coverage.unjudged:
        lines += ["", f"#### Resources no policy judges ({len(coverage.unjudged)})", "", "| Type | Resources |",
                  "|---|---|"]
        lines += [f"| {markdown_text(display_type(type_))} | {count} |" for type_, count in coverage.unjudged_types]
    if result.readiness:
        lines += ["", f"#### Deploy readiness ({len(result.readiness)})", "", "| Key | Value | What to do |",
                  "|---|---|---|"]
        lines += [f"| {markdown_code(r['key'])} | {markdown_code(r['value'])} | {markdown_text(r['message'])} |"
                  for r in result.readiness]
    lines += _extra_sections(result, "markdown_lines", ("cost",))
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif, "junit": render_junit,
             "markdown": render_markdown}
