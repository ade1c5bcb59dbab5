"""The layering rules of ARCHITECTURE.md, read from the source's imports (lazy ones included).

Layers import downwards only: data → models → explain / compress → metrics → compare → pipeline
→ report → cli; the root helpers (errors, config, _io, _validation, …) are the floor. No module
imports a private name (or a private module) from another package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import leanlens

ROOT = Path(leanlens.__file__).parent
LAYERS = {"data": 1, "models": 2, "explain": 3, "compress": 3, "metrics": 4, "compare": 5, "pipeline": 6,
          "report": 7, "cli": 8, "testing": 9}
#: Upward arrows that stand today, each for its owner to remove; a new one fails the test.
KNOWN_UPWARD = {
    ("leanlens.pipeline.run", "leanlens.report"),  # run() renders the report
    ("leanlens.pipeline.sweep", "leanlens.report"),
    ("leanlens.compress.auto", "leanlens.compare"),  # the auto search scores candidates with compare()
    ("leanlens.config", "leanlens.models.limits"),  # the config base reads the size bounds
}


def _module(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _layer(mod: str) -> int:
    parts = mod.split(".")
    if len(parts) == 1:
        return 9  # leanlens/__init__: the flat public API
    return LAYERS.get(parts[1], 0)


def _imports():
    for path in sorted(ROOT.rglob("*.py")):
        me, is_pkg = _module(path)
        package = me if is_pkg else me.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    is_module = (ROOT.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                        (ROOT.parent / Path(*sub.split("."))).is_dir()
                    yield me, package, (sub if is_module else target), (None if is_module else alias.name), node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield me, package, alias.name, None, node.lineno


def _package_of(mod: str) -> str:
    return mod if (ROOT.parent / Path(*mod.split("."))).is_dir() else mod.rsplit(".", 1)[0]


def test_no_private_name_crosses_a_package():
    bad = []
    for me, package, target, name, line in _imports():
        if not target.startswith("leanlens."):
            continue
        other = _package_of(target)
        if other == "leanlens" or other == package or other.startswith(package + "."):
            continue  # the root helpers are shared by the whole package; a package's own modules are its own
        private_module = any(p.startswith("_") and p != "__init__" for p in target.split(".")[2:])
        if private_module or (name is not None and name.startswith("_")):
            bad.append(f"{me}:{line} imports {target}{'.' + name if name else ''}")
    assert bad == []


def test_layers_import_downwards_only():
    upward = set()
    for me, _, target, _, _ in _imports():
        if target.startswith("leanlens") and me != "leanlens.cli" and _layer(target) > _layer(me):
            upward.add((me, target))
    assert upward <= KNOWN_UPWARD, sorted(upward - KNOWN_UPWARD)
