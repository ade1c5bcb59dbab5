"""Foundation numbers (issue 2): test accuracy and training time of the default models.

Trains the digits MLP (512, 512), the digits-images SmallCNN and the breast_cancer MLP
over several seeds, beside scikit-learn's MLPClassifier with the same hidden layers on
the same split (the reference); checks that the same seed gives byte-identical
``model.safetensors``; and fits the seed text's linear regression by full-batch SGD
against the closed-form least-squares solution.

    python benchmarks/training.py            # full: 5 seeds
    python benchmarks/training.py --quick    # smoke test: 1 seed, 1 epoch, a narrower CNN
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, machine_line, write_results

import leanlens


def _train(name: str, cfg: leanlens.TrainConfig, seed: int) -> dict[str, float]:
    ds = leanlens.datasets.load(name, random_state=seed)
    t0 = time.perf_counter()
    model = leanlens.train(ds, cfg.replace(random_state=seed))
    seconds = time.perf_counter() - t0
    return {"accuracy": model.metadata["metrics"]["test_accuracy"], "seconds": seconds}


def _sklearn_reference(name: str, hidden: tuple[int, ...], epochs: int, seed: int) -> dict[str, float]:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    ds = leanlens.datasets.load(name, random_state=seed)
    X = ds.X_train.reshape(len(ds.X_train), -1)
    t0 = time.perf_counter()
    # Same work as ours: every epoch runs (no early stop on the training loss), BLAS on 2 threads.
    mlp = MLPClassifier(hidden, max_iter=epochs, batch_size=64, n_iter_no_change=epochs + 1, tol=0.0, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(2):
        warnings.simplefilter("ignore")
        clf = make_pipeline(StandardScaler(), mlp).fit(X, ds.y_train)
    seconds = time.perf_counter() - t0
    return {"accuracy": float(clf.score(ds.X_test.reshape(len(ds.X_test), -1), ds.y_test)), "seconds": seconds,
            "epochs_run": int(mlp.n_iter_)}


def _determinism(epochs: int = 2) -> bool:
    ds = leanlens.datasets.load("digits", random_state=0)
    cfg = leanlens.TrainConfig(hidden=(512, 512), epochs=epochs, random_state=11)
    with tempfile.TemporaryDirectory() as tmp:
        digests = []
        for i in range(2):
            path = leanlens.train(ds, cfg).save(Path(tmp) / f"m{i}")
            digests.append(hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest())
    return digests[0] == digests[1]


def _sgd_linear_regression() -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 1.5, size=(400, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.7 + rng.normal(0, 0.3, 400)
    ds = leanlens.datasets.from_numpy(X, y, task="regression", random_state=0)
    cfg = leanlens.TrainConfig(hidden=(), dropout=0.0, optimizer="sgd", momentum=0.0, lr=0.1, schedule="constant",
                               batch_size=len(ds.X_train), epochs=600, random_state=0)
    model = leanlens.train(ds, cfg)
    A = np.hstack([ds.X_train.astype(np.float64), np.ones((len(ds.X_train), 1))])
    coef, *_ = np.linalg.lstsq(A, ds.y_train.astype(np.float64), rcond=None)
    f0 = model.predict(np.zeros((1, 3)))[0]
    w = np.array([model.predict(np.eye(3)[i : i + 1])[0] - f0 for i in range(3)])
    return float(np.max(np.abs(np.append(w, f0) - coef)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 seed, 1 epoch, a narrower CNN (smoke test).")
    ap.add_argument("--out", type=Path, default=None, help="Results folder (default benchmarks/results).")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    epochs = 1 if args.quick else 30
    # quick: the CNN's widths shrink (its label names none); the MLPs keep the widths their labels name
    cnn = dict(channels=(8, 16), hidden=(32,)) if args.quick else dict(hidden=(128,))
    cases = {
        "digits MLP (512, 512)": ("digits", leanlens.TrainConfig(hidden=(512, 512), epochs=epochs, random_state=0), (512, 512), 0.97),
        "digits-images SmallCNN": ("digits-images", leanlens.TrainConfig(arch="cnn", epochs=epochs, random_state=0, **cnn), None, 0.97),
        "breast_cancer MLP (512, 512)": ("breast_cancer", leanlens.TrainConfig(hidden=(512, 512), epochs=epochs, random_state=0), (512, 512), 0.95),
    }
    _train("iris", leanlens.TrainConfig(hidden=(8,), epochs=1), 0)  # warm-up: torch's first-call overhead
    rows = []
    results: dict[str, object] = {"machine": machine_info(), "seeds": seeds, "epochs": epochs, "cases": {}}
    for label, (name, cfg, sk_hidden, target) in cases.items():
        ours, ref = [], []
        for s in seeds:  # interleaved: ours then the reference, seed by seed
            ours.append(_train(name, cfg, s))
            if sk_hidden:
                ref.append(_sklearn_reference(name, sk_hidden, epochs, s))
        acc = [r["accuracy"] for r in ours]
        secs = [r["seconds"] for r in ours]
        entry = {
            "accuracy_per_seed": acc, "seconds_per_seed": secs, "target_accuracy": target,
            "sklearn_accuracy_per_seed": [r["accuracy"] for r in ref], "sklearn_seconds_per_seed": [r["seconds"] for r in ref],
            "sklearn_epochs_run": [r["epochs_run"] for r in ref],
        }
        results["cases"][label] = entry  # type: ignore[index]
        ref_acc = f"{statistics.mean(entry['sklearn_accuracy_per_seed']):.4f}" if ref else "—"
        ref_sec = f"{statistics.median(entry['sklearn_seconds_per_seed']):.2f}" if ref else "—"
        rows.append(f"| {label} | {acc[0]:.4f} | {statistics.mean(acc):.4f} | {min(acc):.4f} | ≥ {target} | "
                     f"{statistics.median(secs):.2f} | {ref_acc} | {ref_sec} |")
    identical = _determinism(1 if args.quick else 2)
    lr_err = _sgd_linear_regression()
    results["same_seed_identical_safetensors"] = identical
    results["sgd_linear_regression_max_abs_error"] = lr_err
    digits_secs = results["cases"]["digits MLP (512, 512)"]["seconds_per_seed"]  # type: ignore[index]
    sk_secs = results["cases"]["digits MLP (512, 512)"]["sklearn_seconds_per_seed"]  # type: ignore[index]
    ratio = statistics.median(sk_secs) / statistics.median(digits_secs)
    results["digits_mlp_train_seconds_median"] = statistics.median(digits_secs)
    results["speed_ratio_vs_sklearn"] = ratio
    table = "\n".join([
        f"{machine_line()} (torch threads = 2, {epochs} epochs, seeds {seeds})",
        "",
        "| model | test acc (seed 0) | mean | min | target | train s (median) | sklearn MLP acc | sklearn s |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"same seed twice → byte-identical model.safetensors: {identical}",
        f"SGD linear regression vs closed-form least squares, max |Δ coef|: {lr_err:.2e} (target ≤ 1e-3)",
        f"digits MLP training: {statistics.median(digits_secs):.2f} s (target ≤ 20 s); "
        f"sklearn MLPClassifier same layers/epochs/batch: {statistics.median(sk_secs):.2f} s → "
        + (f"**leanlens {ratio:.1f}× faster than sklearn**" if ratio >= 1 else f"**leanlens {1 / ratio:.1f}× slower than sklearn**"),
    ])
    write_results("training", results, table, out=args.out)


if __name__ == "__main__":
    main()
