"""The layering rules of ARCHITECTURE.md, read from the source (lazy imports included).

Layers import downwards only: data → models → explain / compress → metrics → compare → pipeline
→ report → workflow (``leanlens.run``/``sweep``: the pipeline with its report) → the flat API
(``leanlens/__init__``) → cli; the root
helpers (errors, config, limits, _io, _validation, …) are the floor. No module imports a private
name or a private module from another package, nor reads a private attribute (``obj._name``) that
only another package defines. A "package" is a top-level subpackage of leanlens (``explain``
with its ``shapley`` and ``gradients``); the root modules form one more.

Each check is also run on a small crafted tree, so that a check that cannot fail would be seen.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import leanlens

ROOT = Path(leanlens.__file__).parent
LAYERS = {"data": 1, "models": 2, "explain": 3, "compress": 3, "metrics": 4, "compare": 5, "pipeline": 6,
          "report": 7, "workflow": 8, "cli": 10, "testing": 10}
#: the flat public API (leanlens/__init__) re-exports every layer; the CLI and leanlens.testing use it
TOP = 9
#: Upward arrows that stand today, each for its owner to remove; a new one fails the test.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _module(root: Path, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _layer(mod: str) -> int:
    parts = mod.split(".")
    return TOP if len(parts) == 1 else LAYERS.get(parts[1], 0)


def _top_package(mod: str) -> str:
    """``leanlens.explain`` for ``leanlens.explain.shapley.kernel``; ``leanlens`` for a root module."""
    parts = mod.split(".")
    is_dir_module = len(parts) > 1 and (ROOT_OF[parts[0]] / parts[1]).is_dir()
    return ".".join(parts[:2]) if is_dir_module else parts[0]


ROOT_OF: dict[str, Path] = {}


@functools.cache
def _parsed(root: Path) -> dict[Path, ast.Module]:
    """Every module of the tree, parsed once for all the checks."""
    ROOT_OF[root.name] = root
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(root.rglob("*.py"))}


def _imports(root: Path) -> Iterator[tuple[str, str, str | None, int]]:
    """(importing module, imported module, imported name or None, line) for every import of the tree."""
    for path, tree in _parsed(root).items():
        me, is_pkg = _module(root, path)
        package = me if is_pkg else me.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    as_path = root.parent / Path(*sub.split("."))
                    is_module = as_path.with_suffix(".py").exists() or as_path.is_dir()
                    yield me, (sub if is_module else target), (None if is_module else alias.name), node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield me, alias.name, None, node.lineno


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(root: Path) -> list[str]:
    """Imports of a private module or name of another package (the root helper modules such as
    ``_io`` are shared by the whole package: importing them is fine, their private names are not)."""
    bad = []
    for me, target, name, line in _imports(root):
        if not target.startswith(root.name + "."):
            continue
        mine, theirs = _top_package(me), _top_package(target)
        if mine == theirs:
            continue  # a package's own modules are its own
        inner = target.split(".")[2:] if theirs != root.name else []
        if any(_is_private(p) for p in inner) or (name is not None and _is_private(name)):
            bad.append(f"{me}:{line} imports {target}{'.' + name if name else ''}")
    return bad


def private_attribute_reads(root: Path) -> list[str]:
    """``obj._name`` (or ``getattr(obj, "_name")``) where only another package defines ``_name``.

    Without types, "another package's object" is read from the definitions: the private
    attributes, methods and module-level names each package defines. A private name that the
    reading package defines too (``self._bar`` of its own classes) is its own; one that no
    leanlens package defines belongs to a library (torch's ``_modules``) and is not judged here.
    """
    trees = _parsed(root)
    owners: dict[str, set[str]] = defaultdict(set)
    for path, tree in trees.items():
        package = _top_package(_module(root, path)[0])
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names = [node.attr]
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names = [node.id]
            for n in names:
                if _is_private(n):
                    owners[n].add(package)
    bad = []
    for path, tree in trees.items():
        me = _module(root, path)[0]
        package = _top_package(me)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                obj, attr = node.value, node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str) and _is_private(node.args[1].value)):
                obj, attr = node.args[0], node.args[1].value
            else:
                continue
            if isinstance(obj, ast.Name) and obj.id in ("self", "cls"):
                continue
            if owners.get(attr) and package not in owners[attr]:
                bad.append(f"{me}:{node.lineno} reads {ast.unparse(obj)}.{attr}, defined only in {sorted(owners[attr])}")
    return bad


def upward_imports(root: Path) -> set[tuple[str, str]]:
    return {(me, target) for me, target, _, _ in _imports(root)
            if target.startswith(root.name) and _layer(target) > _layer(me)}


def test_no_private_name_crosses_a_package():
    assert private_imports(ROOT) == []


def test_no_private_attribute_of_another_package_is_read():
    assert private_attribute_reads(ROOT) == []


def test_layers_import_downwards_only():
    upward = upward_imports(ROOT)
    assert upward <= KNOWN_UPWARD, sorted(upward - KNOWN_UPWARD)


def _crafted(tmp_path: Path) -> Path:
    """A tiny leanlens-shaped tree with one of each fault (the faults of da146af and before)."""
    root = tmp_path / "leanlens"
    files = {
        "__init__.py": "from .explain._entry import explain\n",
        "_io.py": "def _json_default(v):\n    return v\n",
        "models/__init__.py": "",
        "models/onnx_model.py": "class OnnxModel:\n    def __init__(self):\n        self._session = None\n",
        "explain/__init__.py": "",
        "explain/_entry.py": "def explain():\n    pass\n",
        "metrics/__init__.py": "",
        "metrics/base.py": "from .._io import _json_default\n",
        "compress/__init__.py": "",
        "compress/measurement.py": "def measure(model):\n    return model._session, getattr(model, '_session')\n",
        "pipeline/__init__.py": "",
        "pipeline/run.py": "def run():\n    from ..report import render\n",
        "report/__init__.py": "def render():\n    pass\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checks_find_each_fault_in_a_crafted_tree(tmp_path):
    root = _crafted(tmp_path)
    assert sorted(private_imports(root)) == ["leanlens.metrics.base:1 imports leanlens._io._json_default",
                                            "leanlens:1 imports leanlens.explain._entry.explain"]
    reads = private_attribute_reads(root)
    assert len(reads) == 2 and all(r.startswith("leanlens.compress.measurement:2 reads model._session") for r in reads)
    assert upward_imports(root) == {("leanlens.pipeline.run", "leanlens.report")}
