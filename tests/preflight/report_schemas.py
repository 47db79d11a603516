"""The schemas reports are validated against (schemas/README.md says where each comes from)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import xmlschema

SCHEMAS = Path(__file__).resolve().parent / "schemas"
JUNIT_SCHEMA = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
SARIF_SCHEMAS = [json.loads((SCHEMAS / name).read_text())
                 for name in ("sarif-schema-2.1.0.json", "sarif-2.1.0-rtm.5.json")]


def validate_sarif(document: dict) -> None:
    """Raise unless ``document`` is valid against both SARIF 2.1.0 schema revisions."""
    for schema in SARIF_SCHEMAS:
        jsonschema.validators.validator_for(schema)(schema).validate(document)
