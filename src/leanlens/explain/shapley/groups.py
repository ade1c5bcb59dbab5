"""Grouped features: Shapley values of groups of features (players = groups).

A group is present in a coalition when all its features come from the explained row, absent
when all come from the background; the group game is the feature game restricted to such
coalitions, so every estimator works on it unchanged and exact enumeration needs only
2^groups coalitions (e.g. 16 patches of 2×2 pixels for an 8×8 image).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from .game import MaskingGame

__all__ = ["GroupedGame", "patch_groups", "resolve_groups"]

_PATCH_SPEC = re.compile(r"^patches:(\d+)x(\d+)$")


def patch_groups(d: int, input_shape: Sequence[int] | None, ph: int, pw: int) -> tuple[list[list[int]], list[str]]:
    """Rectangular patches of ph × pw pixels (every channel of a pixel in its patch).

    The image shape comes from ``input_shape`` ((H, W) or (C, H, W)); a flat input of d = s²
    features is read as an s × s image. Edge patches are smaller when H or W is not a multiple.
    """
    shape = tuple(int(s) for s in input_shape) if input_shape else (d,)
    if len(shape) == 1:
        side = math.isqrt(d)
        if side * side != d:
            raise InvalidInputError(
                f"The 'groups' parameter 'patches:{ph}x{pw}' needs image-shaped inputs ((H, W) or (C, H, W)) "
                f"or a square number of features. Got input_shape {shape} with d = {d}."
            )
        shape = (1, side, side)
    elif len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or int(np.prod(shape)) != d:
        raise InvalidInputError(f"The 'groups' patches need an input of shape (C, H, W) with C·H·W = {d}. Got {shape}.")
    c, h, w = shape
    if ph < 1 or pw < 1 or ph > h or pw > w:
        raise InvalidInputError(f"The 'groups' patch size must be between 1x1 and {h}x{w}. Got {ph}x{pw}.")
    idx = np.arange(d).reshape(c, h, w)
    groups, names = [], []
    for r in range(0, h, ph):
        for q in range(0, w, pw):
            groups.append(sorted(idx[:, r : r + ph, q : q + pw].reshape(-1).tolist()))
            names.append(f"patch r{r}-{min(r + ph, h) - 1} c{q}-{min(q + pw, w) - 1}")
    return groups, names


def resolve_groups(spec: Any, d: int, input_shape: Sequence[int] | None, feature_names: Sequence[str]
                   ) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    """Validate ``groups`` (a list of index lists, or ``"patches:HxW"``): (groups, names).

    Every feature must be in exactly one group. A group's name joins its features' names
    (first three, then "+n"), or names the patch.
    """
    if isinstance(spec, str):
        m = _PATCH_SPEC.match(spec.strip())
        if not m:
            raise InvalidInputError(
                f"The 'groups' parameter must be a list of feature-index lists or 'patches:HxW' (e.g. 'patches:2x2'). "
                f"Got {spec!r}."
            )
        groups, names = patch_groups(d, input_shape, int(m.group(1)), int(m.group(2)))
        return tuple(tuple(g) for g in groups), tuple(names)
    if not isinstance(spec, Sequence) or isinstance(spec, bytes) or len(spec) == 0:
        raise InvalidInputError(f"The 'groups' parameter must be a non-empty list of feature-index lists. Got {spec!r}.")
    out: list[tuple[int, ...]] = []
    owner = np.full(d, -1)
    for gi, g in enumerate(spec):
        if isinstance(g, str | bytes) or not isinstance(g, Sequence | np.ndarray) or len(g) == 0:
            raise InvalidInputError(f"Group {gi} of the 'groups' parameter must be a non-empty list of feature indices. Got {g!r}.")
        idx = []
        for i in g:
            if isinstance(i, bool) or not isinstance(i, int | np.integer):
                raise InvalidInputError(f"Group {gi} of the 'groups' parameter holds {i!r}; feature indices must be ints.")
            if not 0 <= int(i) < d:
                raise InvalidInputError(f"Group {gi} of the 'groups' parameter names feature {i}, out of range [0, {d}).")
            if owner[int(i)] >= 0:
                raise InvalidInputError(
                    f"The 'groups' overlap: feature {int(i)} is in group {int(owner[int(i)])} and group {gi}. "
                    "Every feature must be in exactly one group."
                )
            owner[int(i)] = gi
            idx.append(int(i))
        out.append(tuple(sorted(idx)))
    missing = np.nonzero(owner < 0)[0]
    if len(missing):
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InvalidInputError(
            f"The 'groups' leave {len(missing)} feature(s) out ({shown}); every feature must be in exactly one group."
        )
    names = []
    for g in out:
        parts = [str(feature_names[i]) for i in g[:3]]
        names.append("+".join(parts) + (f"+{len(g) - 3}" if len(g) > 3 else ""))
    return tuple(out), tuple(names)


class GroupedGame(MaskingGame):
    """The feature game seen through groups: a coalition of groups switches on all their features.

    Exposes what the estimators use of :class:`MaskingGame` (``n``, ``d`` = groups,
    ``n_outputs``, ``n_background``, ``empty``, ``full``, calling it); the wrapped game
    counts the model evaluations.
    """

    def __init__(self, game: MaskingGame, groups: Sequence[Sequence[int]]) -> None:
        self.game = game
        self.model, self.X, self.background = game.model, game.X, game.background
        self.weights, self.targets, self.batch_rows = game.weights, game.targets, game.batch_rows
        member = np.zeros((len(groups), game.d), dtype=bool)
        for gi, g in enumerate(groups):
            member[gi, list(g)] = True
        self.member = member
        self.empty = game.empty
        self.full = game.full

    @property
    def n(self) -> int:
        return self.game.n

    @property
    def d(self) -> int:
        return int(self.member.shape[0])

    @property
    def n_outputs(self) -> int:
        return self.game.n_outputs

    @property
    def n_background(self) -> int:
        return self.game.n_background


    def __call__(self, masks: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool)
        feature_masks = (masks.astype(np.uint8) @ self.member.astype(np.uint8)) > 0
        return self.game(feature_masks, rows=rows)
