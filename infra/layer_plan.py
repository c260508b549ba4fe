"""Which layers each function gets: declared by the topology's flags, read by the stack and the tests.

No CDK import here, so `tests/infra/test_layers.py` can check the plan against built layers cheaply.
"""

from __future__ import annotations

from reviva.topology import FunctionSpec

# Built by layers/build.py in this order: the others are resolved against base and leave out what it ships.
LAYER_NAMES = ("base", "lake", "ml")


def layers_for(spec: FunctionSpec) -> tuple[str, ...]:
    """The function's layers, in the order Lambda extracts them: base first, then lake or ML."""
    chosen = ["base"]
    if spec.uses_lake_layer:
        chosen.append("lake")
    if spec.uses_ml_layer:
        chosen.append("ml")
    return tuple(chosen)
