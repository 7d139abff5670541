"""The catalogue of diagnostic codes: stable identifiers with a one-line title each.

The SARIF reporter publishes these as rules; docs/diagnostics.md documents each with a failing
example, and a test keeps the two in step. Codes are never reused for a different meaning.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # AX1xx: reading the file and YAML
    "AX100": "cannot read the path",
    "AX101": "YAML syntax error",
    "AX102": "duplicate key",
    "AX103": "YAML 1.1 boolean-like word read as a string",
    "AX104": "YAML number that does not mean what it looks like",
    "AX105": "file is not valid UTF-8",
    "AX106": "binary file",
    "AX107": "alias expansion too large or recursive",
    "AX108": "nesting too deep",
    "AX109": "empty config",
    "AX110": "top level is not a mapping",
    "AX111": "more than one YAML document",
    "AX112": "file too large",
    "AX113": "no config files found",
    "AX114": "unsupported YAML tag",
    # AX2xx: schema
    "AX201": "unknown key",
    "AX202": "wrong type",
    "AX203": "missing required key",
    "AX204": "invalid value",
    "AX205": "Axocoatl key not supported yet",
    "AX206": "deprecated value",
    "AX207": "invalid id",
    "AX208": "declared but not executed by axoc run yet",
    # AX3xx: ids, references, interpolation
    "AX301": "duplicate id",
    "AX302": "unresolved reference",
    "AX303": "environment variable not set",
    "AX304": "malformed ${VAR} interpolation",
    "AX305": "secret written in plain text",
    "AX306": "agent has no model",
    # AX4xx: structure
    "AX401": "dependency cycle",
    "AX402": "role rule violated",
    "AX403": "budget that cannot be met",
    "AX404": "invalid interval",
    "AX405": "workflow without agents or listing one twice",
    "AX406": "emit tool without events it may publish, or an event it may not",
    "AX407": "WASM tool module missing or not valid WebAssembly",
    "AX408": "tool parameters not a valid JSON schema",
    "AX409": "tool name the agent's provider refuses",
    # AX5xx: events, activation expressions and lattice analysis
    "AX501": "activation expression syntax error",
    "AX502": "activation expression cannot be lowered",
    "AX503": "unit can never fire",
    "AX504": "decaying join cannot fire",
    "AX505": "unbounded reactive feedback loop",
    "AX506": "agent unreachable from the workflow entry",
    "AX507": "dependency outside the workflow",
    "AX508": "event emitted that nothing reacts to",
    "AX509": "reacts_to pattern that nothing emits",
    "AX510": "invalid event pattern",
    "AX511": "setting that has no effect",
}
