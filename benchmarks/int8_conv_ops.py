"""SmallCNN (32, 64 channels, 128 dense), pruned 50 % + fine-tune 5: static int8 with and without
its convolutions quantized, against dynamic int8, at 1 and 2 threads (batch 256, raw forward,
interleaved, medians of 3). The check behind ``Quantize``'s default operators (session 6).

Run: ``PYTHONPATH=src python benchmarks/int8_conv_ops.py`` (~20 s on 2 cores).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    import numpy as np
    from compression_int8 import _at_threads

    import leanlens as lc
    from leanlens.compress.measurement import latency_rows
    from leanlens.models.latency import forward_fn, time_calls

    im = lc.datasets.load("digits-images", random_state=0)
    m = lc.train(im, lc.TrainConfig(arch="cnn", channels=(32, 64), hidden=(128,), epochs=15, random_state=0))
    pruned = lc.compress(m, [lc.Prune(amount=0.5, scope="layer"), lc.Finetune(epochs=5)], data=im, random_state=0,
                         latency_reps=0).model
    plans = {"static, convolutions int8": lc.Quantize(mode="static", ops=("MatMul", "Gemm", "Conv")),
             "static, convolutions fp32 (default)": lc.Quantize(mode="static"),
             "dynamic, convolutions fp32": lc.Quantize(mode="dynamic")}
    models = {k: lc.compress(pruned, [q], data=im, random_state=0, latency_reps=0).model for k, q in plans.items()}
    for k, q in models.items():
        acc = float((q.predict(im.X_test) == im.y_test).mean())
        agree = float((q.predict(im.X_test) == pruned.predict(im.X_test)).mean())
        print(f"{k}: accuracy {acc:.4f}, agreement with the pruned fp32 model {agree:.4f}")
    X = np.ascontiguousarray(latency_rows(im, 256), dtype=np.float32)
    for threads in (1, 2):
        fns = {k: forward_fn(_at_threads(q, threads), X, threads=threads) for k, q in models.items()}
        runs = [time_calls(fns, threads=threads, reps=200, warmup=10, attempts=1, warn=False, max_seconds=20)
                for _ in range(3)]
        for k in fns:
            print(f"{threads} thread(s) {k}: {float(np.median([r[k].median for r in runs])):.3f} ms")
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
