"""``aws.iam.get_policy_document`` computed offline: the data source is a pure function of its arguments.

This follows the Terraform AWS provider's data source (``internal/service/iam/policy_document_data_source.go`` and
``iam_policy_model.go``), which pulumi-aws bridges:

- source documents are merged first, in order (a Sid may appear once among them), then the statements given here,
  then the override documents, each replacing the statement of the same Sid or appending;
- ``Version`` defaults to 2012-10-17 (a merged document may raise it, never lower it), ``Id`` is ``policy_id``;
- every statement carries ``Sid`` (empty when none was given) and ``Effect`` (default Allow);
- actions, resources and principal identifiers are sets: one value is written as a string, several as a list in
  reverse lexical order; condition values keep their order and are written as a string when there is one;
- ``&{...}`` in resources, principals and condition values becomes the policy variable ``${...}``;
- ``json`` is indented by two spaces, ``minifiedJson`` compact, both with Go's escaping of ``<``, ``>`` and ``&``;
  ``id`` is the CRC-32 of ``json``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

VERSIONS = ("2008-10-17", "2012-10-17")
DEFAULT_VERSION = "2012-10-17"
EFFECTS = ("Allow", "Deny")
SID = re.compile(r"[a-zA-Z0-9]*")


class PolicyDocumentError(ValueError):
    """Arguments the provider would refuse; the message names the argument and what is allowed."""


def policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The data source's result for these (camelCase) invoke arguments."""
    version = args.get("version") or DEFAULT_VERSION
    if version not in VERSIONS:
        raise PolicyDocumentError(f"version: {version!r} is not allowed; allowed: {', '.join(VERSIONS)}")
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": None}
    seen_sids: set[str] = set()
    for index, text in enumerate(args.get("sourcePolicyDocuments") or []):
        if text is None:
            continue
        source = _parsed(text, f"sourcePolicyDocuments[{index}]")
        for number, statement in enumerate(source["Statement"] or []):
            sid = statement.get("Sid") or ""
            if sid and sid in seen_sids:
                raise PolicyDocumentError(f"sourcePolicyDocuments[{index}]: duplicate Sid ({sid}) in statement "
                                          f"{number}; remove the Sid or make Sids unique")
            seen_sids.add(sid)
        _merge(merged, source)
    _merge(merged, {"Version": version, "Id": args.get("policyId") or "",
                    "Statement": _statements(args.get("statements"), version)})
    for index, text in enumerate(args.get("overridePolicyDocuments") or []):
        if text is not None:
            _merge(merged, _parsed(text, f"overridePolicyDocuments[{index}]"))
    document = {key: merged[key] for key in ("Version", "Id") if merged[key]}
    document["Statement"] = merged["Statement"]
    text = _go_escaped(json.dumps(document, indent=2, ensure_ascii=False))
    return {"id": str(zlib.crc32(text.encode())), "json": text,
            "minifiedJson": _go_escaped(json.dumps(document, separators=(",", ":"), ensure_ascii=False)),
            **{key: args[key] for key in ("overridePolicyDocuments", "policyId", "sourcePolicyDocuments",
                                          "statements") if args.get(key) is not None},
            "version": version}


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """``IAMPolicyDoc.Merge``: adopt a new Id, raise the Version, replace statements of the same Sid."""
    if new.get("Id"):
        into["Id"] = new["Id"]
    if (new.get("Version") or "") > into["Version"]:
        into["Version"] = new["Version"]
    for statement in new.get("Statement") or []:
        statements = into["Statement"] if into["Statement"] is not None else []
        sid = statement.get("Sid") or ""
        same = next((i for i, s in enumerate(statements) if sid and s.get("Sid") == sid), None)
        if same is None:
            statements.append(statement)
        else:
            statements[same] = statement
        into["Statement"] = statements


def _statements(given: Any, version: str) -> list[dict[str, Any]] | None:
    if not given:
        return None
    statements, sids = [], set()
    for index, raw in enumerate(given):
        where = f"statements[{index}]"
        if not isinstance(raw, Mapping):
            raise PolicyDocumentError(f"{where}: expected an object, got {raw!r}")
        sid = raw.get("sid") or ""
        if not isinstance(sid, str) or not SID.fullmatch(sid):
            raise PolicyDocumentError(f"{where}.sid: {sid!r} is not allowed; allowed: letters and digits only")
        if sid in sids:
            raise PolicyDocumentError(f"{where}.sid: duplicate Sid ({sid}); remove the Sid or make Sids unique")
        if sid:
            sids.add(sid)
        effect = raw.get("effect") or "Allow"
        if effect not in EFFECTS:
            raise PolicyDocumentError(f"{where}.effect: {effect!r} is not allowed; allowed: Allow, Deny")
        statement: dict[str, Any] = {"Sid": sid, "Effect": effect}
        for key, name, variables in (("actions", "Action", False), ("notActions", "NotAction", False),
                                     ("resources", "Resource", True), ("notResources", "NotResource", True)):
            values = _string_set(raw.get(key), f"{where}.{key}")
            if values:
                statement[name] = _variables(_one_or_reversed(values), version, f"{where}.{key}") \
                    if variables else _one_or_reversed(values)
        for key, name in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if raw.get(key):
                statement[name] = _principals(raw[key], version, f"{where}.{key}")
        if raw.get("conditions"):
            statement["Condition"] = _conditions(raw["conditions"], version, f"{where}.conditions")
        statements.append(statement)
    return statements


def _string_set(values: Any, where: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise PolicyDocumentError(f"{where}: expected a list of strings, got {values!r}")
    return sorted(set(values))


def _one_or_reversed(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else sorted(values, reverse=True)


def _variables(value: str | list[str], version: str, where: str) -> str | list[str]:
    """``&{aws:username}`` is written ``${aws:username}``; version 2008-10-17 has no policy variables."""
    items = [value] if isinstance(value, str) else value
    if version == "2008-10-17" and any("&{" in item for item in items):
        raise PolicyDocumentError(f"{where}: '&{{' is not supported in document version 2008-10-17")
    replaced = [item.replace("&{", "${") for item in items]
    return replaced[0] if isinstance(value, str) else replaced


def _principals(blocks: Any, version: str, where: str) -> Any:
    if not isinstance(blocks, (list, tuple)):
        raise PolicyDocumentError(f"{where}: expected a list of {{type, identifiers}}, got {blocks!r}")
    parsed = []
    for index, block in enumerate(blocks):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise PolicyDocumentError(f"{where}[{index}].type: required, a string such as AWS or Service")
        identifiers = _string_set(block.get("identifiers"), f"{where}[{index}].identifiers")
        parsed.append((block["type"], _variables(_one_or_reversed(identifiers), version,
                                                 f"{where}[{index}].identifiers")))
    return _principal_json(parsed)


def _principal_json(parsed: list[tuple[str, str | list[str]]]) -> Any:
    """Only ``{"*": "*"}`` is written as ``"*"``: IAM refuses ``"*"`` in a role's trust policy otherwise."""
    if len(parsed) == 1 and parsed[0][0] == "*" and parsed[0][1] in ("*", ["*"]):
        return "*"
    merged: dict[str, Any] = {}
    for kind, identifiers in parsed:
        before = merged.get(kind)
        if isinstance(identifiers, list):
            merged[kind] = ([] if before is None else [before] if isinstance(before, str) else before) + \
                sorted(identifiers, reverse=True)
        elif before is None:
            merged[kind] = identifiers
        else:
            merged[kind] = ([before] if isinstance(before, str) else before) + [identifiers]
    return dict(sorted(merged.items()))


def _conditions(blocks: Any, version: str, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(blocks, (list, tuple)):
        raise PolicyDocumentError(f"{where}: expected a list of {{test, variable, values}}, got {blocks!r}")
    merged: dict[str, dict[str, Any]] = {}
    for index, block in enumerate(blocks):
        here = f"{where}[{index}]"
        if not isinstance(block, Mapping):
            raise PolicyDocumentError(f"{here}: expected an object with test, variable and values")
        for key in ("test", "variable"):
            if not isinstance(block.get(key), str):
                raise PolicyDocumentError(f"{here}.{key}: required, a string")
        values = block.get("values")
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise PolicyDocumentError(f"{here}.values: expected a list of strings, got {values!r}")
        replaced = _variables(list(values), version, f"{here}.values")
        test = merged.setdefault(block["test"], {})
        if len(replaced) == 1 and block["variable"] not in test:
            test[block["variable"]] = replaced[0]
        else:
            before = test.get(block["variable"])
            test[block["variable"]] = ([] if before is None else [before] if isinstance(before, str) else before) \
                + list(replaced)
    return {test: dict(sorted(variables.items())) for test, variables in sorted(merged.items())}


def _parsed(text: Any, where: str) -> dict[str, Any]:
    """A source or override document as the provider reads it back: principals and conditions normalised the
    way its model writes them (a condition's single value becomes a list, identifiers are reverse-sorted)."""
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError as error:
        raise PolicyDocumentError(f"{where}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyDocumentError(f"{where}: expected a JSON policy document (an object), got {text!r}")
    statements = document.get("Statement")
    if statements is not None and not isinstance(statements, list):
        raise PolicyDocumentError(f"{where}: Statement must be a list of statements")
    result = []
    for statement in statements or []:
        if not isinstance(statement, dict):
            raise PolicyDocumentError(f"{where}: each statement must be an object, got {statement!r}")
        normalised = {"Sid": statement.get("Sid") or ""}
        for key in ("Effect", "Action", "NotAction", "Resource", "NotResource"):
            if statement.get(key):
                normalised[key] = statement[key]
        for key in ("Principal", "NotPrincipal"):
            if statement.get(key):
                normalised[key] = _read_principal(statement[key])
        if statement.get("Condition"):
            normalised["Condition"] = {
                test: {variable: [values] if isinstance(values, str) else list(values)
                       for variable, values in sorted(variables.items())}
                for test, variables in sorted(statement["Condition"].items())}
        result.append(normalised)
    return {"Version": document.get("Version") or "", "Id": document.get("Id") or "", "Statement": result}


def _read_principal(principal: Any) -> Any:
    if isinstance(principal, str):
        return "*"
    return _principal_json([(kind, value) for kind, value in principal.items()])


def _go_escaped(text: str) -> str:
    """Go's encoding/json writes <, > and & as \\u003c, \\u003e and \\u0026."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
