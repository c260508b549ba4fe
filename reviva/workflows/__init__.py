"""State machine definitions (Amazon States Language), stored once for CDK and the local runtime.

Each definition is a JSON file beside this module. ARNs and names that differ between AWS and the
emulator are `${Name}` placeholders: CDK passes them as `DefinitionSubstitutions`, the local runtime
binds them with `render_definition`. So the state machine AWS runs is the one local tests execute.

A function a state machine declares (`StateMachineSpec.functions`) is bound by one naming rule,
`function_arn_placeholder`, and `function_substitutions` applies it for both sides, so CDK and the
local runtime cannot bind a definition differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from reviva.topology import StateMachineSpec

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}")


def definition_text(name: str) -> str:
    """The raw ASL of the definition `name` (e.g. "erasure"), placeholders unbound."""
    return resources.files(__package__).joinpath(f"{name}.asl.json").read_text(encoding="utf-8")


def placeholders(name: str) -> frozenset[str]:
    """The `${Name}` placeholders a definition needs bound."""
    return frozenset(_PLACEHOLDER.findall(definition_text(name)))


def render_definition(name: str, substitutions: Mapping[str, str]) -> str:
    """The definition with every placeholder bound; refuses to leave one unbound."""
    missing = placeholders(name) - substitutions.keys()
    if missing:
        raise KeyError(f"unbound placeholders in {name}: {sorted(missing)}")
    return _PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], definition_text(name))


def load_definition(name: str, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The bound definition as a dict."""
    loaded: dict[str, Any] = json.loads(render_definition(name, substitutions))
    return loaded


def function_arn_placeholder(function: str) -> str:
    """The placeholder that stands for a function's ARN: "erasure" → "ErasureFunctionArn"."""
    return "".join(part.title() for part in function.split("_")) + "FunctionArn"


def function_substitutions(spec: StateMachineSpec, function_arns: Mapping[str, str]) -> dict[str, str]:
    """The substitutions of one state machine: the ARN of each function it declares, by placeholder.

    `function_arns` maps function names (as in the topology) to ARNs, CDK tokens in AWS or the
    emulator's ARNs locally. A placeholder the definition uses but no declared function binds is an
    error here, before any resource is created, rather than an unbound `${...}` at run time.
    """
    missing = [name for name in spec.functions if name not in function_arns]
    if missing:
        raise KeyError(f"state machine {spec.logical_name} calls functions without an ARN: {missing}")
    substitutions = {function_arn_placeholder(name): function_arns[name] for name in spec.functions}
    unbound = placeholders(spec.definition) - substitutions.keys()
    if unbound:
        raise KeyError(
            f"state machine {spec.logical_name} uses placeholders no declared function binds: "
            f"{sorted(unbound)}"
        )
    return {name: value for name, value in substitutions.items() if name in placeholders(spec.definition)}
