"""State machine definitions (Amazon States Language), stored once for CDK and the local runtime.

Each definition is a JSON file beside this module. ARNs and names that differ between AWS and the
emulator are `${Name}` placeholders: CDK passes them as `DefinitionSubstitutions`, the local runtime
binds them with `render_definition`. So the state machine AWS runs is the one local tests execute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

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
