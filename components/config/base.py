"""The building blocks of the stack's configuration: settings, sections and the errors they raise.

Pulumi hands a program its config as a flat map of ``"namespace:key"`` to strings (numbers, booleans
and lists JSON-encoded). Every key of this project is a dotted path, ``aws-compute:network.azCount``,
so that ``Pulumi.yaml`` can declare each one with a type, a default and a description. A section
(``network``, ``server``, ...) is a frozen pydantic model whose camelCase field names are those paths.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

PROJECT = "aws-compute"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: the full key, the value found and what is allowed."""

    key: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.key} = {shown_value(self.value)}: {self.message}"


SHOWN_ITEMS, SHOWN_LENGTH = 3, 80


def shown_value(value: Any) -> str:
    """A value as an error shows it, once: a long list by its first items and count, long text cut short."""
    if value is _MISSING:
        return "(missing)"
    if isinstance(value, (list, tuple)) and len(value) > SHOWN_ITEMS:
        head = ", ".join(json.dumps(v, default=str) for v in value[:SHOWN_ITEMS])
        return f"[{head}, ... ({len(value)} items)]"
    text = json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."


class ConfigError(Exception):
    """Every problem found in a stack's config, reported at once."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=lambda p: p.key)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        lines = [f"invalid stack configuration ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


_MISSING = object()


def setting(default: Any, description: str, allowed: str, **constraints: Any) -> Any:
    """A config field: its default, a one-sentence description and, in words, what values are allowed.

    The description and the allowed values feed Pulumi.yaml, the README table and every error message.
    """
    extra = {"allowed": allowed}
    if callable(default):
        return Field(default_factory=default, description=description, json_schema_extra=extra, **constraints)
    return Field(default=default, description=description, json_schema_extra=extra, **constraints)


class Section(BaseModel):
    """A frozen group of settings under one key prefix, e.g. ``network``."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        strict=False,
    )


def full_key(prefix: str, field: str) -> str:
    return f"{PROJECT}:{prefix}.{field}" if prefix else f"{PROJECT}:{field}"


def allowed_of(section: type[Section], alias: str) -> str:
    for name, info in section.model_fields.items():
        if (info.alias or name) == alias:
            return (info.json_schema_extra or {}).get("allowed", "")
    return ""


def field_aliases(section: type[Section]) -> list[str]:
    return [info.alias or name for name, info in section.model_fields.items()]


def decode_value(raw: Any, is_text: bool) -> Any:
    """Undo the CLI's marshalling: a text field's value is passed raw, anything else JSON-encoded."""
    if is_text or not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _is_text_field(section: type[Section], alias: str) -> bool:
    for name, info in section.model_fields.items():
        if (info.alias or name) == alias:
            annotation = info.annotation
            if annotation is str:
                return True
            args = get_args(annotation)
            return get_origin(annotation) is Literal and all(isinstance(a, str) for a in args)
    return False


def parse_section(
    section: type[Section], prefix: str, values: Mapping[str, Any]
) -> tuple[Section | None, list[Problem]]:
    """Validate one section's raw values; return the frozen section or the problems, never both."""
    decoded = {alias: decode_value(raw, _is_text_field(section, alias)) for alias, raw in values.items()}
    mistyped = [Problem(full_key(prefix, alias), value, f"{expected} expected, not {yaml_kind(value)}; "
                        f"allowed: {allowed_of(section, alias)}")
                for alias, value in decoded.items()
                if (expected := _strict_kind(section, alias)) and not _is_kind(value, expected)]
    if mistyped:
        return None, mistyped
    try:
        return section.model_validate(decoded), []
    except ValidationError as error:
        return None, [_problem_from(section, prefix, decoded, detail) for detail in error.errors()]


def yaml_kind(value: Any) -> str:
    """A value's type in the words of YAML."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"the text {json.dumps(value)}" if value in ("yes", "no", "on", "off", "y", "n") else "text"
    return "a list" if isinstance(value, list) else "a map"


def _strict_kind(section: type[Section], alias: str) -> str | None:
    """Where pydantic's lax mode would accept what Pulumi does not: booleans only true/false (get_bool), and
    numbers never from a boolean (``minSize: true`` is not 1)."""
    for name, info in section.model_fields.items():
        if (info.alias or name) == alias:
            return {bool: "true or false", int: "a whole number"}.get(info.annotation)
    return None


def _is_kind(value: Any, expected: str) -> bool:
    if expected == "true or false":
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# pydantic's error types in the words of YAML.
_YAML_MESSAGES = {
    "int_type": "a whole number expected", "int_parsing": "a whole number expected",
    "int_from_float": "a whole number expected, not a fraction", "string_type": "text expected",
    "tuple_type": "a list expected", "list_type": "a list expected", "literal_error": "not one of the allowed values",
}


def _yaml_message(detail: Any) -> str:
    context = detail.get("ctx") or {}
    if detail["type"] in _YAML_MESSAGES:
        return _YAML_MESSAGES[detail["type"]]
    if detail["type"] == "greater_than_equal":
        return f"below the minimum, {context.get('ge')}"
    if detail["type"] == "less_than_equal":
        return f"above the maximum, {context.get('le')}"
    if detail["type"] == "string_too_long":
        return f"longer than {context.get('max_length')} characters"
    return detail["msg"].removeprefix("Value error, ")


def _problem_from(section: type[Section], prefix: str, values: Mapping[str, Any], detail: Any) -> Problem:
    loc = [str(part) for part in detail["loc"]]
    alias = loc[0] if loc else ""
    key = full_key(prefix, alias) + "".join(f"[{part}]" for part in loc[1:])
    if detail["type"] == "extra_forbidden":
        return Problem(key, values.get(alias, _MISSING), unknown_key_message(prefix, alias, field_aliases(section)))
    value = values.get(alias, _MISSING)
    for part in detail["loc"][1:]:
        if isinstance(value, (list, tuple)) and isinstance(part, int) and part < len(value):
            value = value[part]
    allowed = allowed_of(section, alias)
    message = _yaml_message(detail)
    if allowed:
        message = f"{message}; allowed: {allowed}"
    return Problem(key, value, message)


def unknown_key_message(prefix: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean {full_key(prefix, close[0])}?" if close else ""
    listing = ", ".join(sorted(known))
    return f"unknown key{'; ' + hint if hint else ''} (known keys under '{prefix or PROJECT}': {listing})"


# --- Value types that several sections share ---------------------------------------------------------

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
LOG_RETENTION_ALLOWED = "one of CloudWatch's retention periods: " + ", ".join(map(str, LOG_RETENTION_DAYS))


def _known_log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError("CloudWatch Logs does not offer this retention period")
    return value


LogRetentionDays = Annotated[int, AfterValidator(_known_log_retention)]

PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+?*&=%]*$")
MAX_PATH_PATTERNS = 5  # an ALB rule allows five condition values in all
PATH_PATTERNS_ALLOWED = (f"1 to {MAX_PATH_PATTERNS} paths starting with /, up to 128 characters, "
                         "* and ? as wildcards")


def _valid_path_patterns(value: tuple[str, ...]) -> tuple[str, ...]:
    if not 1 <= len(value) <= MAX_PATH_PATTERNS:
        raise ValueError(f"{len(value)} patterns")
    bad = [p for p in value if len(p) > 128 or not PATH_PATTERN.match(p)]
    if bad:
        raise ValueError(f"not path patterns: {', '.join(bad)}")
    return value


PathPatterns = Annotated[tuple[str, ...], AfterValidator(_valid_path_patterns)]
