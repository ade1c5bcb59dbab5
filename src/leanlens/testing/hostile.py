"""Crafted hostile inputs: each function writes one attack file (or model folder) into a folder.

Shared by the regression tests (``tests/security``) and the robustness corpus
(``benchmarks/robustness.py``). Every generator has the same shape::

    case = hostile.skops_gzip_reexport(tmp_path)   # -> HostileCase
    leanlens.load_model(case.path)                 # must raise a LeanlensError

``case.victim`` (when set) is a file the attack tries to change (or create);
``case.victim_state()`` gives its bytes and mtime so a test can prove nothing happened.
``case.use`` says how the input is fed: ``"model"`` (``load_model`` / ``leanlens
info|explain``), ``"pipeline"`` (``leanlens run``), ``"train-config"`` (``leanlens train
--config``), ``"plan"`` (``leanlens compress --plan``), ``"explanation"`` (``Explanation.load``).

``CASES`` maps every name to its generator; ``write_all(folder)`` writes them all.
Nothing here runs an attack: the files are only written.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CASES", "HostileCase", "write_all"]

VICTIM_TEXT = b"leanlens hostile-corpus victim file: must stay byte-identical\n"
SKOPS_VERSION = "0.16.0"
_OLD_MTIME_NS = 1_000_000_000_000_000_000


@dataclasses.dataclass(frozen=True)
class HostileCase:
    """One crafted input: where it is, how it is fed, and the file it tries to change (if any)."""

    name: str
    path: Path
    use: str
    description: str
    victim: Path | None = None

    def victim_state(self) -> tuple[bytes, int] | None:
        """(bytes, mtime_ns) of the victim file, or None if there is none (or it does not exist)."""
        if self.victim is None or not self.victim.exists():
            return None
        st = self.victim.stat()
        return self.victim.read_bytes(), st.st_mtime_ns


def _victim(folder: Path, name: str = "victim.txt") -> Path:
    v = folder / name
    v.write_bytes(VICTIM_TEXT)
    os.utime(v, ns=(_OLD_MTIME_NS, _OLD_MTIME_NS))  # a fixed, old mtime: any write changes it
    return v


def _case_dir(folder: Path, name: str) -> Path:
    d = Path(folder) / name
    d.mkdir(parents=True, exist_ok=True)
    return d


# -- scikit-learn / skops --------------------------------------------------------------------

def _json_node(value: Any) -> dict[str, Any]:
    return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "is_json": True}


def _tuple_node(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": items}


def _write_skops(path: Path, schema: dict[str, Any], arrays: dict[str, bytes] | None = None) -> Path:
    schema = {**schema, "protocol": 2, "_skops_version": SKOPS_VERSION}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in (arrays or {}).items():
            z.writestr(name, data)
        z.writestr("schema.json", json.dumps(schema))
    return path


def _sklearn_folder(d: Path, *, n_features: int = 4, task: str = "binary",
                    estimator: str = "DecisionTreeClassifier") -> Path:
    spec = {
        "format": "leanlens-sklearn", "format_version": 1, "leanlens_version": "0.1.0", "task": task,
        "input_shape": [n_features], "feature_names": [f"x{i}" for i in range(n_features)],
        "output_names": ["value"] if task == "regression" else ["0", "1"], "estimator": estimator, "metadata": {},
    }
    (d / "model.json").write_text(json.dumps(spec), encoding="utf-8")
    return d


def _reduce_call_case(folder: Path, name: str, module: str, cls: str, args_for: Callable[[Path], list[Any]],
                      description: str) -> HostileCase:
    d = _case_dir(folder, name)
    victim = _victim(d)
    schema = {"__class__": cls, "__module__": module, "__loader__": "ConstructorFromReduceNode",
              "content": _tuple_node([_json_node(a) for a in args_for(victim)])}
    _write_skops(d / "model.skops", schema)
    _sklearn_folder(d)
    return HostileCase(name, d, "model", description, victim)


def skops_gzip_reexport(folder: Path) -> HostileCase:
    """The issue's attack: ``sklearn.datasets._covtype.GzipFile`` (= gzip.GzipFile) opened 'wb' truncates a file."""
    return _reduce_call_case(folder, "skops_gzip_reexport", "sklearn.datasets._covtype", "GzipFile",
                             lambda v: [str(v), "wb"], "skops reduce node calls a class sklearn re-exports (gzip.GzipFile)")


def skops_gzip_object_node(folder: Path) -> HostileCase:
    """The same re-exported class through an ObjectNode (``__new__`` + state) instead of a constructor call."""
    d = _case_dir(folder, "skops_gzip_object_node")
    victim = _victim(d)
    schema = {"__class__": "GzipFile", "__module__": "sklearn.datasets._covtype", "__loader__": "ObjectNode",
              "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                          "content": {"name": _json_node(str(victim))},
                          "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                                        "content": [{"__class__": "str", "__module__": "builtins",
                                                     "__loader__": "TypeNode"}]}}}
    _write_skops(d / "model.skops", schema)
    _sklearn_folder(d)
    return HostileCase("skops_gzip_object_node", d, "model", "re-exported gzip.GzipFile as an ObjectNode", victim)


def skops_numpy_memmap(folder: Path) -> HostileCase:
    """``numpy.memmap(victim, mode='w+')`` overwrites a file when constructed."""
    return _reduce_call_case(folder, "skops_numpy_memmap", "numpy", "memmap",
                             lambda v: [str(v), "uint8", "w+", 0, [16]], "numpy.memmap opened for writing")


def skops_torch_file_writer(folder: Path) -> HostileCase:
    """The issue's second example: ``sklearn.externals.array_api_compat.torch.PyTorchFileWriter`` (a torch class)."""
    return _reduce_call_case(folder, "skops_torch_file_writer", "sklearn.externals.array_api_compat.torch",
                             "PyTorchFileWriter", lambda v: [str(v)], "torch's file writer re-exported under sklearn")


def skops_function_node(folder: Path) -> HostileCase:
    """A FunctionTransformer whose ``func`` is ``numpy.save`` (a function, never trusted)."""
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    d = _case_dir(folder, "skops_function_node")
    victim = _victim(d)
    est = FunctionTransformer(func=np.save, kw_args={"file": str(victim)})
    est.fit(np.zeros((2, 4)))
    (d / "model.skops").write_bytes(sio.dumps(est))
    _sklearn_folder(d, estimator="FunctionTransformer")
    return HostileCase("skops_function_node", d, "model", "FunctionTransformer(func=numpy.save)", victim)


@functools.cache
def _tree_bytes() -> bytes:
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return sio.dumps(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y))


@functools.cache
def _forest_bytes() -> bytes:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    return sio.dumps(RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y))


def _find_tree_nodes(schema: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("__loader__") == "TreeNode":
            out.append(schema)
        for v in schema.values():
            _find_tree_nodes(v, out)
    elif isinstance(schema, list):
        for v in schema:
            _find_tree_nodes(v, out)
    return out


def _rewrite_skops(data: bytes, edit: Callable[[dict[str, Any], dict[str, bytes]], None]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files.pop("schema.json"))
    edit(schema, files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, b in files.items():
            z.writestr(n, b)
        z.writestr("schema.json", json.dumps(schema))
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _edit_first_tree_nodes(change: Callable[[np.ndarray], None]) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        tree = _find_tree_nodes(schema, [])[0]
        name = tree["content"]["content"]["nodes"]["file"]
        nodes = np.load(io.BytesIO(files[name]), allow_pickle=False).copy()
        change(nodes)
        files[name] = _npy(nodes)
    return edit


def _tree_case(folder: Path, name: str, description: str, edit: Callable[[dict[str, Any], dict[str, bytes]], None],
               *, forest: bool = False) -> HostileCase:
    d = _case_dir(folder, name)
    base = _forest_bytes() if forest else _tree_bytes()
    (d / "model.skops").write_bytes(_rewrite_skops(base, edit))
    _sklearn_folder(d, estimator="RandomForestClassifier" if forest else "DecisionTreeClassifier")
    return HostileCase(name, d, "model", description)


def _set_field(field: str, value: Any) -> Callable[[np.ndarray], None]:
    def change(nodes: np.ndarray) -> None:
        nodes[field][0] = value  # node 0 is the root, an internal node of any fitted tree of depth ≥ 1
    return change


def skops_tree_left_child_huge(folder: Path) -> HostileCase:
    """The issue's segfault: the root's left child is 10**9 (far past the node array)."""
    return _tree_case(folder, "skops_tree_left_child_huge", "Tree left_child = 10**9",
                      _edit_first_tree_nodes(_set_field("left_child", 10**9)))


def skops_tree_feature_huge(folder: Path) -> HostileCase:
    """The issue's other segfault: a split on feature 10**7 of a 4-feature model."""
    return _tree_case(folder, "skops_tree_feature_huge", "Tree feature = 10**7",
                      _edit_first_tree_nodes(_set_field("feature", 10**7)))


def skops_tree_negative_child(folder: Path) -> HostileCase:
    return _tree_case(folder, "skops_tree_negative_child", "Tree right_child = -7",
                      _edit_first_tree_nodes(_set_field("right_child", -7)))


def skops_tree_cycle(folder: Path) -> HostileCase:
    """The root is its own left child: prediction would loop forever (in nogil code, deaf to Ctrl-C)."""
    return _tree_case(folder, "skops_tree_cycle", "Tree child points back to the root",
                      _edit_first_tree_nodes(_set_field("left_child", 0)))


def skops_tree_half_leaf(folder: Path) -> HostileCase:
    """left_child is the leaf marker while right_child is a node: an inconsistent split."""
    return _tree_case(folder, "skops_tree_half_leaf", "Tree left=-1 but right set",
                      _edit_first_tree_nodes(_set_field("left_child", -1)))


def skops_tree_nan_threshold(folder: Path) -> HostileCase:
    return _tree_case(folder, "skops_tree_nan_threshold", "Tree threshold = NaN",
                      _edit_first_tree_nodes(_set_field("threshold", np.nan)))


def skops_tree_node_count(folder: Path) -> HostileCase:
    """node_count larger than the node array: sklearn would read past its buffer."""
    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        tree = _find_tree_nodes(schema, [])[0]
        tree["content"]["content"]["node_count"] = _json_node(10**6)
    return _tree_case(folder, "skops_tree_node_count", "Tree node_count = 10**6 for a 15-node array", edit)


def skops_tree_n_outputs(folder: Path) -> HostileCase:
    """Tree(n_features, n_classes, n_outputs=10**12): the constructor would allocate/overrun."""
    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        tree = _find_tree_nodes(schema, [])[0]
        tree["__reduce__"]["args"]["content"][2] = _json_node(10**12)
    return _tree_case(folder, "skops_tree_n_outputs", "Tree n_outputs = 10**12", edit)


def skops_forest_bad_member(folder: Path) -> HostileCase:
    """A RandomForest whose first member tree has an out-of-range child."""
    return _tree_case(folder, "skops_forest_bad_member", "RandomForest member with left_child = 10**9",
                      _edit_first_tree_nodes(_set_field("left_child", 10**9)), forest=True)


def skops_npy_declared_huge(folder: Path) -> HostileCase:
    """A tiny .npy whose header declares shape (10**11,): np.load would allocate 800 GB first."""
    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        tree = _find_tree_nodes(schema, [])[0]
        name = tree["content"]["content"]["values"]["file"]
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**11,)})
        files[name] = buf.getvalue() + b"\0" * 64
    return _tree_case(folder, "skops_npy_declared_huge", ".npy header declares 10**11 float64", edit)


def _deflate_raw(data: bytes, *, final: bool) -> bytes:
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def _zip_one_deflated(path: Path, name: str, parts: list[tuple[bytes, int]]) -> None:
    """A zip holding one deflated entry made of ``(piece, repeats)`` parts, built without inflating it in memory."""
    import zlib

    crc, size, stream = 0, 0, []
    for i, (piece, repeats) in enumerate(parts):
        block = _deflate_raw(piece, final=i == len(parts) - 1)
        stream.append(block * repeats if i < len(parts) - 1 else block)
        for _ in range(repeats):
            crc = zlib.crc32(piece, crc)
        size += len(piece) * repeats
    data = b"".join(stream)
    fname = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(fname), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), size,
                          len(fname), 0, 0, 0, 0, 0, 0)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(fname),
                      len(local) + len(fname) + len(data), 0)
    path.write_bytes(local + fname + data + central + fname + end)


def skops_zip_bomb(folder: Path) -> HostileCase:
    """A ~2 MB skops zip whose schema.json inflates to 2 GiB (zip bomb)."""
    d = _case_dir(folder, "skops_zip_bomb")
    head = b'{"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {}'
    _zip_one_deflated(d / "model.skops", "schema.json", [(head, 1), (b" " * (1 << 20), 2048), (b"}", 1)])
    _sklearn_folder(d)
    return HostileCase("skops_zip_bomb", d, "model", "skops zip whose schema.json inflates to 2 GiB")


def skops_deep_schema(folder: Path) -> HostileCase:
    """A schema nested 100,000 lists deep (RecursionError in a naive walker)."""
    d = _case_dir(folder, "skops_deep_schema")
    depth = 100_000
    head = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": ['
    text = head * depth + json.dumps(_json_node(1)) + "]}" * depth
    with zipfile.ZipFile(d / "model.skops", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", text[:-1] + ', "protocol": 2, "_skops_version": "0.16.0"}')
    _sklearn_folder(d)
    return HostileCase("skops_deep_schema", d, "model", "skops schema nested 100k deep")


def skops_kdtree(folder: Path) -> HostileCase:
    """A KNeighborsClassifier: its KDTree holds native index arrays that skops calls unsafe to trust."""
    import skops.io as sio
    from sklearn.neighbors import KNeighborsClassifier

    d = _case_dir(folder, "skops_kdtree")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    est = KNeighborsClassifier(algorithm="kd_tree").fit(X, (X[:, 0] > 0).astype(int))
    (d / "model.skops").write_bytes(sio.dumps(est))
    _sklearn_folder(d, estimator="KNeighborsClassifier")
    return HostileCase("skops_kdtree", d, "model", "KNN with a KDTree (native index arrays)")


# -- torch: model.json + safetensors -------------------------------------------------------

def _torch_spec(layers: list[Any], n_in: int = 4, n_out: int = 2) -> dict[str, Any]:
    return {
        "format": "leanlens-torch", "format_version": 1, "leanlens_version": "0.1.0", "task": "binary",
        "input_shape": [n_in], "feature_names": [f"x{i}" for i in range(n_in)], "output_names": ["0", "1"],
        "output": "logits", "arch": {}, "layers": layers,
        "preprocessing": {"mean": [0.0] * n_in, "scale": [1.0] * n_in, "out_mean": [0.0] * n_out,
                          "out_scale": [1.0] * n_out},
        "metadata": {},
    }


def _safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    header: dict[str, Any] = {}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def _small_state(n_in: int = 4, n_out: int = 2) -> dict[str, np.ndarray]:
    return {"body.1.weight": np.zeros((n_out, n_in)), "body.1.bias": np.zeros(n_out), "mean": np.zeros(n_in),
            "scale": np.ones(n_in), "out_mean": np.zeros(n_out), "out_scale": np.ones(n_out)}


def _torch_case(folder: Path, name: str, description: str, spec: dict[str, Any] | str, weights: bytes) -> HostileCase:
    d = _case_dir(folder, name)
    (d / "model.json").write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    (d / "model.safetensors").write_bytes(weights)
    return HostileCase(name, d, "model", description)


def torch_clean(folder: Path) -> HostileCase:
    """A well-formed tiny torch model folder (a control: it must load)."""
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 4, "out": 2, "bias": True}])
    return _torch_case(folder, "torch_clean", "well-formed Linear(4, 2)", spec, _safetensors_bytes(_small_state()))


def torch_declared_huge_layer(folder: Path) -> HostileCase:
    """The issue's small model.json declaring a 30000×30000 Linear (3.6 GB) over tiny weights."""
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 30000, "out": 30000},
                        {"type": "linear", "in": 30000, "out": 2}])
    return _torch_case(folder, "torch_declared_huge_layer", "model.json declares Linear(30000, 30000)", spec,
                       _safetensors_bytes(_small_state()))


def torch_declared_huge_conv(folder: Path) -> HostileCase:
    spec = _torch_spec([{"type": "conv2d", "in": 4, "out": 100000, "kernel": [100, 100]}, {"type": "flatten"},
                        {"type": "linear", "in": 4, "out": 2}])
    return _torch_case(folder, "torch_declared_huge_conv", "model.json declares a 4e9-weight Conv2d", spec,
                       _safetensors_bytes(_small_state()))


def torch_declared_huge_batchnorm(folder: Path) -> HostileCase:
    spec = _torch_spec([{"type": "flatten"}, {"type": "batchnorm1d", "n": 10**10},
                        {"type": "linear", "in": 4, "out": 2}])
    return _torch_case(folder, "torch_declared_huge_batchnorm", "model.json declares BatchNorm1d(10**10)", spec,
                       _safetensors_bytes(_small_state()))


def torch_negative_width(folder: Path) -> HostileCase:
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 4, "out": -2}])
    return _torch_case(folder, "torch_negative_width", "model.json declares Linear(4, -2)", spec,
                       _safetensors_bytes(_small_state()))


def torch_huge_preprocessing(folder: Path) -> HostileCase:
    """input_shape declares 10**12 features (the mean/scale buffers would follow)."""
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 4, "out": 2}])
    spec["input_shape"] = [10**6, 10**6]
    return _torch_case(folder, "torch_huge_preprocessing", "input_shape (10**6, 10**6)", spec,
                       _safetensors_bytes(_small_state()))


def torch_nested_layers(folder: Path) -> HostileCase:
    """3,000 nested ``sequential`` layer descriptions (RecursionError in a recursive builder)."""
    text = json.dumps({k: v for k, v in _torch_spec([]).items() if k != "layers"})
    layers = '[{"type": "sequential", "layers": ' * 3000 + json.dumps(
        [{"type": "flatten"}, {"type": "linear", "in": 4, "out": 2}]) + "}]" * 3000
    text = text[:-1] + ', "layers": ' + layers + "}"
    return _torch_case(folder, "torch_nested_layers", "model.json with 3,000 nested sequentials", text,
                       _safetensors_bytes(_small_state()))


def torch_deep_json(folder: Path) -> HostileCase:
    """A model.json nested 200,000 arrays deep (RecursionError in json.loads)."""
    text = '{"format": "leanlens-torch", "metadata": ' + "[" * 200_000 + "]" * 200_000 + "}"
    return _torch_case(folder, "torch_deep_json", "model.json nested 200k deep", text,
                       _safetensors_bytes(_small_state()))


def safetensors_header_huge(folder: Path) -> HostileCase:
    """A safetensors file whose 8-byte prefix declares a 10**12-byte header."""
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 4, "out": 2}])
    return _torch_case(folder, "safetensors_header_huge", "safetensors header length 10**12", spec,
                       struct.pack("<Q", 10**12) + b"{}")


def safetensors_shape_lie(folder: Path) -> HostileCase:
    """Header and model.json agree on a (30000, 30000) weight that the file's bytes do not hold."""
    spec = _torch_spec([{"type": "flatten"}, {"type": "linear", "in": 4, "out": 30000, "bias": False},
                        {"type": "linear", "in": 30000, "out": 2, "bias": False}])
    header = {"body.1.weight": {"dtype": "F32", "shape": [30000, 4], "data_offsets": [0, 480_000]},
              "body.2.weight": {"dtype": "F32", "shape": [2, 30000], "data_offsets": [480_000, 720_000]}}
    h = json.dumps(header).encode()
    return _torch_case(folder, "safetensors_shape_lie", "safetensors offsets past the end of the file", spec,
                       struct.pack("<Q", len(h)) + h)


# -- ONNX ------------------------------------------------------------------------------------

def _onnx_model(nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any] | None = None,
                opset: int = 17) -> Any:
    from onnx import helper

    graph = helper.make_graph(nodes, "hostile", inputs, outputs, initializer=initializers or [])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _onnx_case(folder: Path, name: str, description: str, model: Any, *, raw: bytes | None = None) -> HostileCase:
    d = _case_dir(folder, name)
    p = d / "model.onnx"
    p.write_bytes(raw if raw is not None else model.SerializeToString())
    return HostileCase(name, p, "model", description)


def onnx_clean(folder: Path) -> HostileCase:
    """A well-formed tiny graph y = x @ W + b with a Softmax (a control: it must load)."""
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3], [0.1] * 12)
    b = helper.make_tensor("b", TensorProto.FLOAT, [3], [0.0] * 3)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["z"]), helper.make_node("Softmax", ["z"], ["y"], axis=1)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    return _onnx_case(folder, "onnx_clean", "Gemm + Softmax, 4 → 3", _onnx_model(nodes, [x], [y], [w, b]))


def onnx_constant_bomb(folder: Path) -> HostileCase:
    """A few hundred bytes: ConstantOfShape([30000, 30000]) allocates 3.6 GB when the graph runs."""
    from onnx import TensorProto, helper

    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [30000, 30000])
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"]),
             helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
             helper.make_node("Add", ["x", "s"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    return _onnx_case(folder, "onnx_constant_bomb", "ConstantOfShape(30000×30000)",
                      _onnx_model(nodes, [x], [y], [shape]))


def onnx_loop_hang(folder: Path) -> HostileCase:
    """A Loop of 10**12 iterations: running it hangs."""
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["N", 2])],
    )
    inits = [helper.make_tensor("trip", TensorProto.INT64, [], [10**12]),
             helper.make_tensor("cond", TensorProto.BOOL, [], [True])]
    nodes = [helper.make_node("Loop", ["trip", "cond", "x"], ["y"], body=body)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    return _onnx_case(folder, "onnx_loop_hang", "Loop with 10**12 iterations", _onnx_model(nodes, [x], [y], inits))


def onnx_if_branch(folder: Path) -> HostileCase:
    """An If node (control flow) whose branch hides a ConstantOfShape bomb."""
    from onnx import TensorProto, helper

    def branch(name: str, n: int) -> Any:
        shape = helper.make_tensor(f"{name}_shape", TensorProto.INT64, [2], [n, n])
        return helper.make_graph(
            [helper.make_node("Constant", [], [f"{name}_s"], value=shape),
             helper.make_node("ConstantOfShape", [f"{name}_s"], [f"{name}_out"])],
            name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [n, n])])

    inits = [helper.make_tensor("c", TensorProto.BOOL, [], [True])]
    nodes = [helper.make_node("If", ["c"], ["big"], then_branch=branch("then", 30000), else_branch=branch("else", 1)),
             helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0), helper.make_node("Add", ["x", "s"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    return _onnx_case(folder, "onnx_if_branch", "If node hiding a 30000×30000 ConstantOfShape",
                      _onnx_model(nodes, [x], [y], inits))


def onnx_unbounded_shape(folder: Path) -> HostileCase:
    """ConstantOfShape whose shape is computed from the input's values: its size is unknown until run."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["xi", "flat"], ["dims"]),
             helper.make_node("ConstantOfShape", ["dims"], ["big"]),
             helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
             helper.make_node("Add", ["x", "s"], ["y"])]
    inits = [helper.make_tensor("flat", TensorProto.INT64, [1], [-1])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    return _onnx_case(folder, "onnx_unbounded_shape", "ConstantOfShape sized by input values",
                      _onnx_model(nodes, [x], [y], inits))


def onnx_expand_bomb(folder: Path) -> HostileCase:
    """Expand of the input to (N, 10**9): a broadcast bomb that is not ConstantOfShape."""
    from onnx import TensorProto, helper

    inits = [helper.make_tensor("shape", TensorProto.INT64, [2], [1, 10**9]),
             helper.make_tensor("axes", TensorProto.INT64, [1], [1])]
    nodes = [helper.make_node("Expand", ["x", "shape"], ["big"]),
             helper.make_node("ReduceSum", ["big", "axes"], ["y"], keepdims=1)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    return _onnx_case(folder, "onnx_expand_bomb", "Expand to (N, 10**9)", _onnx_model(nodes, [x], [y], inits))


def _external(location: str) -> Any:
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [0.0] * 4)
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        e = w.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    return _onnx_model(nodes, [x], [y], [w])


def onnx_external_data(folder: Path) -> HostileCase:
    """An initializer whose data lives in an 'external file' at /etc/passwd."""
    return _onnx_case(folder, "onnx_external_data", "external data path /etc/passwd", _external("/etc/passwd"))


def onnx_external_data_relative(folder: Path) -> HostileCase:
    """External data through a relative path climbing out of the model's folder."""
    return _onnx_case(folder, "onnx_external_data_relative", "external data path ../../etc/passwd",
                      _external("../" * 12 + "etc/passwd"))


def onnx_huge_initializer(folder: Path) -> HostileCase:
    """An initializer declared (100000, 100000) with 4 floats behind it."""
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 2], [0.0] * 4)
    del w.dims[:]
    w.dims.extend([100000, 100000])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 100000])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 100000])
    return _onnx_case(folder, "onnx_huge_initializer", "initializer declared 10**10 floats over 4",
                      _onnx_model(nodes, [x], [y], [w]))


def onnx_huge_input(folder: Path) -> HostileCase:
    """The graph input is declared (N, 10**10): one probe row would be 40 GB."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10**10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    inits = [helper.make_tensor("axes", TensorProto.INT64, [1], [1])]
    return _onnx_case(folder, "onnx_huge_input", "input declared (N, 10**10)", _onnx_model(nodes, [x], [y], inits))


def onnx_custom_domain(folder: Path) -> HostileCase:
    """A node from a custom operator domain (it would need a native library of the attacker's)."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Evil", ["x"], ["y"], domain="com.attacker")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    graph = helper.make_graph(nodes, "hostile", [x], [y])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.attacker", 1)],
                          ir_version=8)
    return _onnx_case(folder, "onnx_custom_domain", "custom-domain operator", m)


def onnx_garbage(folder: Path) -> HostileCase:
    return _onnx_case(folder, "onnx_garbage", "not a protobuf", None, raw=b"\xff\xfe not an onnx graph" * 10)


# -- YAML --------------------------------------------------------------------------------------

def _yaml_case(folder: Path, name: str, description: str, text: str | bytes, use: str = "pipeline") -> HostileCase:
    d = _case_dir(folder, name)
    p = d / "config.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return HostileCase(name, p, use, description)


def _alias_bomb(levels: int = 9, last: str = "name") -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"{last}: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def yaml_alias_bomb(folder: Path) -> HostileCase:
    """~600 bytes expanding to 9**9 (387 million) strings: the 'billion laughs'."""
    return _yaml_case(folder, "yaml_alias_bomb", "nested YAML aliases (billion laughs)", _alias_bomb())


def yaml_alias_bomb_train(folder: Path) -> HostileCase:
    return _yaml_case(folder, "yaml_alias_bomb_train", "alias bomb as train --config",
                      _alias_bomb(last="hidden"), "train-config")


def yaml_alias_bomb_plan(folder: Path) -> HostileCase:
    lines = ['- a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"- a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines.append("- prune: {amount: *a8}")
    return _yaml_case(folder, "yaml_alias_bomb_plan", "alias bomb as a compress plan", "\n".join(lines) + "\n", "plan")


def yaml_single_alias(folder: Path) -> HostileCase:
    """Even one harmless-looking alias is refused (aliases are how bombs are built)."""
    return _yaml_case(folder, "yaml_single_alias", "one anchor and one alias", "seed: &s 1\nname: *s\n")


def yaml_python_tag(folder: Path) -> HostileCase:
    """``!!python/object/apply:os.system`` (would run a command under an unsafe loader)."""
    d = _case_dir(folder, "yaml_python_tag")
    marker = d / "pwned.txt"
    p = d / "config.yaml"
    p.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    return HostileCase("yaml_python_tag", p, "pipeline", "python/object/apply tag", marker)


def yaml_custom_tag(folder: Path) -> HostileCase:
    return _yaml_case(folder, "yaml_custom_tag", "unknown local tag", "name: !ray.remote {x: 1}\n")


def yaml_non_utf8(folder: Path) -> HostileCase:
    return _yaml_case(folder, "yaml_non_utf8", "Latin-1 bytes (not UTF-8)", b"name: caf\xe9\nseed: \xff\xfe\n")


def yaml_huge(folder: Path) -> HostileCase:
    """A 9 MB YAML file (past the documented 8 MiB cap)."""
    return _yaml_case(folder, "yaml_huge", "9 MB YAML", "name: x\n" + ("# " + "p" * 1000 + "\n") * 9000)


def yaml_deep_nesting(folder: Path) -> HostileCase:
    """[[[[...]]]] 50,000 deep: PyYAML's composer recurses once per level."""
    return _yaml_case(folder, "yaml_deep_nesting", "YAML nested 50k deep",
                      "name: " + "[" * 50_000 + "]" * 50_000 + "\n")


def yaml_long_key(folder: Path) -> HostileCase:
    """A 100,000-character unknown key: an error echoing it must stay short."""
    return _yaml_case(folder, "yaml_long_key", "100k-character unknown key", "? " + "k" * 100_000 + "\n: 1\n")


# -- explanations --------------------------------------------------------------------------

def explanation_arrays_int(folder: Path) -> HostileCase:
    """``"arrays": 12`` in explanation.json (a number where a file name belongs)."""
    d = _case_dir(folder, "explanation_arrays_int")
    p = d / "explanation.json"
    p.write_text(json.dumps({"arrays": 12, "feature_names": ["a"], "output_names": ["v"], "method": "kernel"}))
    return HostileCase("explanation_arrays_int", p, "explanation", '"arrays": 12')


def explanation_arrays_escape(folder: Path) -> HostileCase:
    """``"arrays"`` pointing outside the explanation's folder."""
    d = _case_dir(folder, "explanation_arrays_escape")
    p = d / "explanation.json"
    p.write_text(json.dumps({"arrays": "/etc/passwd", "feature_names": ["a"], "output_names": ["v"],
                             "method": "kernel"}))
    return HostileCase("explanation_arrays_escape", p, "explanation", '"arrays": "/etc/passwd"')


CASES: dict[str, Callable[[Path], HostileCase]] = {
    f.__name__: f
    for f in (
        skops_gzip_reexport, skops_gzip_object_node, skops_numpy_memmap, skops_torch_file_writer,
        skops_function_node, skops_tree_left_child_huge, skops_tree_feature_huge, skops_tree_negative_child,
        skops_tree_cycle, skops_tree_half_leaf, skops_tree_nan_threshold, skops_tree_node_count,
        skops_tree_n_outputs, skops_forest_bad_member, skops_npy_declared_huge, skops_zip_bomb, skops_deep_schema,
        skops_kdtree,
        torch_declared_huge_layer, torch_declared_huge_conv, torch_declared_huge_batchnorm, torch_negative_width,
        torch_huge_preprocessing, torch_nested_layers, torch_deep_json, safetensors_header_huge,
        safetensors_shape_lie,
        onnx_constant_bomb, onnx_loop_hang, onnx_if_branch, onnx_unbounded_shape, onnx_expand_bomb,
        onnx_external_data, onnx_external_data_relative, onnx_huge_initializer, onnx_huge_input,
        onnx_custom_domain, onnx_garbage,
        yaml_alias_bomb, yaml_alias_bomb_train, yaml_alias_bomb_plan, yaml_single_alias, yaml_python_tag,
        yaml_custom_tag, yaml_non_utf8, yaml_huge, yaml_deep_nesting, yaml_long_key,
        explanation_arrays_int, explanation_arrays_escape,
    )
}

#: Well-formed controls: each must load (a check that the refusals above are not blanket ones).
CONTROLS: dict[str, Callable[[Path], HostileCase]] = {f.__name__: f for f in (torch_clean, onnx_clean)}


def write_all(folder: str | os.PathLike[str], names: list[str] | None = None) -> list[HostileCase]:
    """Write every case (or the named ones) under ``folder``; each gets its own subfolder."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    return [CASES[n](root) for n in (names or list(CASES))]
