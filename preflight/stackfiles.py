"""Reads Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI does, and refuses what the CLI would misread.

The CLI's YAML. ``sdk/go/common/encoding/marshal.go`` of pulumi/pulumi decodes project and stack files with
``gopkg.in/yaml.v2``, pinned at v2.4.0 in ``sdk/go.mod`` (the move to yaml.v3, pulumi/pulumi#19498, was closed
unmerged). Decoding into ``interface{}``, as ``workspace.LoadProjectStackBytes`` does, yaml.v2 resolves plain
scalars by its own table (``resolve.go``), which keeps YAML 1.1's booleans but not its base-60 numbers:
``y yes on true`` and ``n no off false`` in three casings are booleans; ``~ null`` and nothing are null;
integers are Go's ``strconv.ParseInt(s, 0, 64)`` after removing ``_`` (so ``0x1F``, ``0o17``, ``017``
octal, ``0b101``); ``.inf .nan`` and decimal floats are floats; timestamps stay text; ``12:30`` is text.
PyYAML's SafeLoader is kept for the syntax and given that table in place of its YAML 1.1 resolver.

What the program then receives. The loader re-encodes the tree and decodes each value into a
``config.Value``: text stays as written, a boolean becomes ``true``/``false``, a number Go's JSON of it,
a list or map compact JSON with sorted keys, and a null top-level value the empty text (with a warning,
``checkForEmptyConfig``). A bare key is namespaced with the project name. Pulumi.yaml's defaults are added
with ``stackConfig.Set(key, value, path=true)`` (``workspace.mergeConfig``): a dotted key such as
``network.azCount`` is a property path there, so its default lands in an object under ``<project>:network``.

Refused here, though the CLI would go on: a key given twice (the CLI keeps the last, silently), keys outside
``config:``, an empty value, ``.inf``/``.nan``, a ``secure:`` value that is not ciphertext, and a value whose
YAML type contradicts the type Pulumi.yaml declares for it (``imageTag: 1.10`` is the text "1.1" to the CLI).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "preflight-placeholder-secret"
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
SHOWN_LENGTH = 60


class StackFileError(Exception):
    pass


@dataclass(frozen=True)
class Written:
    """One config key as the stack file gives it: where, the source text, and what the CLI's YAML made of it."""

    line: int
    text: str
    value: Any
    quoted: bool


@dataclass
class StackFiles:
    project: str
    stack: str
    project_dir: Path
    main: str
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    written: dict[str, Written] = field(default_factory=dict)
    """The stack file's own keys (fully qualified), not the defaults Pulumi.yaml adds."""
    declared: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Pulumi.yaml's config declarations by full key."""


# --- The CLI's YAML: gopkg.in/yaml.v2 v2.4.0's scalar resolution -----------------------------------------------

_TRUE = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"}
_FALSE = {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
_SPECIAL_FLOATS = {**{s: math.nan for s in (".nan", ".NaN", ".NAN")},
                   **{s: math.inf for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
                   **{s: -math.inf for s in ("-.inf", "-.Inf", "-.INF")}}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
# yaml.v2's parseTimestamp layouts; such a scalar stays text when decoded into interface{}.
_TIMESTAMP = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d*)?(Z|[-+]\d{1,2}(:\d{2})?)?)?")
_GO_INT = re.compile(r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[oO](?P<oct>[0-7]+)|0[bB](?P<bin>[01]+)"
                     r"|0(?P<oct0>[0-7]+)|(?P<dec>0|[1-9][0-9]*))")
INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


def go_parse_int(text: str) -> int | None:
    """Go's ParseInt(text, 0, 64), falling back to ParseUint as yaml.v2 does; None when neither accepts it."""
    match = _GO_INT.fullmatch(text)
    if not match:
        return None
    digits, base = next((match[g], b) for g, b in (("hex", 16), ("oct", 8), ("bin", 2), ("oct0", 8), ("dec", 10))
                        if match[g] is not None)
    value = int(digits, base) * (-1 if match["sign"] == "-" else 1)
    if INT64_MIN <= value < 2**63 or (not match["sign"] and value <= UINT64_MAX):
        return value
    return None


def go_resolve(text: str) -> Any:
    """A plain scalar as yaml.v2 decodes it into interface{}."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in _NULL:
        return None
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if text[0] == "." and _DOT_FLOAT.fullmatch(text):
        return float(text)
    if text[0] in "+-0123456789" and not _TIMESTAMP.fullmatch(text):
        plain = text.replace("_", "")
        number = go_parse_int(plain)
        if number is not None:
            return number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            return float(plain)
    return text


class CliYamlLoader(yaml.SafeLoader):
    """PyYAML's parser with yaml.v2's scalar resolution; refuses a mapping key given twice."""

    def construct_scalar_value(self, node: yaml.ScalarNode) -> Any:
        if node.style:  # quoted or block text
            return node.value
        return go_resolve(node.value)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                raise StackFileError(f"line {key_node.start_mark.line + 1}: a list or map cannot be a key")
            line = key_node.start_mark.line + 1
            if key in lines:
                raise DuplicateKey(key, lines[key], line)
            lines[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


class DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, second: int):
        super().__init__(f"{key} is given twice, on lines {first} and {second}; the CLI silently keeps the "
                         f"second: remove one")


def _plain_scalars(loader: type[yaml.SafeLoader]) -> None:
    """Every untagged plain scalar becomes one tag that our constructor resolves the Go way."""
    loader.yaml_implicit_resolvers = {}
    loader.add_constructor("tag:yaml.org,2002:str", CliYamlLoader.construct_scalar_value)
    loader.add_constructor("tag:yaml.org,2002:map", CliYamlLoader.construct_mapping)
    loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


_plain_scalars(CliYamlLoader)


def load_cli_yaml(text: str) -> Any:
    return yaml.load(text, Loader=CliYamlLoader)  # a SafeLoader subclass: no arbitrary objects


def _config_nodes(text: str) -> dict[str, yaml.Node]:
    """The ``config:`` block's value nodes by key, for line numbers and source text."""
    root = yaml.compose(text, Loader=CliYamlLoader)
    if not isinstance(root, yaml.MappingNode):
        return {}
    for key, value in root.value:
        if key.value == "config" and isinstance(value, yaml.MappingNode):
            return {k.value: v for k, v in value.value}
    return {}


# --- What the program receives: the CLI's text for each value -------------------------------------------------


def _go_g(number: float) -> str:
    """strconv.FormatFloat(number, 'g', -1, 64), which yaml.v2 writes when it re-encodes a float."""
    digits = Decimal(repr(number)).normalize()
    exponent = digits.adjusted()
    if exponent < -4 or exponent >= 6:  # with the shortest precision Go switches to %e from 1e6
        mantissa, _, power = f"{digits:e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{int(power):+03d}"
    return format(digits, "f")


def _go_json_float(number: float) -> str:
    """encoding/json's text of a float64: plain decimals, exponents only below 1e-6 or from 1e21."""
    if number != 0 and (abs(number) < 1e-6 or abs(number) >= 1e21):
        text = repr(number)
        return re.sub(r"e([-+])0*(\d)", r"e\1\2", text)
    text = format(Decimal(repr(number)), "f")
    return text[:-2] if text.endswith(".0") else text


def _round_trip(value: Any) -> Any:
    """The value after the loader's re-encode and re-decode: a float that prints whole becomes an integer."""
    if isinstance(value, float) and math.isfinite(value):
        text = _go_g(value)
        number = go_parse_int(text)
        return number if number is not None else value
    if isinstance(value, list):
        return [_round_trip(v) for v in value]
    if isinstance(value, dict):
        return {_go_key(k): _round_trip(v) for k, v in value.items()}
    return value


def _go_key(key: Any) -> str:
    """A map key as fmt.Sprintf("%v") prints it."""
    if isinstance(key, bool):
        return str(key).lower()
    if key is None:
        return "<nil>"
    return key if isinstance(key, str) else _scalar_text(key)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_json_float(value)
    return str(value)


def _go_json(value: Any) -> str:
    """encoding/json: compact, sorted keys, <, > and & escaped."""
    if isinstance(value, (bool, int, float)) or value is None:
        return "null" if value is None else _scalar_text(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    else:
        return "{" + ",".join(f"{_go_json(k)}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def marshal_value(value: Any) -> str:
    """The text the program receives for a value the CLI's YAML read: strings raw, null empty, else JSON."""
    value = _round_trip(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _go_json(value)


def qualify(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


# --- Reading the files ---------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # the CLI strips a UTF-8 byte-order mark too
    except FileNotFoundError:
        raise StackFileError(f"{path.name} not found in {path.parent}") from None


def _load(path: Path, text: str) -> Any:
    try:
        return load_cli_yaml(text)
    except DuplicateKey as error:
        raise StackFileError(f"{path.name}: {error}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None


def _mapping(path: Path, loaded: Any) -> dict[str, Any]:
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise StackFileError(f"{path.name} must be a YAML mapping (key: value lines), not {yaml_kind(loaded)}")
    return loaded


def read_stack_files(project_dir: Path, stack: str) -> StackFiles:
    project_path = project_dir / "Pulumi.yaml"
    project_file = _mapping(project_path, _load(project_path, _read(project_path)))
    project = project_file.get("name")
    if not isinstance(project, str):
        raise StackFileError("Pulumi.yaml has no project name")
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        available = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack file Pulumi.{stack}.yaml; stacks here: {', '.join(available) or 'none'}")
    text = _read(stack_path)
    stack_file = _mapping(stack_path, _load(stack_path, text))
    result = StackFiles(project, stack, project_dir, str(project_file.get("main") or "__main__.py"))
    result.declared = {qualify(k, project): d for k, d in (project_file.get("config") or {}).items()
                       if isinstance(d, dict)}
    problems = _layout_problems(stack_path.name, stack_file, project)
    config = stack_file.get("config") or {}
    if not isinstance(config, dict):
        problems.append(f"config: must be a mapping of keys to values, not {yaml_kind(config)}")
        config = {}
    nodes = _config_nodes(text)
    for key, value in config.items():
        full = qualify(str(key), project)
        node = nodes.get(key)
        written = Written(node.start_mark.line + 1 if node else 0,
                          node.value if isinstance(node, yaml.ScalarNode) else "", value,
                          bool(isinstance(node, yaml.ScalarNode) and node.style))
        result.written[full] = written
        problem = value_problem(full, written, result.declared.get(full))
        if problem:
            problems.append(problem)
            continue
        if is_secure(value):
            result.config[full] = SECRET_PLACEHOLDER
            result.secret_keys.append(full)
        else:
            result.config[full] = marshal_value(value)
    if problems:
        count = len(problems)
        raise StackFileError(f"{stack_path.name} is not read as you meant it ({count} problem"
                             f"{'s' if count != 1 else ''}):\n" + "\n".join(f"  - {p}" for p in problems))
    _apply_project_config(result, project_file.get("config") or {})
    return result


def _layout_problems(file_name: str, stack_file: dict[Any, Any], project: str) -> list[str]:
    """Keys outside ``config:``: the CLI ignores them, so a value written there changes nothing."""
    stray = [str(k) for k in stack_file if k not in STACK_FILE_KEYS]
    if not stray:
        return []
    if "config" not in stack_file:
        return [f"{file_name} has no config: block, so the CLI reads none of its keys ({shorten(', '.join(stray))}); "
                f"put them under a first line 'config:', indented"]
    return [f"{key}: outside the config: block, so the CLI ignores it; indent it under config: (as "
            f"{qualify(key, project)})" for key in stray]


# --- One value against what Pulumi.yaml declares --------------------------------------------------------------


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def value_problem(key: str, written: Written, declared: dict[str, Any] | None) -> str | None:
    """Why the CLI would not pass ``written`` on as the user meant it, or None."""
    value = written.value
    if value is None:
        return (f"{key} (line {written.line}) has no value; the CLI passes it as empty text and warns that it will "
                f"be null in a future version; write '' for empty text, or give the value")
    if is_secure(value):
        return secure_problem(key, value["secure"])
    bad = _non_finite(value)
    if bad:
        return f"{key} = {bad}: not a number Pulumi can pass on (JSON has no infinity or NaN)"
    if declared and declared.get("type"):
        return type_problem(key, written, declared["type"], declared.get("items"))
    return None


def _non_finite(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return next((b for b in map(_non_finite, value) if b), None)
    if isinstance(value, dict):
        return next((b for b in map(_non_finite, value.values()) if b), None)
    return None


# A passphrase or cloud-KMS secrets manager writes v1:<base64 nonce>:<base64 ciphertext> (symmetricCrypter in
# sdk/go/common/resource/config/crypt.go); Pulumi Cloud's writes the service's ciphertext in standard base64.
_V1_CIPHERTEXT = re.compile(r"v1:([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,}={0,2}")


def is_ciphertext(text: str) -> bool:
    match = _V1_CIPHERTEXT.fullmatch(text)
    parts = match.groups() if match else ((text,) if _BASE64.fullmatch(text) else ())
    try:
        return bool(parts) and all(base64.b64decode(p, validate=True) for p in parts)
    except (binascii.Error, ValueError):
        return False


def secure_problem(key: str, ciphertext: Any) -> str | None:
    if not isinstance(ciphertext, str) or not ciphertext:
        return (f"{key} = secure: (empty): a secure value holds the ciphertext `pulumi config set --secret {key} "
                f"...` writes; the CLI cannot decrypt an empty one")
    if not is_ciphertext(ciphertext):
        return (f"{key} = secure: {shorten(ciphertext)}: not ciphertext (v1:<base64>:<base64> from a passphrase or "
                f"KMS secrets manager, or base64 from Pulumi Cloud); set it with `pulumi config set --secret {key}`, "
                f"never write the secret itself")
    return None


def yaml_kind(value: Any) -> str:
    """A value's type in the words of YAML."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {_scalar_text(_round_trip(value))}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a map"


def _reading_hint(written: Written) -> str:
    """How YAML changed what the user typed, when it did."""
    if written.quoted or isinstance(written.value, str) or not written.text:
        return ""
    if isinstance(written.value, bool) and written.text not in ("true", "false"):
        return f" (YAML read {written.text} as {str(written.value).lower()}, as the CLI's YAML 1.1 booleans do)"
    shown = _scalar_text(_round_trip(written.value))
    return f" (YAML read {written.text} as the number {shown})" if shown != written.text else ""


def type_problem(key: str, written: Written, type_name: str, items: dict[str, Any] | None) -> str | None:
    value = written.value
    line = f" (line {written.line})" if written.line else ""
    if type_name == "string" and not isinstance(value, str):
        if isinstance(value, bool) and written.text == str(value).lower():
            return None  # true and false reach the program as the text the user wrote
        if isinstance(value, (bool, int, float)):
            return (f"{key} = {_scalar_text(_round_trip(value))}{line}: text expected, not {yaml_kind(value)}"
                    f"{_reading_hint(written)}; quote it: \"{written.text or value}\"")
        return f"{key}{line}: text expected, not {yaml_kind(value)}"
    if type_name == "integer" and not _is_whole(value):
        return f"{key} = {shorten(marshal_value(value))}{line}: a whole number expected, not {yaml_kind(value)}"
    if type_name == "boolean" and not (isinstance(value, bool) or value in ("true", "false")):
        what = f"the text \"{value}\"" if isinstance(value, str) else yaml_kind(value)
        return (f"{key} = {shorten(marshal_value(value))}{line}: true or false expected, not {what}; Pulumi's "
                f"get_bool accepts only true and false")
    if type_name == "array":
        if not isinstance(value, list):
            return f"{key} = {shorten(marshal_value(value))}{line}: a list expected, not {yaml_kind(value)}"
        item_type = (items or {}).get("type")
        for index, item in enumerate(value):
            item_problem = type_problem(f"{key}[{index}]", Written(written.line, "", item, False), item_type,
                                        (items or {}).get("items")) if item_type else None
            if item_problem:
                return item_problem
    return None


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value == int(value)
    return isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value) is not None


def shorten(text: str) -> str:
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."


# --- Pulumi.yaml's defaults, merged as workspace.mergeConfig merges them ---------------------------------------


def _coerce(value: Any) -> Any:
    """object.go's coerce: text "true"/"false" and base-10 integers not starting with 0 become typed."""
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        if re.fullmatch(r"-?[1-9]\d*|0", value):
            return int(value)
    return value


def _apply_project_config(files: StackFiles, declarations: dict[str, Any]) -> None:
    nested: dict[str, dict[str, Any]] = {}
    for key, declared in declarations.items():
        if isinstance(declared, dict):
            if "value" not in declared and "default" not in declared:
                continue
            value = declared.get("value", declared.get("default"))
        else:
            value = declared
        full = qualify(key, files.project)
        namespace, name = full.split(":", 1)
        if "." not in name:
            files.config.setdefault(full, marshal_value(value))
            continue
        # Map.Get/Set with path=true: "network.azCount" is the member azCount of the key <project>:network.
        root, _, member = name.partition(".")
        nested.setdefault(f"{namespace}:{root}", {})[member] = _coerce(value)
    for root, members in nested.items():
        files.config.setdefault(root, _go_json(members))


def closest(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None
