"""What a skops file may hold before leanlens loads it, and checks of what it loaded.

skops rebuilds objects from a zip (``schema.json`` + ``.npy`` arrays) and calls the
constructors of the types it is told to trust, with arguments from the file. So:

1. :func:`audit_skops_bytes` reads only the zip's directory, the schema and the ``.npy``
   *headers*, and refuses declared sizes past the caps of :mod:`leanlens.limits`
   (zip bombs, a 200-byte ``.npy`` declaring 10**11 floats, schemas nested 100k deep) and
   malformed ``Tree`` constructions — before skops reads any array.
2. :func:`refused_types` decides which of the types skops reports untrusted we trust:
   scikit-learn *estimators* (``BaseEstimator`` subclasses defined in sklearn itself, not
   classes sklearn merely re-exports such as ``gzip.GzipFile``) and an explicit allow-list
   of helper types. Functions, methods and everything else are refused.
3. :func:`validate_loaded` walks the loaded estimator and validates every
   ``sklearn.tree._tree.Tree`` (children in range, acyclic, features < n_features,
   finite thresholds and values) before any prediction can index with them.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import zipfile
from typing import Any

import numpy as np

from ..errors import ModelFormatError, short_repr
from ..limits import cap, raise_hint

__all__ = ["HELPER_TYPES", "audit_skops_bytes", "refused_types", "validate_loaded"]

TREE = "sklearn.tree._tree.Tree"

#: Non-estimator types fitted sklearn models hold, trusted by name. Each is either plain
#: data rebuilt without calling a constructor (the MLP optimizers: ``__new__`` + state) or
#: validated after loading (``Tree``, see :func:`validate_tree`).
HELPER_TYPES: dict[str, str] = {
    TREE: "node storage of DecisionTree*, RandomForest*, ExtraTrees*, GradientBoosting*; validated after loading",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer": "MLP training state (plain arrays)",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer": "MLP training state (plain arrays)",
    "sklearn.calibration._CalibratedClassifier": "CalibratedClassifierCV's fitted pairs (estimators, no native state)",
}

#: Types refused with a reason the user can act on.
_KNOWN_REFUSALS = {
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": (
        "HistGradientBoosting* stores raw node indices that scikit-learn follows without bounds checks; "
        "leanlens does not load it from skops. Use GradientBoosting*, RandomForest* or export to ONNX."
    ),
    "sklearn.neighbors._kd_tree.KDTree": "a KDTree holds native index arrays; refit with algorithm='brute'.",
    "sklearn.neighbors._ball_tree.BallTree": "a BallTree holds native index arrays; refit with algorithm='brute'.",
}

_MAX_ZIP_ENTRIES = 1_000_000


def _fail(where: str, what: str) -> ModelFormatError:
    return ModelFormatError(f"The skops file {where!r} is refused: {what}")


# -- 1. before skops reads anything --------------------------------------------------------

def audit_skops_bytes(data: bytes, where: str) -> None:
    """Refuse a skops zip whose declared sizes, nesting or Tree constructions are out of bounds."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(where, f"it is not a skops (zip) file ({exc}).") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_ZIP_ENTRIES:
            raise _fail(where, f"it has {len(infos):,} entries.")
        total = sum(i.file_size for i in infos)
        if total > cap("MAX_SKOPS_UNCOMPRESSED_BYTES"):
            raise _fail(where, f"its entries declare {total:,} bytes uncompressed (a zip bomb?). "
                               f"{raise_hint('MAX_SKOPS_UNCOMPRESSED_BYTES')}")
        by_name = {i.filename: i for i in infos}
        schema_info = by_name.get("schema.json")
        if schema_info is None:
            raise _fail(where, "it has no schema.json.")
        if schema_info.file_size > cap("MAX_JSON_BYTES"):
            raise _fail(where, f"its schema.json declares {schema_info.file_size:,} bytes. {raise_hint('MAX_JSON_BYTES')}")
        try:
            schema = json.loads(zf.read(schema_info))
        except RecursionError:
            raise _fail(where, "its schema.json is nested too deeply.") from None
        except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _fail(where, f"its schema.json is corrupt ({short_repr(str(exc))}).") from None
        headers = {name: _npy_header(zf, info, where) for name, info in by_name.items() if name.endswith(".npy")}
        for node in _walk_nodes(schema, where):
            if f"{node.get('__module__')}.{node.get('__class__')}" == TREE:
                _audit_tree_node(node, zf, headers, where)


def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The declared (shape, dtype) of one ``.npy`` entry, read from its header only; checked against its bytes."""
    try:
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = reader(fh, max_header_size=10_000)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, SyntaxError) as exc:
        raise _fail(where, f"the array {info.filename!r} has a corrupt header ({short_repr(str(exc))}).") from None
    if dtype.hasobject:
        raise _fail(where, f"the array {info.filename!r} holds Python objects (pickle).")
    n = 1
    for s in shape:
        n *= int(s)
    declared = n * dtype.itemsize
    if declared > info.file_size:
        raise _fail(where, f"the array {info.filename!r} declares shape {short_repr(shape)} ({declared:,} bytes) "
                           f"but holds {info.file_size:,} bytes.")
    return tuple(int(s) for s in shape), dtype


def _walk_nodes(schema: Any, where: str) -> list[dict[str, Any]]:
    """Every dict in the schema (iteratively; depth capped so skops' recursive loader cannot overflow)."""
    limit = 3 * cap("MAX_NESTING")  # a skops node spans ~3 JSON levels (node, content, item)
    out: list[dict[str, Any]] = []
    stack: list[tuple[Any, int]] = [(schema, 0)]
    while stack:
        obj, depth = stack.pop()
        if depth > limit:
            raise _fail(where, f"its schema is nested deeper than {limit} levels.")
        if isinstance(obj, dict):
            out.append(obj)
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
    return out


def _json_int(node: Any, what: str, where: str, lo: int, hi: int) -> int:
    try:
        value = json.loads(node["content"]) if node.get("__loader__") == "JsonNode" else None
    except (TypeError, KeyError, ValueError):
        value = None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(where, f"a Tree's {what} must be an int in [{lo}, {hi:,}]. Got {short_repr(value)}.")
    return value


def _array_file(node: Any, what: str, headers: dict[str, Any], where: str) -> str:
    if not isinstance(node, dict) or node.get("__loader__") != "NdArrayNode" or node.get("file") not in headers:
        raise _fail(where, f"a Tree's {what} is not a stored array.")
    return str(node["file"])


def _audit_tree_node(node: dict[str, Any], zf: zipfile.ZipFile, headers: dict[str, Any], where: str) -> None:
    """A Tree's constructor arguments and state, checked before sklearn's Cython code sees them."""
    if node.get("__loader__") != "TreeNode":
        raise _fail(where, f"a Tree is built by {short_repr(node.get('__loader__'))} instead of skops' TreeNode.")
    try:
        args = node["__reduce__"]["args"]["content"]
        state = node["content"]["content"]
    except (KeyError, TypeError):
        raise _fail(where, "a Tree's description is incomplete.") from None
    if not isinstance(args, list) or len(args) != 3 or not isinstance(state, dict):
        raise _fail(where, "a Tree's constructor arguments are malformed.")
    _json_int(args[0], "n_features", where, 1, cap("MAX_FEATURES"))
    n_outputs = _json_int(args[2], "n_outputs", where, 1, 100_000)
    classes_file = _array_file(args[1], "n_classes", headers, where)
    shape, dtype = headers[classes_file]
    if shape != (n_outputs,) or dtype.kind not in "iu":
        raise _fail(where, f"a Tree's n_classes has shape {shape} ({dtype}); expected ({n_outputs},) integers.")
    n_classes = np.load(io.BytesIO(zf.read(classes_file)), allow_pickle=False)
    if n_classes.min() < 1 or n_classes.max() > 1_000_000:
        raise _fail(where, f"a Tree's n_classes {short_repr(n_classes.tolist())} is out of range [1, 1,000,000].")
    nodes_shape, nodes_dtype = headers[_array_file(state.get("nodes"), "nodes", headers, where)]
    values_shape, _ = headers[_array_file(state.get("values"), "values", headers, where)]
    if len(nodes_shape) != 1 or nodes_shape[0] < 1 or nodes_dtype.names is None:
        raise _fail(where, f"a Tree's node array has shape {nodes_shape}; expected (n_nodes,) records.")
    node_count = _json_int(state.get("node_count"), "node_count", where, 1, nodes_shape[0])
    if node_count != nodes_shape[0]:
        raise _fail(where, f"a Tree declares {node_count} nodes but stores {nodes_shape[0]}.")
    expected = (nodes_shape[0], n_outputs, int(n_classes.max()))
    if values_shape != expected:
        raise _fail(where, f"a Tree's value array has shape {values_shape}; expected {expected}.")
    _json_int(state.get("max_depth"), "max_depth", where, 0, nodes_shape[0])


# -- 2. which untrusted types we trust -----------------------------------------------------------

def refused_types(untrusted: list[str]) -> dict[str, str]:
    """The types of ``untrusted`` (as skops reports them) that leanlens refuses, with the reason."""
    return {name: reason for name in untrusted if (reason := _refusal(name))}


def _refusal(name: str) -> str:
    if name in HELPER_TYPES:
        return ""
    if name in _KNOWN_REFUSALS:
        return _KNOWN_REFUSALS[name]
    module, _, attr = name.rpartition(".")
    parts = module.split(".")
    if (parts[0] != "sklearn" or len(parts) < 2 or not attr.isidentifier()
            or any(p in ("externals", "tests", "conftest") or not p.isidentifier() for p in parts)):
        return "not a scikit-learn estimator"
    mod = sys.modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)  # sklearn's own module: importing it runs no file content
        except Exception:
            return "no such scikit-learn module"
    obj = getattr(mod, attr, None)
    if not isinstance(obj, type):
        return "not a class (functions and other callables are never trusted)"
    if obj.__module__ != module or obj.__qualname__ != attr:
        return f"a re-export of {obj.__module__}.{obj.__qualname__}, not a scikit-learn class"
    from sklearn.base import BaseEstimator

    if not issubclass(obj, BaseEstimator):
        return "a scikit-learn class that is not an estimator (and not on leanlens' allow-list)"
    return ""


# -- 3. after loading: validate the native arrays sklearn indexes without checks ------------------

def validate_loaded(obj: Any, where: str) -> None:
    """Validate every sklearn ``Tree`` reachable from the loaded estimator ``obj``."""
    from sklearn.base import BaseEstimator
    from sklearn.tree._tree import Tree

    seen: set[int] = set()
    stack: list[tuple[Any, int | None, str]] = [(obj, getattr(obj, "n_features_in_", None), type(obj).__name__)]
    while stack:
        item, n_features, path = stack.pop()
        if id(item) in seen or len(seen) > 10_000_000:
            continue
        seen.add(id(item))
        if isinstance(item, Tree):
            validate_tree(item, n_features, f"{where} ({path})")
        elif isinstance(item, BaseEstimator):
            owner_n = getattr(item, "n_features_in_", n_features)
            stack.extend((v, owner_n, f"{path}.{k}") for k, v in vars(item).items())
        elif isinstance(item, dict):
            stack.extend((v, n_features, f"{path}[{k!r}]") for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, n_features, f"{path}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, np.ndarray) and item.dtype == object:
            stack.extend((v, n_features, f"{path}[{i}]") for i, v in enumerate(item.ravel()))


def validate_tree(tree: Any, n_features: int | None, where: str) -> None:
    """Refuse a Tree whose arrays would make sklearn read out of bounds, loop forever or return NaN."""
    def bad(what: str) -> ModelFormatError:
        return ModelFormatError(f"The tree model {where!r} is corrupt or crafted: {what}")

    n = int(tree.node_count)
    if not 1 <= n <= int(tree.capacity):
        raise bad(f"node_count {n} does not fit its node array of {int(tree.capacity)}.")
    if n_features is not None and int(tree.n_features) != int(n_features):
        raise bad(f"the tree splits {int(tree.n_features)} features; its estimator has {int(n_features)}.")
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    feature = np.asarray(tree.feature, dtype=np.int64)
    threshold = np.asarray(tree.threshold, dtype=np.float64)
    leaf = left == -1
    if np.any(leaf != (right == -1)):
        i = int(np.nonzero(leaf != (right == -1))[0][0])
        raise bad(f"node {i} has left child {int(left[i])} but right child {int(right[i])} (a split needs both).")
    idx = np.arange(n)
    internal = ~leaf
    for name, child in (("left", left), ("right", right)):
        # Children come after their parent in sklearn's node order: this rules out cycles too.
        wrong = internal & ((child <= idx) | (child >= n))
        if np.any(wrong):
            i = int(np.nonzero(wrong)[0][0])
            raise bad(f"node {i}'s {name} child is {int(child[i])}; expected a node in ({i}, {n}).")
    children = np.concatenate([left[internal], right[internal]])
    if len(np.unique(children)) != len(children) or len(children) != n - 1:
        raise bad("some node has two parents, or some node is unreachable (not a tree).")
    wrong = internal & ((feature < 0) | (feature >= int(tree.n_features)))
    if np.any(wrong):
        i = int(np.nonzero(wrong)[0][0])
        raise bad(f"node {i} splits on feature {int(feature[i])}; the model has {int(tree.n_features)} features.")
    if not np.all(np.isfinite(threshold[internal])):
        i = int(np.nonzero(internal & ~np.isfinite(threshold))[0][0])
        raise bad(f"node {i} has a non-finite threshold ({threshold[i]}).")
    value = np.asarray(tree.value)
    if value.shape != (n, int(tree.n_outputs), int(tree.max_n_classes)) or not np.all(np.isfinite(value)):
        raise bad(f"its value array (shape {value.shape}) is malformed or not finite.")
    missing = np.asarray(tree.missing_go_to_left)
    if np.any((missing != 0) & (missing != 1)):
        raise bad("missing_go_to_left must be 0 or 1.")
