"""Network architectures (MLP, SmallCNN) and a layer-list spec that survives compression.

Every network leanlens builds is an ``nn.Sequential`` of standard layers, so its
architecture can be written as a list of layer descriptions (``module_to_layers``)
and rebuilt from it (``layers_to_module``) — also after pruning changed its widths
or low-rank factorization split a Linear into two. Loading never unpickles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import InvalidInputError, ModelFormatError, UnsupportedModelError, did_you_mean

__all__ = ["ACTIVATIONS", "LeanlensNet", "layers_to_module", "mlp", "module_to_layers", "small_cnn"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise InvalidInputError(
            f"Unknown activation {name!r}.{did_you_mean(name, ACTIVATIONS)} Valid: {', '.join(ACTIVATIONS)}."
        )
    return ACTIVATIONS[name]()


def mlp(n_in: int, hidden: Sequence[int], n_out: int, *, activation_name: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """Fully connected network ``n_in → hidden… → n_out`` (no activation after the last layer)."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), activation(activation_name)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def small_cnn(
    input_shape: Sequence[int],
    n_out: int,
    *,
    channels: Sequence[int] = (32, 64),
    hidden: int = 128,
    activation_name: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """Two 3×3 convolutions, one 2×2 max-pool, one hidden dense layer — for 8×8 digit images."""
    if len(input_shape) != 3:
        raise InvalidInputError(
            f"SmallCNN needs image inputs of shape (channels, height, width). Got input shape {tuple(input_shape)}; "
            "use arch='mlp' for tabular data or the 'digits-images' dataset."
        )
    c, h, w = input_shape
    layers: list[nn.Module] = []
    c_in = c
    for c_out in channels:
        layers += [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), activation(activation_name)]
        c_in = c_out
    layers += [nn.MaxPool2d(2), nn.Flatten()]
    flat = c_in * (h // 2) * (w // 2)
    layers += [nn.Linear(flat, hidden), activation(activation_name)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, n_out))
    return nn.Sequential(*layers)


class LeanlensNet(nn.Module):
    """Raw inputs → standardize → body → de-standardize outputs (regression) → logits/values.

    The preprocessing lives in buffers, so it is saved with the weights and is part
    of any ONNX export: the model takes inputs in the data's own units.
    """

    mean: torch.Tensor
    scale: torch.Tensor
    out_mean: torch.Tensor
    out_scale: torch.Tensor

    def __init__(self, body: nn.Module, mean: torch.Tensor, scale: torch.Tensor,
                 out_mean: torch.Tensor | None = None, out_scale: torch.Tensor | None = None) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", mean.clone().float())
        self.register_buffer("scale", scale.clone().float())
        n_out = _n_out(body)
        self.register_buffer("out_mean", (out_mean if out_mean is not None else torch.zeros(n_out)).clone().float())
        self.register_buffer("out_scale", (out_scale if out_scale is not None else torch.ones(n_out)).clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.body((x - self.mean) / self.scale)
        return z * self.out_scale + self.out_mean


def _n_out(body: nn.Module) -> int:
    last = [m for m in body.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    if not last:
        raise UnsupportedModelError("The network has no Linear or Conv2d layer.")
    m = last[-1]
    return int(m.out_features if isinstance(m, nn.Linear) else m.out_channels)


# --- layer-list spec -------------------------------------------------------------

def _describe_linear(m: nn.Linear) -> dict[str, Any]:
    return {"type": "linear", "in": m.in_features, "out": m.out_features, "bias": m.bias is not None}


def _describe_conv(m: nn.Conv2d) -> dict[str, Any]:
    return {"type": "conv2d", "in": m.in_channels, "out": m.out_channels, "kernel": list(m.kernel_size),
            "stride": list(m.stride), "padding": list(m.padding), "bias": m.bias is not None}  # type: ignore[arg-type]


_DESCRIBE: dict[type[nn.Module], Callable[[Any], dict[str, Any]]] = {
    nn.Linear: _describe_linear,
    nn.Conv2d: _describe_conv,
    nn.Flatten: lambda m: {"type": "flatten"},
    nn.Dropout: lambda m: {"type": "dropout", "p": m.p},
    nn.MaxPool2d: lambda m: {"type": "maxpool2d", "kernel": m.kernel_size},
    nn.BatchNorm1d: lambda m: {"type": "batchnorm1d", "n": m.num_features},
    nn.BatchNorm2d: lambda m: {"type": "batchnorm2d", "n": m.num_features},
    nn.Identity: lambda m: {"type": "identity"},
    **{cls: (lambda m, n=name: {"type": n}) for name, cls in ACTIVATIONS.items()},  # type: ignore[misc]
}

_BUILD: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    "linear": lambda s: nn.Linear(s["in"], s["out"], bias=s.get("bias", True)),
    "conv2d": lambda s: nn.Conv2d(s["in"], s["out"], kernel_size=tuple(s["kernel"]), stride=tuple(s.get("stride", (1, 1))),
                                  padding=tuple(s.get("padding", (0, 0))), bias=s.get("bias", True)),
    "flatten": lambda s: nn.Flatten(),
    "dropout": lambda s: nn.Dropout(s["p"]),
    "maxpool2d": lambda s: nn.MaxPool2d(s["kernel"]),
    "batchnorm1d": lambda s: nn.BatchNorm1d(s["n"]),
    "batchnorm2d": lambda s: nn.BatchNorm2d(s["n"]),
    "identity": lambda s: nn.Identity(),
    **{name: (lambda s, c=cls: c()) for name, cls in ACTIVATIONS.items()},  # type: ignore[misc]
}


#: Deepest nesting of Sequentials that saves and loads (real networks use 1 or 2 levels).
MAX_LAYER_NESTING = 100


def module_to_layers(body: nn.Module, *, _depth: int = 0) -> list[dict[str, Any]]:
    """Describe an ``nn.Sequential`` of standard layers as a JSON-able list (nested Sequentials flatten)."""
    if _depth >= MAX_LAYER_NESTING:
        raise UnsupportedModelError(f"The network nests Sequentials deeper than {MAX_LAYER_NESTING} levels; flatten it.")
    if not isinstance(body, nn.Sequential):
        raise UnsupportedModelError(
            f"Only nn.Sequential networks of standard layers can be saved as safetensors + JSON; got "
            f"{type(body).__name__}. Export it to ONNX instead (leanlens.models.export_onnx)."
        )
    out: list[dict[str, Any]] = []
    for child in body:
        if isinstance(child, nn.Sequential):
            out.append({"type": "sequential", "layers": module_to_layers(child, _depth=_depth + 1)})
            continue
        fn = _DESCRIBE.get(type(child))
        if fn is None:
            raise UnsupportedModelError(
                f"Layer type {type(child).__name__} cannot be described in model.json. "
                f"Supported: {', '.join(sorted(c.__name__ for c in _DESCRIBE))}."
            )
        out.append(fn(child))
    return out


def layers_to_module(layers: list[dict[str, Any]], *, _depth: int = 0) -> nn.Sequential:
    """Rebuild the ``nn.Sequential`` that ``module_to_layers`` described."""
    if _depth >= MAX_LAYER_NESTING:
        raise ModelFormatError(f"model.json: layers are nested deeper than {MAX_LAYER_NESTING} levels.")
    mods: list[nn.Module] = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict) or "type" not in spec:
            raise ModelFormatError(f"model.json: layer {i} is not a layer description: {spec!r}.")
        t = spec["type"]
        if t == "sequential":
            mods.append(layers_to_module(spec["layers"], _depth=_depth + 1))
            continue
        if t not in _BUILD:
            raise ModelFormatError(f"model.json: layer {i} has unknown type {t!r}.")
        try:
            mods.append(_BUILD[t](spec))
        except (KeyError, TypeError) as exc:
            raise ModelFormatError(f"model.json: layer {i} ({t}) is incomplete: {exc}.") from None
    return nn.Sequential(*mods)
