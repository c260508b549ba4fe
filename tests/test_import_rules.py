"""Which way the code depends: domain packages stay free of infrastructure, `reviva` never reaches
into handlers or tooling, and its packages import one another without cycles.

Every module under `reviva/` and `functions/` is parsed with `ast`, never imported, so the rules hold
for code paths no test runs. Every import counts wherever it sits: at module level, inside a
function (a lazy import is still a dependency, only a later one), and under `if TYPE_CHECKING:`
(an annotation naming a pyarrow or pyiceberg type still ties the module to that library's model).

The tree has no known breach: a new one fails here, with the import that makes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = ("reviva", "functions")

# Domain packages: the stages' logic. The ones that do not exist yet are listed so that they start clean.
DOMAIN_PACKAGES = (
    "reviva.ingest",
    "reviva.enrich",
    "reviva.privacy",
    "reviva.analytics",
    "reviva.query",
    "reviva.segment",
    "reviva.contracts",
    "reviva.scoring",
    "reviva.erasure",
    "reviva.experiments",
    "reviva.audiences",
    "reviva.personalization",
)
# What a domain package takes as arguments (through its ports) instead of importing. `reviva.aws_clients`
# is boto3's client factory: importing it is importing boto3.
INFRASTRUCTURE = (
    "boto3",
    "botocore",
    "pyarrow",
    "duckdb",
    "pynamodb",
    "pyiceberg",
    "reviva.aws_clients",
    "reviva.adapters",
    "reviva.composition",
)
HANDLERS = ("functions",)
DEV_TOOLING = ("reviva_dev",)
OUTSIDE_THE_RUNTIME = ("reviva_dev", "tests", "bench", "cost")


@dataclass(frozen=True)
class Rule:
    """Modules under any of `importers` import nothing under any of `forbidden`."""

    key: str
    importers: tuple[str, ...]
    forbidden: tuple[str, ...]


RULES = (
    # Domain packages import no infrastructure, no handler and no dev tooling.
    Rule("pure-domain", DOMAIN_PACKAGES, (*INFRASTRUCTURE, *HANDLERS, *DEV_TOOLING)),
    # The shared package, adapters included, never imports a handler.
    Rule("no-handlers", ("reviva",), HANDLERS),
    # The shared package never imports what Lambda assets leave out.
    Rule("runtime-only", ("reviva",), OUTSIDE_THE_RUNTIME),
)
# The fourth rule, no import cycles between the packages of `reviva` (and the handler folders), has no
# `Rule`: its breaches are the edges inside a cycle, ("no-cycles", from package, to package).

# ---------------------------------------------------------------------------------------- the parse


def module_name(path: Path) -> str:
    """The dotted name of a source file: `reviva/adapters/lake/__init__.py` → `reviva.adapters.lake`."""
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for root in SOURCE_ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


MODULES: dict[str, Path] = {module_name(path): path for path in source_files()}


def is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def imported_modules(module: str) -> set[str]:
    """Every module `module` imports, relative imports resolved, `from pkg import submodule` included."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    package = module if is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                # `from reviva import segment` imports the module reviva.segment, not a name of reviva.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found


IMPORTS: dict[str, set[str]] = {module: imported_modules(module) for module in MODULES}


def under(module: str, prefixes: tuple[str, ...]) -> str | None:
    """The prefix (a package or module) `module` is, or lies inside; None if none."""
    return next((p for p in prefixes if module == p or module.startswith(p + ".")), None)


def rule_violations() -> set[tuple[str, str, str]]:
    """(rule, importing module, forbidden package) for every import that breaks a rule."""
    found: set[tuple[str, str, str]] = set()
    for rule in RULES:
        for module, imported in IMPORTS.items():
            if under(module, rule.importers) is None:
                continue
            for target in imported:
                forbidden = under(target, rule.forbidden)
                if forbidden is not None:
                    found.add((rule.key, module, forbidden))
    return found


# --------------------------------------------------------------------------------- the package graph


def node_of(module: str) -> str | None:
    """The graph node of a project module: `reviva.<package>` or a top-level `reviva.<module>`, or
    `functions.<name>`; None for third-party modules and the bare `reviva` package."""
    parts = module.split(".")
    if parts[0] not in SOURCE_ROOTS or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imported in IMPORTS.items():
        source = node_of(module)
        if source is None:
            continue
        graph.setdefault(source, set())
        for target in imported:
            node = node_of(target)
            if node is not None and node != source:
                graph[source].add(node)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components with more than one node are the cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def cycle_evidence(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The module imports behind each edge inside a cycle, so the failure says what to move."""
    lines = []
    for module, imported in sorted(IMPORTS.items()):
        source = node_of(module)
        if source not in component:
            continue
        for target in sorted(imported):
            node = node_of(target)
            if node in component and node != source and node in graph[source]:
                lines.append(f"{module} -> {target}")
    return lines


# -------------------------------------------------------------------------------------------- tests


def test_the_parse_sees_the_tree() -> None:
    assert "functions.ingest.handler" in MODULES and "reviva.settings" in MODULES
    assert "reviva.adapters.dynamodb.tables" in IMPORTS["reviva.composition"]
    assert "boto3" in IMPORTS["reviva.aws_clients"]


def test_no_import_breaks_a_rule() -> None:
    assert sorted(rule_violations()) == []


def test_the_packages_of_reviva_import_one_another_without_cycles() -> None:
    graph = package_graph()
    cycles = [component for component in strongly_connected(graph) if len(component) > 1]
    assert [cycle_evidence(component, graph) for component in cycles] == []
