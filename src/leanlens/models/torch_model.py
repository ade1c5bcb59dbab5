"""PyTorch models: the adapter, and saving as ``model.safetensors`` + ``model.json``."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInputError, LeanlensError, ModelFormatError, UnsupportedModelError
from .architectures import LeanlensNet, layers_to_module, module_to_layers
from .base import BaseModel, InputAffine, Task, check_batch, register_adapter

__all__ = ["TorchModel", "load_torch", "wrap_module"]

OutputKind = Literal["logits", "probabilities", "values"]
FORMAT = "leanlens-torch"


class TorchModel(BaseModel):
    """A torch ``nn.Module`` mapping raw inputs ``(n, *input_shape)`` to logits or values.

    ``module`` is the network gradients flow through (raw inputs → logits); ``output``
    applies softmax (classifiers, ``output="logits"``) so explainers see probabilities.
    """

    kind = "torch"

    def __init__(
        self,
        module: nn.Module,
        *,
        input_shape: tuple[int, ...],
        task: Task,
        feature_names: tuple[str, ...] | None = None,
        output_names: tuple[str, ...] | None = None,
        output: OutputKind = "logits",
        arch: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        batch_size: int = 65536,
    ) -> None:
        if output not in ("logits", "probabilities", "values"):
            raise InvalidInputError(f"The 'output' parameter must be 'logits', 'probabilities' or 'values'. Got {output!r}.")
        super().__init__(input_shape=input_shape, task=task, feature_names=feature_names,
                         output_names=output_names, metadata=metadata)
        self.module = module.eval()
        self.output_kind: OutputKind = output
        self.arch = dict(arch or {})
        self.batch_size = batch_size

    def forward_output(self, x: torch.Tensor) -> torch.Tensor:
        """The explained output as a differentiable tensor (probabilities or values)."""
        z = self.module(x)
        return self.head(z[:, None] if z.ndim == 1 else z)

    def head(self, z: torch.Tensor) -> torch.Tensor:
        """The map from the network's raw output ``z`` (n, L) to the explained output (n, k):
        softmax (sigmoid for one logit) for classifiers that give logits, else ``z`` itself."""
        if self.output_kind == "logits" and self.task != "regression":
            if z.shape[1] == 1:
                p = torch.sigmoid(z)
                return torch.cat([1 - p, p], dim=1)
            return torch.softmax(z, dim=1)
        return z

    def _output(self, X: np.ndarray) -> np.ndarray:
        self.module.eval()
        outs = []
        with torch.inference_mode():
            for i in range(0, len(X), self.batch_size):
                outs.append(self.forward_output(torch.from_numpy(X[i : i + self.batch_size])).numpy())
        return np.concatenate(outs).astype(np.float64)

    def forward_fn(self, X: Any, *, threads: int | None = None) -> Callable[[], Any]:
        """One raw forward of the module on ``X`` (a tensor made once); torch's threads are global,
        so the caller sets them (``leanlens.models.latency.torch_threads``)."""
        xt = torch.from_numpy(self.check_X(X))
        module = self.module.eval()

        def run() -> torch.Tensor:
            with torch.inference_mode():
                return module(xt)  # type: ignore[no-any-return]

        return run

    def logits(self, X: Any) -> np.ndarray:
        arr = self.check_X(X)
        with torch.inference_mode():
            return self.module.eval()(torch.from_numpy(arr)).numpy().astype(np.float64)

    # -- size and cost -----------------------------------------------------------
    def n_parameters(self, *, nonzero: bool = False) -> int:
        """Elements of the module's parameters (``nonzero=True``: the non-zero ones)."""
        params = list(self.module.parameters())
        if nonzero:
            return sum(int((p != 0).sum()) for p in params)
        return sum(p.numel() for p in params)

    def macs(self, batch: int = 1) -> int:
        """Multiply-accumulates of the Linear and Conv2d layers on ``batch`` rows (others count 0)."""
        batch = check_batch(batch)
        total = 0

        def hook(mod: nn.Module, inp: Any, out: torch.Tensor) -> None:
            nonlocal total
            if isinstance(mod, nn.Linear):
                total += mod.in_features * mod.out_features * int(out.numel() // out.shape[-1])
            elif isinstance(mod, nn.Conv2d):
                total += mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups) * int(out.numel())

        handles = [m.register_forward_hook(hook) for m in self.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        try:
            with torch.inference_mode():
                self.module.eval()(torch.zeros((1, *self.input_shape)))
        finally:
            for h in handles:
                h.remove()
        return total * batch  # rows are independent: the cost of one row times the batch

    def input_affine(self) -> InputAffine | None:
        """The first Linear layer folded with the input standardization, when the network starts
        with them (a ``LeanlensNet`` or an ``nn.Sequential``, optionally after ``Flatten``): see
        :meth:`BaseModel.input_affine`. None for any other start (convolutions, quantized or
        hooked layers, custom modules), where only ``output`` is exact."""
        module = self.module
        if type(module) is LeanlensNet:
            body, mean, scale = module.body, module.mean, module.scale
            out_scale, out_mean = module.out_scale, module.out_mean
        else:
            body, mean, scale, out_scale, out_mean = module, None, None, None, None
        if type(body) is not nn.Sequential:
            return None
        layers = list(body)
        start = 1 if layers and type(layers[0]) is nn.Flatten else 0
        if start == 1 and len(self.input_shape) > 1 and layers[0].start_dim != 1:
            return None
        first = layers[start] if len(layers) > start else None
        if not isinstance(first, nn.Linear) or type(first) is not nn.Linear:  # a subclass may change forward
            return None
        if any(m._forward_hooks or m._forward_pre_hooks for m in (module, body, first)):  # e.g. pruning masks
            return None
        d = self.n_features
        with torch.no_grad():
            W = first.weight.detach().float()  # (h, d)
            b = first.bias.detach().float() if first.bias is not None else torch.zeros(W.shape[0])
            if W.shape[1] != d:
                return None
            if mean is not None and scale is not None:
                mu = torch.broadcast_to(mean, self.input_shape).reshape(-1)
                sc = torch.broadcast_to(scale, self.input_shape).reshape(-1)
                A = (W / sc[None, :]).T
                c = b - W @ (mu / sc)
            else:
                A, c = W.T, b
        chain = _fused_chain(layers[start + 1 :])
        tail = nn.Sequential(*layers[start + 1 :]).eval()

        def finish(z: torch.Tensor) -> np.ndarray:
            if out_scale is not None and out_mean is not None:
                z = z * out_scale + out_mean
            z = self.head(z[:, None] if z.ndim == 1 else z)
            return z.clone().numpy() if chain is not None else z.numpy()  # a chain's buffers are reused

        def rest(H: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(H, dtype=np.float32))
                return finish(chain(x) if chain is not None else tail(x))

        from .threads import torch_threads

        split = _relu_linear_split(layers[start + 1 :], finish) if chain is not None else None
        return InputAffine(A.numpy(), c.numpy(), rest, threads=torch.get_num_threads(),
                           one_thread=lambda: torch_threads(1), subsets=split,
                           subset_bits=RELU_SPLIT_BITS if split is not None else None)

    def saved_bytes(self) -> int:
        """Bytes of the model folder; a module leanlens cannot save as one counts as its safetensors weights."""
        try:
            return super().saved_bytes()
        except UnsupportedModelError:
            import tempfile

            from safetensors.torch import save_file

            with tempfile.TemporaryDirectory(prefix="leanlens-size-") as tmp:
                file = Path(tmp) / "model.safetensors"
                save_file({k: v.detach().contiguous().clone() for k, v in self.module.state_dict().items()}, str(file))
                return file.stat().st_size

    def weight_sparsity(self) -> tuple[float, int]:
        """Zero fraction of the Linear/Conv2d weights, and the bytes of storing them as CSR (float32 values,
        int32 column indices and row pointers of the weight viewed as (out, rest)) plus every other tensor dense."""
        layers = [m for m in self.module.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        weights = [m.weight.detach() for m in layers]
        n = sum(w.numel() for w in weights)
        nz = sum(int((w != 0).sum()) for w in weights)
        weight_ids = {id(p) for m in self.module.modules() for p in [getattr(m, "weight", None)] if p is not None}
        dense_rest = sum(p.numel() * p.element_size() for p in self.module.state_dict(keep_vars=True).values()
                         if id(p) not in weight_ids)
        csr = sum(int((w != 0).sum()) * 8 + (w.shape[0] + 1) * 4 for w in weights)
        return (1.0 - nz / n if n else 0.0), int(csr + dense_rest)

    def copy(self) -> TorchModel:
        return copy.deepcopy(self)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "arch": self.arch, "parameters": self.n_parameters()}

    # -- persistence -------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """The JSON description saved as ``model.json`` (everything but the weights)."""
        net = self.module
        if not isinstance(net, LeanlensNet):
            raise UnsupportedModelError(
                "Only networks built by leanlens (LeanlensNet) save as safetensors + JSON; "
                "export other torch modules to ONNX (leanlens.models.export_onnx) and load that file."
            )
        return {
            **self._spec_header(FORMAT),
            "output": self.output_kind,
            "arch": self.arch,
            "layers": module_to_layers(net.body),
            "preprocessing": {
                "mean": net.mean.tolist(),
                "scale": net.scale.tolist(),
                "out_mean": net.out_mean.tolist(),
                "out_scale": net.out_scale.tolist(),
            },
            "metadata": self.metadata,
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.safetensors`` and ``model.json`` into the folder ``path`` (atomically)."""
        from safetensors.torch import save_file

        spec = self.spec()
        state = {k: v.detach().contiguous().clone() for k, v in self.module.state_dict().items()}
        return self._write_folder(path, spec, lambda tmp: save_file(state, str(tmp / "model.safetensors")),
                                  overwrite=overwrite)


_ACTIVATIONS_IN_PLACE: dict[type[nn.Module], tuple[Callable[..., Any], Callable[..., Any]]] = {
    nn.ReLU: (lambda t: t.relu_(), lambda t, out: torch.clamp_min(t, 0.0, out=out)),
    nn.Tanh: (lambda t: t.tanh_(), lambda t, out: torch.tanh(t, out=out)),
    nn.Sigmoid: (lambda t: t.sigmoid_(), lambda t, out: torch.sigmoid(t, out=out)),
}


#: Linear layers this narrow run as ``W @ xᵀ`` in the fused chain (see ``_fused_chain``).
NARROW_OUTPUTS = 16


def _fused_chain(layers: list[nn.Module]) -> Callable[..., torch.Tensor] | None:
    """The layers as one function writing into buffers reused from call to call (no allocation
    per call: a fresh 8 MB activation costs page faults every time), when they are only Linear
    layers, ReLU/Tanh/Sigmoid and (eval-mode, hence identity) Dropout/Identity without hooks;
    else None. A snapshot of the weights: call ``input_affine()`` again after changing them.
    ``run(x, owned=True)`` may overwrite ``x`` (a buffer the caller hands over)."""
    ops: list[tuple[str, Any, Any]] = []
    for m in layers:
        if m._forward_hooks or m._forward_pre_hooks:
            return None
        if type(m) is nn.Linear:
            ops.append(("linear", m.weight.detach().float().t(), None if m.bias is None else m.bias.detach().float()))
        elif type(m) in _ACTIVATIONS_IN_PLACE:
            ops.append(("act", *_ACTIVATIONS_IN_PLACE[type(m)]))
        elif type(m) not in (nn.Dropout, nn.Identity):
            return None
    local = threading.local()  # buffers per calling thread

    def buffer(i: int, n: int, width: int) -> torch.Tensor:
        buffers: dict[tuple[int, int, int], torch.Tensor] = local.__dict__.setdefault("buffers", {})
        key = (i, n, width)
        if key not in buffers:
            if len(buffers) > 4 * len(ops):
                buffers.clear()
            buffers[key] = torch.empty((n, width))
        return buffers[key]

    def run(x: torch.Tensor, owned: bool = False) -> torch.Tensor:
        cur = x  # never write into the caller's tensor unless it is handed over (owned)
        for i, (kind, a, b) in enumerate(ops):
            if kind == "linear" and a.shape[1] <= NARROW_OUTPUTS:
                # a narrow layer (e.g. 10 logits) as Wᵀ-first product: MKL's GEMM with 10 output
                # columns ran at ~6–12 GMAC/s, the transposed one at ~21 (one AVX2 core)
                outT = buffer(i, a.shape[1], len(cur))
                if b is None:
                    torch.mm(a.t(), cur.t(), out=outT)
                else:
                    torch.addmm(b[:, None], a.t(), cur.t(), out=outT)
                cur, owned = outT.t(), True
            elif kind == "linear":
                out = buffer(i, len(cur), a.shape[1])
                if b is None:
                    torch.mm(cur, a, out=out)
                else:
                    torch.addmm(b, cur, a, out=out)
                cur, owned = out, True
            elif owned:
                a(cur)
            else:
                out = buffer(i, len(cur), cur.shape[1])
                b(cur, out)
                cur, owned = out, True
        return cur

    return run


#: Rows of the first layer's family per call of the ReLU split (2^10 × a 256-wide layer = 1 MB):
#: smaller families fix more units (dead or linear on the whole family), but each call then
#: does less work for its fixed cost. On the digits 256-256 MLP with 16 patches, the second
#: layer needs 57 % of its units at 2^10 (the players with the smallest first-layer effects
#: inside a family), 81 % at 2^13.
RELU_SPLIT_BITS = 10


def _relu_linear_split(layers: list[nn.Module], finish: Callable[[torch.Tensor], np.ndarray]
                       ) -> Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None:
    """``InputAffine.subsets`` for a network whose first layer is followed by ReLU and a Linear
    layer (eval-mode Dropout/Identity between), else None.

    On the family ``H = offset + bits @ D`` (all 2^L subset sums of D's rows), a first-layer unit
    j lies in [offset_j + Σ min(D_·j, 0), offset_j + Σ max(D_·j, 0)]. When that interval is
    ≤ 0 the unit's ReLU is 0 on the whole family (dropped); when it is ≥ 0 the ReLU is the
    identity, so its share of the second layer, W2[:, j]·(offset_j + bits @ D[:, j]), is affine
    in the bits: the linear units fold into L extra inputs (the bits) and the bias. Only the
    units that switch inside the family go through the second layer's GEMM. Exact: the same
    function, float32 sums in another order."""
    if not layers or type(layers[0]) is not nn.ReLU:
        return None
    i = 1
    while i < len(layers) and type(layers[i]) in (nn.Dropout, nn.Identity):
        i += 1
    if i >= len(layers) or type(layers[i]) is not nn.Linear:
        return None
    if any(m._forward_hooks or m._forward_pre_hooks for m in layers[: i + 1]):
        return None
    second = layers[i]
    if not isinstance(second, nn.Linear):  # excluded above; narrows the type without an assert
        return None
    after = _fused_chain(layers[i + 1 :])
    if after is None:
        return None
    W2T = second.weight.detach().float().t().contiguous()  # (h, h2): a unit's weights are a contiguous row
    b2 = second.bias.detach().float() if second.bias is not None else torch.zeros(W2T.shape[1])

    def family(D: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        from .base import subset_sums

        Dn = np.ascontiguousarray(D, dtype=np.float32)
        L, h = Dn.shape
        n = 1 << L
        Dt = torch.from_numpy(Dn)
        tableT = torch.from_numpy(np.ascontiguousarray(subset_sums(Dn).T))  # (h, 2^L): a unit's row is contiguous
        idx = np.arange(n)
        bitsT = torch.from_numpy(((idx[None, :] >> np.arange(L)[:, None]) & 1).astype(np.float32))  # (L, 2^L)
        pos, neg = Dt.clamp(min=0).sum(0), Dt.clamp(max=0).sum(0)
        xbuf, wbuf = torch.empty((h + L) * n), torch.empty(W2T.shape[1] * (h + L))
        z = torch.empty((n, W2T.shape[1]))

        def run(offset: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                off = torch.from_numpy(np.ascontiguousarray(offset, dtype=np.float32))
                low, high = off + neg, off + pos
                switch = torch.nonzero((high > 0) & (low < 0)).view(-1)
                linear = torch.nonzero(low >= 0).view(-1)
                ns = len(switch)
                k = ns + L
                XT = xbuf[: k * n].view(k, n)  # inputs of the second layer, transposed
                torch.index_select(tableT, 0, switch, out=XT[:ns])
                XT[:ns].add_(off[switch].unsqueeze(1)).clamp_(min=0)
                XT[ns:].copy_(bitsT)
                WT = wbuf[: k * W2T.shape[1]].view(k, W2T.shape[1])  # the second layer's weights, rows gathered
                torch.index_select(W2T, 0, switch, out=WT[:ns])
                Wl = torch.index_select(W2T, 0, linear)
                torch.mm(Dt[:, linear], Wl, out=WT[ns:])
                bias = torch.addmv(b2, Wl.t(), off[linear])
                torch.addmm(bias, XT.t(), WT, out=z)
                return finish(after(z, owned=True))

        return run

    return family


def load_torch(folder: Path, spec: dict[str, Any]) -> TorchModel:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .spec_check import check_torch_weights

    weights = folder / "model.safetensors"
    # Weights present, declared layer shapes vs the safetensors header, and the parameter cap, before any
    # layer is built (load_model has run it already; a cheap header read when called directly).
    check_torch_weights(folder, spec)
    try:
        body = layers_to_module(spec["layers"])
        pre = spec["preprocessing"]
        net = LeanlensNet(
            body,
            torch.tensor(pre["mean"]),
            torch.tensor(pre["scale"]),
            torch.tensor(pre["out_mean"]),
            torch.tensor(pre["out_scale"]),
        )
        state = load_file(str(weights))
        net.load_state_dict(state, strict=True)
        return TorchModel(
            net,
            input_shape=tuple(spec["input_shape"]),
            task=spec["task"],
            feature_names=tuple(spec["feature_names"]),
            output_names=tuple(spec["output_names"]),
            output=spec.get("output", "logits"),
            arch=spec.get("arch"),
            metadata=spec.get("metadata"),
        )
    except KeyError as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {exc}).") from None
    except LeanlensError:
        raise
    except (SafetensorError, RuntimeError, OSError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r} is corrupt or partial: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r}: model.json has a field of the wrong type: {exc}") from None


def _infer_input_shape(module: nn.Module) -> tuple[int, ...]:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            return (m.in_features,)
        if isinstance(m, nn.Conv2d | nn.Conv1d):
            break
    raise InvalidInputError(
        "Cannot infer the input shape of this torch module; pass input_shape=(…) (or n_features=d) to as_model()."
    )


@register_adapter(nn.Module)
def wrap_module(module: nn.Module, **meta: Any) -> TorchModel:
    """``as_model(nn.Module)``: infer input shape and output width where the caller did not say."""
    input_shape = meta.pop("input_shape", None)
    n_features = meta.pop("n_features", None)
    if input_shape is None:
        input_shape = (int(n_features),) if n_features is not None else _infer_input_shape(module)
    input_shape = tuple(input_shape)
    output = meta.pop("output", None)
    task = meta.pop("task", None)
    if task is None or output is None:
        with torch.inference_mode():
            width = module.eval()(torch.zeros((1, *input_shape))).reshape(1, -1).shape[1]
        task = task or ("regression" if width == 1 else "binary" if width == 2 else "multiclass")
        output = output or ("values" if task == "regression" else "logits")
        if "output_names" not in meta and task != "regression":
            meta["output_names"] = tuple(str(i) for i in range(max(width, 2)))
    return TorchModel(module, input_shape=input_shape, task=task, output=output, **meta)
