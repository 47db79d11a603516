"""Renders a preflight result: a preview-like tree and the CLI's Policies block, or a JSON document."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from .analyzer import PackResult, Violation
from .compare import Comparison
from .cost import CostEstimate
from .recorder import RecordedResource, Recording, reveal

WAIVED_POLICY = "waived-findings"
WAIVED_MESSAGE = re.compile(r"waived (?P<policy>\S+) \(reason: (?P<reason>.*?)(, until (?P<expires>[0-9-]+))?\): "
                            r"(?P<message>.*)", re.DOTALL)
LEVEL_RANK = {"mandatory": 0, "remediate": 0, "advisory": 1, "disabled": 2}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "": 4}


@dataclass
class Result:
    recording: Recording
    packs: list[PackResult]
    cost: CostEstimate | None = None
    comparison: Comparison | None = None
    readiness: list[dict[str, str]] = field(default_factory=list)
    """Config values that cannot work in a real account, each {key, value, message}; never a failure."""

    @property
    def violations(self) -> list[Violation]:
        return [v for pack in self.packs for v in pack.violations]

    def count(self, level: str) -> int:
        """Violations at ``level``. Waived findings are counted apart, as ``waived``, unless a policy config made
        waived-findings mandatory: then they block, as they would in ``pulumi preview``."""
        return sum(1 for v in self.violations if v.enforcement_level == level and
                   not (v.policy == WAIVED_POLICY and level == "advisory"))

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
    lines += ["", "Outputs:"]
    for key, value in sorted(recording.outputs.items()):
        lines.append(f"    {key}: {json.dumps(reveal(value, '[secret]'))}")
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


def _readiness_block(entries: list[dict[str, str]]) -> list[str]:
    if not entries:
        return ["", "Deploy readiness:", "    nothing found that cannot work in a real account"]
    lines = ["", "Deploy readiness:"]
    for entry in entries:
        lines += [f"    - {entry['key']} = {entry['value']}", f"      {entry['message']}"]
    return lines


def _summary_line(result: Result) -> str:
    verdict = "PASSED" if result.passed else "FAILED"
    waived = f", {len(result.waived)} waived" if result.waived else ""
    return (f"preflight {verdict}: {len(result.recording.resources)} resources, "
            f"{result.count('mandatory')} mandatory and {result.count('advisory')} advisory violations{waived}")


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
    lines = [f"    {icon} {pack.name}@v{pack.version} (local: {pack.path})"]
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
        } for r in recording.resources],
        "outputs": _json_number(reveal(recording.outputs, "[secret]")),
        "policyPacks": [{"name": p.name, "version": p.version, "path": p.path} for p in result.packs],
        "violations": [v.as_json() for v in sorted(result.violations, key=_violation_order)],
        "waived": result.waived,
        "readiness": result.readiness,
        "summary": {"resources": len(recording.resources), "mandatory": result.count("mandatory"),
                    "advisory": result.count("advisory"), "waived": len(result.waived), "passed": result.passed},
    }
    if result.cost is not None:
        document["cost"] = result.cost.as_json()
    if result.comparison is not None:
        document["compare"] = result.comparison.as_json()
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


# SARIF levels: a mandatory violation fails the gate (error), an advisory one is a warning.
SARIF_LEVELS = {"mandatory": "error", "remediate": "error", "advisory": "warning", "disabled": "none"}
# GitHub code scanning ranks results by this property: CVSS-like scores per severity.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "": "0.0"}


def render_sarif(result: Result) -> str:
    """SARIF 2.1.0, which code-scanning services (GitHub, GitLab, Azure DevOps) read; one run per pack."""
    stack_file = f"Pulumi.{result.recording.stack}.yaml"
    runs = []
    for pack in result.packs:
        rules = [{
            "id": p["name"],
            "shortDescription": {"text": p["description"] or p["name"]},
            "help": {"text": p.get("remediation") or p["description"] or p["name"]},
            "defaultConfiguration": {"level": SARIF_LEVELS.get(p["enforcementLevel"], "warning")},
            "properties": {"tags": p["tags"], "security-severity": SECURITY_SEVERITY.get(p["severity"], "0.0")},
        } for p in sorted(pack.policies, key=lambda p: p["name"])]
        index = {rule["id"]: i for i, rule in enumerate(rules)}
        runs.append({
            "tool": {"driver": {"name": pack.name, "version": pack.version, "rules": rules}},
            "results": [{
                "ruleId": v.policy,
                "ruleIndex": index.get(v.policy, -1),
                "level": SARIF_LEVELS.get(v.enforcement_level, "warning"),
                "message": {"text": f"{v.resource_name} ({v.resource_type}): {v.message.strip()}"},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": stack_file}},
                    "logicalLocations": [{"fullyQualifiedName": v.urn, "name": v.resource_name,
                                          "kind": "resource"}],
                }],
            } for v in sorted(pack.violations, key=_violation_order)],
        })
    document = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2) + "\n"


def render_junit(result: Result) -> str:
    """JUnit XML, which every CI shows as test results: one test case per policy, failed by a mandatory
    violation; advisory violations are written to the case's system-out."""
    suites = ET.Element("testsuites", name=f"preflight {result.recording.stack}")
    for pack in result.packs:
        by_policy: dict[str, list[Violation]] = {}
        for v in pack.violations:
            by_policy.setdefault(v.policy, []).append(v)
        suite = ET.SubElement(suites, "testsuite", name=f"{pack.name}@v{pack.version}",
                              tests=str(len(pack.policies)))
        failures = 0
        for policy in sorted(pack.policies, key=lambda p: p["name"]):
            case = ET.SubElement(suite, "testcase", classname=pack.name, name=policy["name"])
            found = by_policy.get(policy["name"], [])
            blocking = [v for v in found if v.enforcement_level in ("mandatory", "remediate")]
            if policy["enforcementLevel"] == "disabled":
                ET.SubElement(case, "skipped", message="disabled by the policy config")
            elif blocking:
                failures += 1
                failure = ET.SubElement(case, "failure", message=f"{len(blocking)} mandatory violation(s)")
                failure.text = "\n".join(f"{v.urn}: {v.message.strip()}" for v in blocking)
                if blocking[0].remediation:
                    failure.text += "\nfix: " + blocking[0].remediation
            advisory = [v for v in found if v not in blocking]
            if advisory:
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"[advisory] {v.urn}: {v.message.strip()}" for v in advisory)
        suite.set("failures", str(failures))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _markdown_cell(text: str) -> str:
    return text.strip().replace("|", "\\|").replace("\n", "<br>")


def render_markdown(result: Result) -> str:
    """A pull-request comment: the verdict, counts, and a table of violations, mandatory first."""
    verdict = "passed" if result.passed else "failed"
    lines = [f"### Preflight of `{result.recording.stack}`: {verdict}", "",
             f"{len(result.recording.resources)} resources; {result.count('mandatory')} mandatory and "
             f"{result.count('advisory')} advisory violations.", ""]
    lines += [*_extra_sections(result, "markdown_lines", ("comparison",))[1:], ""] if result.comparison else []
    if result.violations:
        lines += ["| Level | Severity | Policy | Resource | Message | Fix |", "|---|---|---|---|---|---|"]
        for v in sorted(result.violations, key=_violation_order):
            lines.append(f"| {v.enforcement_level} | {v.severity} | `{v.policy}` | "
                         f"`{v.resource_name}` ({display_type(v.resource_type)}) | {_markdown_cell(v.message)} | "
                         f"{_markdown_cell(v.remediation)} |")
    lines += _extra_sections(result, "markdown_lines", ("cost",))
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif, "junit": render_junit,
             "markdown": render_markdown}
