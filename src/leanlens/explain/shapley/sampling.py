"""Coalition sampling shared by the Shapley estimators: the Shapley-kernel size mass,
uniform subsets of a size (with and without replacement), and KernelSHAP's paired design
with border enumeration (the extreme sizes enumerated while the budget covers them)."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from ...errors import InvalidInputError

__all__ = [
    "all_subsets",
    "kernel_design",
    "kernel_size_mass",
    "paired_subsets",
    "random_subsets",
    "size_groups",
    "unique_random_subsets",
]

#: Redraw rounds for duplicate coalitions before giving up (a bug guard: duplicates are rare).
MAX_REDRAW_ROUNDS = 200
#: Enumerate a size's population (instead of drawing and redrawing) when it holds at most
#: this many times the coalitions wanted, or at most ``ENUMERATE_MIN_POPULATION`` …
ENUMERATE_POPULATION_FACTOR = 4
ENUMERATE_MIN_POPULATION = 64
#: … and the enumerated keys for all rows stay below this many entries (memory cap).
ENUMERATE_MAX_KEYS = 20_000_000
#: Slack when deciding that a size's kernel share covers all its coalitions (float rounding).
BORDER_SLACK = 1e-8


def kernel_size_mass(d: int) -> np.ndarray:
    """Shapley-kernel mass of each coalition size s = 0..d: (d−1)/(s(d−s)), 0 at s ∈ {0, d}.

    Every coalition of size s has kernel weight mass[s] / C(d, s) (Lundberg & Lee, NeurIPS 2017).
    """
    s = np.arange(d + 1, dtype=np.float64)
    mass = np.zeros(d + 1)
    inner = (s > 0) & (s < d)
    mass[inner] = (d - 1) / (s[inner] * (d - s[inner]))
    return mass


def random_subsets(rng: np.random.Generator, shape: tuple[int, ...], d: int, sizes: np.ndarray | int) -> np.ndarray:
    """Uniform random subsets of {0..d−1} with the given sizes: bool array ``(*shape, d)``.

    ``sizes`` broadcasts to ``shape``. A subset of size s is the s smallest of d uniform
    keys; one partial sort per distinct size (not per row) keeps this O(d) per subset.
    """
    size = np.broadcast_to(np.asarray(sizes, dtype=np.int64), shape).reshape(-1)
    out = np.zeros((len(size), d), dtype=bool)
    for s in np.unique(size):
        if s <= 0:
            continue
        idx = np.nonzero(size == s)[0]
        keys = rng.random((len(idx), d))
        if s >= d:
            out[idx] = True
            continue
        kth = np.partition(keys, s - 1, axis=1)[:, s - 1 : s]
        out[idx] = keys <= kth
    return out.reshape(*shape, d)


def _codes(masks: np.ndarray) -> np.ndarray:
    """One comparable code per mask (last axis): bytes of the packed bits as a void scalar."""
    packed = np.packbits(masks, axis=-1)
    return np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[-1])))[..., 0]


def unique_random_subsets(rng: np.random.Generator, n: int, k: int, d: int, s: int, *, max_rounds: int = MAX_REDRAW_ROUNDS
                          ) -> np.ndarray:
    """``k`` distinct uniform subsets of size ``s`` of {0..d−1} for each of ``n`` rows: (n, k, d) bool.

    Simple random sampling without replacement: every subset is included with probability
    k / C(d, s). Small populations are enumerated and permuted; large ones are drawn and
    duplicates redrawn (rare when k ≪ C(d, s)).
    """
    total = math.comb(d, s)
    if k > total:
        raise InvalidInputError(f"Cannot draw {k} distinct subsets of size {s} from {d} features (only {total}).")
    if total <= max(ENUMERATE_POPULATION_FACTOR * k, ENUMERATE_MIN_POPULATION) and n * total <= ENUMERATE_MAX_KEYS:
        allsets = all_subsets(d, s)
        pick = np.argpartition(rng.random((n, total)), k - 1, axis=1)[:, :k] if k < total else np.tile(np.arange(total), (n, 1))
        return allsets[pick]
    masks = random_subsets(rng, (n, k), d, s)
    for _ in range(max_rounds):
        codes = _codes(masks)
        order = np.argsort(codes, axis=1, kind="stable")
        sorted_codes = np.take_along_axis(codes, order, axis=1)
        dup_sorted = np.zeros((n, k), dtype=bool)
        dup_sorted[:, 1:] = sorted_codes[:, 1:] == sorted_codes[:, :-1]
        if not dup_sorted.any():
            return masks
        dup = np.zeros((n, k), dtype=bool)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        rows, cols = np.nonzero(dup)
        masks[rows, cols] = random_subsets(rng, (len(rows),), d, s)
    raise RuntimeError("Could not draw distinct coalitions; this is a bug.")  # pragma: no cover


def all_subsets(d: int, s: int) -> np.ndarray:
    """Every subset of size s of {0..d−1} as a (C(d, s), d) bool array."""
    if s == 0:
        return np.zeros((1, d), dtype=bool)
    combos = np.array(list(combinations(range(d), s)), dtype=np.int64).reshape(-1, s)
    out = np.zeros((len(combos), d), dtype=bool)
    np.put_along_axis(out, combos, True, axis=1)
    return out


def size_groups(d: int) -> list[int]:
    """Coalition sizes s ≤ d/2; each stands for the pair of sizes {s, d − s}."""
    return list(range(1, d // 2 + 1))


def paired_subsets(d: int, s: int) -> np.ndarray:
    """Every pair (z, z̄) with |z| = s as adjacent rows: (2·pairs, d) bool.

    For the middle size s = d/2 each pair is listed once (z holds feature d − 1).
    """
    if 2 * s == d:
        first = np.concatenate([all_subsets(d - 1, s - 1), np.ones((math.comb(d - 1, s - 1), 1), dtype=bool)], axis=1)
    else:
        first = all_subsets(d, s)
    return np.stack([first, ~first], axis=1).reshape(-1, d)


def kernel_design(d: int, budget: int, n: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Coalitions and regression weights of KernelSHAP for ``n`` rows.

    Sizes are visited from the outside in (s and d − s together); a size pair is enumerated
    completely when its share of the remaining budget under the Shapley kernel covers all
    its coalitions (as ``shap.KernelExplainer`` does). The remaining budget is spent on
    paired draws (a coalition and its complement) with sizes drawn from the kernel over the
    sizes left, uniform within a size, with replacement.

    Returns
    -------
    masks : (n, m, d) bool. weights : (m,) regression weights. units : (m,) sampling unit
        (−1 = enumerated). n_enumerated : coalitions enumerated.
    """
    mass = kernel_size_mass(d)
    groups = size_groups(d)
    gmass = np.array([mass[s] * (1 if 2 * s == d else 2) for s in groups])
    gsets = np.array([math.comb(d, s) * (1 if 2 * s == d else 2) for s in groups], dtype=np.float64)
    remaining, left_mass = budget, float(gmass.sum())
    n_enum = 0
    for g in range(len(groups)):
        if remaining * gmass[g] / left_mass >= gsets[g] - BORDER_SLACK:
            remaining -= int(gsets[g])
            left_mass -= float(gmass[g])
            n_enum = g + 1
        else:
            break
    parts = [paired_subsets(d, s) for s in groups[:n_enum]]
    enum_masks = np.concatenate(parts) if parts else np.zeros((0, d), dtype=bool)
    sz = enum_masks.sum(axis=1)
    enum_w = mass[sz] / np.array([math.comb(d, int(s)) for s in sz]) if len(sz) else np.zeros(0)
    rest = groups[n_enum:]
    R = remaining // 2 if rest else 0
    if R > 0:
        p = gmass[n_enum:] / gmass[n_enum:].sum()
        sizes = np.asarray(rest)[rng.choice(len(rest), size=(n, R), p=p)]
        first = random_subsets(rng, (n, R), d, sizes)
        sampled = np.stack([first, ~first], axis=2).reshape(n, 2 * R, d)
        samp_w = np.full(2 * R, left_mass / (2 * R))
    else:
        sampled = np.zeros((n, 0, d), dtype=bool)
        samp_w = np.zeros(0)
    masks = np.concatenate([np.broadcast_to(enum_masks, (n, *enum_masks.shape)), sampled], axis=1)
    weights = np.concatenate([enum_w, samp_w])
    units = np.concatenate([np.full(len(enum_masks), -1), np.repeat(np.arange(R), 2)])
    return masks, weights, units, len(enum_masks)
