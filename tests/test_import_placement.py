"""No import inside a function body: an import belongs at the top of its module, where the layer contract
(`lint-imports`, pyproject.toml) and a reader see it. A late import hides a cycle or a layer crossing.

The few exceptions are listed in ALLOWED, each with why. An entry that no longer matches anything fails too,
so the list shrinks as offenders are fixed.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cds_service"

# (module path under cds_service/, imported module as written) -> why it is imported inside a function.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "web/replay_cache.py",
        "redis",
    ): "optional dependency (the `redis` extra): imported only when CDS_REPLAY_CACHE_URL names a Redis server",
    (
        "store/feedback.py",
        "sqlalchemy.dialects.postgresql",
    ): "optional backend (the `postgres` extra): its dialect is loaded only when the store is on PostgreSQL; "
    "at the top it would slow every SQLite start (benchmarks/README.md, the store's speed tricks)",
    (
        "store/schema.py",
        ".",
    ): "deferred on purpose, not a cycle: alembic (and mako) load only when a migration is needed; a database at "
    "head never needs them (start time and memory of every worker)",
}


def _function_level_imports(path: Path) -> list[tuple[str, int, str]]:
    """(imported module as written, line, enclosing function) for each import inside a function body."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int, str]] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                found.extend((alias.name, node.lineno, getattr(fn, "name", "<lambda>")) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.append(("." * node.level + (node.module or ""), node.lineno, getattr(fn, "name", "<lambda>")))
    return sorted(set(found), key=lambda f: f[1])


def _all_function_level_imports() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for module, line, function in _function_level_imports(path):
            out.setdefault((rel, module), []).append(f"cds_service/{rel}:{line} in {function}()")
    return out


def test_no_import_inside_a_function_outside_the_allowlist():
    offenders = {key: where for key, where in _all_function_level_imports().items() if key not in ALLOWED}
    assert not offenders, (
        "imports inside functions (move them to the top of the module, or list them in "
        "ALLOWED with the reason): " + "; ".join(w for ws in offenders.values() for w in ws)
    )


def test_every_allowlist_entry_still_matches_and_says_why():
    found = _all_function_level_imports()
    stale = [key for key in ALLOWED if key not in found]
    assert not stale, f"no longer imported inside a function: remove from ALLOWED: {stale}"
    assert all(len(why) > 20 for why in ALLOWED.values())


def test_the_checker_finds_an_import_in_a_function_and_none_at_module_level(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n\n\ndef f():\n    from .x import y\n    import json\n    return y, json\n\n\n"
        "class C:\n    def m(self):\n        g = lambda: __import__('re')\n        import re\n"
    )
    assert _function_level_imports(sample) == [(".x", 5, "f"), ("json", 6, "f"), ("re", 13, "m")]
