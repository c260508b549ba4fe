"""Print (as JSON) the third-party modules the repository's own code imports while a handler loads.

    python tests/infra/trace_imports.py functions.query.handler "from reviva... import ...; ..."

Run in a fresh interpreter by tests/infra/test_layers.py. The environment it gets is AWS's (Glue
catalog, Athena engine, ARNs instead of secrets are not needed: a test key is given), so the lazy
imports a handler makes on its AWS code path are recorded too, and the local-only ones (DuckDB, the
SQLite catalog) are not. Only imports made *by repository code* count: what a third-party package
imports in turn is that package's own requirement, which pip resolved into the same layer.
"""

from __future__ import annotations

import builtins
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGES = ("reviva", "functions")


def main(handler_module: str, warm_up: str) -> None:
    """Import `handler_module`, run `warm_up` (the handler's AWS-path setup), print what was imported."""
    sys.path.insert(0, str(REPO_ROOT))
    imported: dict[str, set[str]] = {}
    original_import = builtins.__import__

    def recording_import(
        name: str,
        globals: Mapping[str, object] | None = None,
        locals: Mapping[str, object] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        importer = str((globals or {}).get("__name__", ""))
        if level == 0 and importer.split(".")[0] in OWN_PACKAGES:
            top = name.split(".")[0]
            if top not in OWN_PACKAGES and top not in sys.stdlib_module_names and top != "__future__":
                imported.setdefault(top, set()).add(importer)
        return original_import(name, globals, locals, fromlist, level)

    builtins.__import__ = recording_import
    try:
        importlib.import_module(handler_module)
        if warm_up:
            exec(compile(warm_up, "<warm-up>", "exec"), {})
    finally:
        builtins.__import__ = original_import
    print(json.dumps({top: sorted(by) for top, by in sorted(imported.items())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
