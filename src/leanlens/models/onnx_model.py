"""ONNX models run by ONNX Runtime; export of leanlens torch models to ONNX."""

from __future__ import annotations

import math
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._io import atomic_dir, atomic_write_bytes
from ..errors import InvalidInputError, LeanlensError, ModelFormatError, UnsupportedModelError
from .base import BaseModel, Task

if TYPE_CHECKING:
    from collections.abc import Callable

    from .torch_model import TorchModel

__all__ = ["CHOICE_TIMINGS", "PARALLEL_GAIN", "SMALL_ROWS", "SPIN_ENV", "SPIN_US", "THREAD_CHOICE_BATCH", "OnnxModel", "choose_threads", "export_onnx", "load_onnx_folder",
           "spin_us", "time_thread_counts"]

FORMAT = "leanlens-onnx"
#: ``threads="auto"`` keeps more intra-op threads only when they run a call at least this many
#: times faster than the fewest within reach: N threads hold N cores, and on small work (the
#: int8 MLPs at batch 1) ONNX Runtime's hand-off between pool threads costs more than the split
#: work saves (``benchmarks/onnx_spin.py``: 2 threads 0.93–0.94× of 1 at batch 1, 1.47–1.50× at 256).
PARALLEL_GAIN = 1.1
#: µs an intra-op pool thread busy-waits for work before it sleeps (ONNX Runtime's
#: ``session.intra_op.spin_duration_us``). A run hands each kernel to the pool; a thread that
#: slept must be woken for the next one (a futex and, on a VM, the host's scheduler: tens of µs
#: per kernel), so with no spin 2 threads are barely faster than 1, and slower at batch 1.
#: ONNX Runtime's default spins ~1 M iterations and keeps the core long after the run, from
#: torch, BLAS or another process. ``benchmarks/onnx_spin.py`` (quiet; ``onnx_spin_s7.md``), int8
#: digits / breast-cancer MLPs, 2 threads against 1, and torch fp32 at 2 threads in the same rounds:
#: no spin b1 0.78× / 0.64×, b256 1.42× / 1.38×, b1024 1.53× / 1.25×; 50 µs 0.93× / 0.94×,
#: 1.50× / 1.47×, 1.54× / 1.42×, torch +0 / +1 %; 100 µs: torch +3 / +5 %; 200 µs +9 / +17 %;
#: the default +71 / +67 %.
SPIN_US = 50
#: The environment variable that overrides :data:`SPIN_US` (see :func:`spin_us`).
SPIN_ENV = "LEANLENS_ONNX_SPIN_US"
#: Rows per call when the thread count is chosen on rows made up for the purpose.
THREAD_CHOICE_BATCH = 256
#: Untimed calls of the same session before each timed one when the thread count is chosen
#: (see ``time_calls``' ``settle``). Without one, each count's call followed the other count's, so a
#: 2-thread session always found its pool thread asleep (woken for the first kernel). The digits
#: int8 MLP at batch 256, which 2 threads run 1.2–1.35× faster in a loop of its own calls, twelve
#: choices each way (session 8): without, 3 read 1.02–1.07× (1 thread chosen), the others 1.14–1.52×;
#: with, 11 read 1.19–1.52× and one 0.99 (a slow spell of the second core, which no rule can see).
THREAD_CHOICE_SETTLE = 1
#: Timings of the batch choice at most. A slow spell of a core (another process, the host) only
#: slows calls, and it slows a session that needs every core more often than one that needs one,
#: so a timing that finds more threads no faster (fewer chosen) is repeated, each count keeping
#: its fastest time over the timings; a timing that finds them faster ends the choice. The digits
#: int8 MLP at batch 256 (session 10, ``compress`` of the hand plan ten times, seeds 0–9): the first
#: timing read 2 threads 0.91–1.65× faster than 1 and chose 1 thread twice (0.91×, 1.05×), while
#: three later timings of each of those models read 1.09–1.62× and 1.41–1.54×; of the 30 later
#: timings of all ten, 4 read below 1.1×. ``benchmarks/thread_choice.py`` (60 choices each way,
#: alternating): 1 thread chosen 5 times with one timing, 2 times with up to three, at 17 % more
#: timings. Small graphs, whose fewest threads win in every timing, pay the repeats, which are
#: short for them (the 64-64 int8 MLP: 0.5 s against 0.15–0.2 s).
CHOICE_TIMINGS = 3
#: Calls on at most this many rows run with the threads chosen on one row (``"small"`` in the
#: choice): splitting a few rows over a pool costs more than it saves. The digits int8 MLP with
#: 50 µs spin, 2 threads against 1: 0.93–0.95× at 1–4 rows, 0.97–0.98× at 8 and 16, 1.01–1.04× at
#: 32, 1.14× at 64 (three timings each, session 7).
SMALL_ROWS = 16
#: The key of the cached choice in a model's metadata (saved with the model: a later load does not re-time).
THREADS_KEY = "onnx_threads"
#: ONNX Runtime's names of the output types ``output()`` reads.
_FLOAT_TENSORS = ("tensor(float)", "tensor(double)", "tensor(float16)", "tensor(bfloat16)")
#: Elements per ``np.vdot`` in :func:`_all_finite`: OpenBLAS runs a dot product of this size on one thread
#: (the same times with ``threadpool_limits(1)``; one of 262,144 elements it splits over its pool, whose
#: second thread would take a core from a 2-thread ONNX Runtime session).
_FINITE_CHUNK = 1 << 14
#: numpy's float32 dtype: arrays of native float32 share this object (``X.dtype is _F32``: one
#: identity test on the hot path; any other float32 dtype object takes the general path).
_F32 = np.dtype(np.float32)


def _all_finite(X: np.ndarray) -> bool:
    """True when the sum of squares of the C-contiguous float32 array ``X`` is finite, chunk by chunk.

    A NaN or an infinity makes a sum of squares NaN or inf (squares are ≥ 0: no inf − inf), so
    True proves every value finite, in one pass that allocates nothing (``np.isfinite(X).all()``
    writes a bool array first and reads it again: ~1.5× the time). False means a value is not
    finite *or* the squares overflowed float32 (|x| ≳ 1.8e19): the caller then checks element by
    element, which also names the row and column. Up to :data:`_FINITE_CHUNK` elements it is one
    ``np.vdot`` on ``X`` itself (it flattens): no reshape, slice or loop, each of which costs
    µs on the hot path right after a ``session.run`` (the interpreter's caches are cold there;
    measured in place, the loop form added ~12 µs to ``predict_proba`` at batch 256, one call ~6 µs).
    """
    if X.size <= _FINITE_CHUNK:
        return math.isfinite(np.vdot(X, X))
    flat = X.reshape(-1)
    for start in range(0, flat.size, _FINITE_CHUNK):
        part = flat[start:start + _FINITE_CHUNK]
        if not math.isfinite(np.vdot(part, part)):
            return False
    return True


def spin_us() -> int:
    """µs the pool threads of a new session busy-wait: :data:`SPIN_US`, or the environment's
    ``LEANLENS_ONNX_SPIN_US`` (an int from 0, no spin, to 1,000,000), e.g. 0 on a machine whose
    cores other work needs at once (the test suite: two workers on 2 cores, 110 s with 0 against
    120 s with 50)."""
    raw = os.environ.get(SPIN_ENV)
    if raw is None:
        return SPIN_US
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 1_000_000:
        raise InvalidInputError(f"The environment variable {SPIN_ENV} must be an int from 0 to 1000000 (µs). Got {raw!r}.")
    return value


def _session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    # The pool threads busy-wait SPIN_US between kernels and after a run, then sleep: see SPIN_US.
    spin = spin_us()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if spin:
        opts.add_session_config_entry("session.intra_op.spin_duration_us", str(spin))
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelFormatError(f"ONNX Runtime could not load {str(path)!r}: {exc}") from None


def _candidates(max_threads: int) -> list[int]:
    """1, 2, 4, … up to ``max_threads``, and ``max_threads`` itself."""
    out, n = [], 1
    while n < max_threads:
        out.append(n)
        n *= 2
    return [*out, max_threads]


def time_thread_counts(path: str | os.PathLike[str], X: np.ndarray, counts: list[int], *, reps: int = 60,
                       max_seconds: float = 0.15, blocks: int = 5, settle: int = THREAD_CHOICE_SETTLE
                       ) -> dict[int, float]:
    """ms of one ``session.run`` on ``X`` with each intra-op thread count: ``blocks`` timings, each
    interleaved round by round, and for each count the median over blocks of its fast end (p10).

    The ratio between counts swings with the machine over fractions of a second: the digits int8
    MLP at batch 256, 2 threads against 1, in a process that had just trained a torch model, six
    choices of five blocks each: medians 1.09–1.43×, fast ends 1.13–1.27× (a single timing's
    median: 1.04–1.35×). Interference only slows a call, so the fast end tells more steadily
    what a thread count can do; the 1.1× rule of :func:`choose_threads` is applied to it.
    """
    from .latency import time_calls

    sessions = {n: _session(Path(path), n) for n in counts}
    feed = {next(iter(sessions.values())).get_inputs()[0].name: np.ascontiguousarray(X, dtype=np.float32)}
    fns = {str(n): (lambda s=s: s.run(None, feed)) for n, s in sessions.items()}
    fast: dict[int, list[float]] = {n: [] for n in counts}
    for block in range(max(1, blocks)):
        # ≤ ~0.15 s a block for small graphs; a slow graph stops after 5 rounds (its times scatter less);
        # the first block warms the fresh sessions (a new pool's first calls run slow)
        res = time_calls(fns, threads=None, warmup=20 if block == 0 else 2, reps=reps, min_reps=min(5, reps),
                         max_seconds=max_seconds, attempts=1, warn=False, settle=settle)
        for n in counts:
            fast[n].append(res[str(n)].p10)
    return {n: float(np.median(v)) for n, v in fast.items()}


def choose_threads(ms: dict[int, float], *, gain: float = PARALLEL_GAIN) -> int:
    """The fewest threads whose time is within ``gain`` of the fastest count's.

    >>> choose_threads({1: 0.40, 2: 0.54})
    1
    >>> choose_threads({1: 2.4, 2: 1.7})
    2
    >>> choose_threads({1: 1.00, 2: 0.95})
    1
    """
    if not ms:
        raise InvalidInputError("choose_threads() needs at least one timed thread count.")
    best = min(ms.values())
    return min(n for n, t in ms.items() if t <= best * gain)


def _time_choice(path: str | os.PathLike[str], X: np.ndarray, counts: list[int], *, most: int = CHOICE_TIMINGS
                 ) -> tuple[dict[int, float], int]:
    """:func:`time_thread_counts` on ``X``, repeated up to ``most`` times (default :data:`CHOICE_TIMINGS`)
    while the rule keeps fewer than the most threads, each count keeping its fastest time; (times, timings made)."""
    ms = time_thread_counts(path, X, counts)
    made = 1
    while made < most and choose_threads(ms) < max(counts):
        again = time_thread_counts(path, X, counts)
        ms = {n: min(ms[n], again[n]) for n in counts}
        made += 1
    return ms, made


class OnnxModel(BaseModel):
    """An ``.onnx`` file executed by an ONNX Runtime session.

    ``output="logits"`` applies softmax; ``"probabilities"``/``"values"`` pass through;
    ``"auto"`` reads the graph: a final Softmax/Sigmoid means probabilities.

    Loading never runs the graph: the input and output shapes are read from the file
    (see :mod:`leanlens.models.onnx_audit` for what is refused), and the ONNX Runtime
    session is created on first use. ``allow_control_flow=True`` accepts Loop/Scan/If
    nodes, whose cost cannot be known before they run; pass it only for files you trust.

    ``threads``: ONNX Runtime intra-op threads. An int fixes them; None leaves ONNX Runtime's
    default (one per core); ``"auto"`` lets the model choose, once, the fewest of 1, 2, 4, …,
    ``max_threads`` (default: the cores) whose ``session.run`` on a batch of
    :data:`THREAD_CHOICE_BATCH` rows is within :data:`PARALLEL_GAIN` of the fastest. Small graphs
    run faster on one thread: ONNX Runtime's hand-off between pool threads costs more than the
    split work saves. The choice and its timings are kept in ``metadata["onnx_threads"]`` and
    saved with the model, so a later load on a machine with as many cores does not time again;
    calls on at most :data:`SMALL_ROWS` rows use a second choice, made on one row (a second
    session, made on first use, when it differs);
    :meth:`choose_threads` makes it on rows of your own, :meth:`set_threads` overrides it. The
    timing runs the graph, so it happens at the first call, never at load.
    """

    kind = "onnx"

    def __init__(self, path: str | os.PathLike[str], *, task: Task | None = None, input_shape: tuple[int, ...] | None = None,
                 n_features: int | None = None, output: str = "auto", threads: int | Literal["auto"] | None = None,
                 max_threads: int | None = None, allow_control_flow: bool = False, **meta: Any) -> None:
        from ..limits import cap, raise_hint
        from .onnx_audit import inspect_onnx

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFormatError(f"The ONNX file {str(self.path)!r} does not exist.")
        self.threads = _check_threads(threads, "threads")
        self.max_threads = _check_threads(max_threads, "max_threads")
        if self.max_threads == "auto":
            raise InvalidInputError("The 'max_threads' parameter of OnnxModel must be None or an int ≥ 1. Got 'auto'.")
        self.allow_control_flow = bool(allow_control_flow)
        self._session: Any = None
        self._small: Any = None  # small calls' session when their chosen threads differ; False: they use the model's
        self._out_name: str | None = None
        self._hot: tuple[Any, ...] | None = None  # see _hot_path(); None: not made yet, or not applicable
        sig = inspect_onnx(self.path, allow_control_flow=self.allow_control_flow)
        self.input_name = sig.input_name
        if input_shape is None:
            if n_features is not None:
                input_shape = (int(n_features),)
            elif sig.input_dims and all(d is not None for d in sig.input_dims):
                input_shape = tuple(int(d) for d in sig.input_dims if d is not None)
            else:
                raise InvalidInputError(f"Cannot read the input shape of {str(self.path)!r}; pass input_shape=(…).")
        if int(np.prod(input_shape)) > cap("MAX_FEATURES"):
            raise InvalidInputError(f"input_shape {tuple(input_shape)} has too many features. {raise_hint('MAX_FEATURES')}")
        width = sig.output_width
        if width is None:
            names = meta.get("output_names")
            if names is None and task is None:
                raise InvalidInputError(
                    f"Cannot read the output width of {str(self.path)!r} from the graph (it is not fixed); "
                    "pass task=… (and output_names=… for classifiers)."
                )
            width = len(names) if names is not None else 1 if task == "regression" else 2
        if task is None:
            task = "regression" if width == 1 else "binary" if width == 2 else "multiclass"
        if output == "auto":
            output = "values" if task == "regression" else "probabilities" if sig.output_op in ("Softmax", "Sigmoid") else "logits"
        if output not in ("logits", "probabilities", "values"):
            raise InvalidInputError(f"The 'output' parameter must be 'logits', 'probabilities', 'values' or 'auto'. Got {output!r}.")
        self.output_kind = output
        if "output_names" not in meta and task != "regression":
            meta["output_names"] = tuple(str(i) for i in range(max(width, 2)))
        super().__init__(input_shape=input_shape, task=task, **meta)

    @property
    def session(self) -> Any:
        """The ONNX Runtime session, created on first use (loading a file never runs it)."""
        if self._session is None:
            self._session = _session(self.path, self.threads_)
        return self._session

    @property
    def threads_(self) -> int | None:
        """The intra-op threads the session runs with (``threads="auto"``: chosen at the first call)."""
        if self.threads != "auto":
            return self.threads
        cached = self.metadata.get(THREADS_KEY)
        if not (isinstance(cached, dict) and cached.get("cores") == (os.cpu_count() or 1)
                and cached.get("max_threads") == self._max_threads() and isinstance(cached.get("threads"), int)
                and 1 <= cached["threads"] <= self._max_threads()):
            rows = np.random.default_rng(0).standard_normal((THREAD_CHOICE_BATCH, *self.input_shape))
            self.choose_threads(rows.astype(np.float32), source="random normal rows")
        return int(self.metadata[THREADS_KEY]["threads"])

    def _max_threads(self) -> int:
        cores = os.cpu_count() or 1
        return min(int(self.max_threads), cores) if isinstance(self.max_threads, int) else cores

    def choose_threads(self, X: Any, *, source: str = "rows given") -> int:
        """Time ``session.run`` on ``X`` at 1, 2, 4, … ``max_threads`` threads (interleaved) and keep the
        fewest within :data:`PARALLEL_GAIN` of the fastest; the choice goes to ``metadata["onnx_threads"]``.
        A timing that keeps fewer than the most threads is repeated, up to :data:`CHOICE_TIMINGS`
        timings, each count keeping its fastest time (``metadata["onnx_threads"]["timings"]``: how many).

        The same is done on the first row of ``X``: calls on at most :data:`SMALL_ROWS` rows run with
        that choice (``metadata["onnx_threads"]["small"]``). Sets ``threads="auto"``. ``X`` : array of
        shape (n_samples, n_features), the batch size the model will serve. Returns the chosen count.
        """
        arr = self.check_X(X)
        counts = _candidates(self._max_threads())
        ms: dict[int, float | None] = {counts[0]: None}  # one core: nothing to choose, nothing timed
        small_ms: dict[int, float | None] = {counts[0]: None}
        timings = 0
        if len(counts) > 1:
            timed, timings = _time_choice(self.path, arr, counts)
            ms, chosen = dict(timed), choose_threads(timed)
            one = time_thread_counts(self.path, arr[:1], counts)
            small_ms, small = dict(one), choose_threads(one)
        else:
            chosen = small = counts[0]
        self.threads, self._session, self._small, self._hot = "auto", None, None, None
        self.metadata[THREADS_KEY] = {
            "threads": chosen, "max_threads": self._max_threads(), "cores": os.cpu_count() or 1, "batch": len(arr),
            "rows": source, "ms": {str(n): t for n, t in ms.items()}, "timings": timings,
            "rule": f"fewest threads within {PARALLEL_GAIN:g}x of the fastest",
            "small": {"threads": small, "rows_up_to": SMALL_ROWS, "batch": 1,
                      "ms": {str(n): t for n, t in small_ms.items()}},
        }
        return chosen

    def _small_threads(self) -> int | None:
        """The threads chosen for calls on at most :data:`SMALL_ROWS` rows (None: not chosen, or invalid)."""
        cached = self.metadata.get(THREADS_KEY)
        small = cached.get("small") if self.threads == "auto" and isinstance(cached, dict) else None
        n = small.get("threads") if isinstance(small, dict) else None
        ok = isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= self._max_threads()
        return n if ok else None

    def _session_for(self, n_rows: int) -> Any:
        """The session of a call on ``n_rows`` rows: the small-call choice for at most :data:`SMALL_ROWS`
        rows when the model chose its threads and that choice differs; the model's session otherwise."""
        if n_rows > SMALL_ROWS or self.threads != "auto":
            return self._session or self.session
        if self._small is None:  # resolved once (threads_ reads os.cpu_count(), ~10 µs): a session, or False
            own = self.threads_  # first: a missing or stale choice is made again, the small one with it
            n = self._small_threads()
            self._small = False if n is None or n == own else _session(self.path, n)
        return (self._session or self.session) if self._small is False else self._small

    def set_threads(self, threads: int | Literal["auto"] | None) -> None:
        """Override the intra-op threads (an int; None: ONNX Runtime's default; "auto": choose again)."""
        self.threads = _check_threads(threads, "threads")
        if self.threads == "auto":
            self.metadata.pop(THREADS_KEY, None)
        self._session = self._small = self._hot = None

    def _output_name(self) -> str:
        """The graph output read: the last floating-point one (found once, from the session)."""
        if self._out_name is None:
            floats = [o.name for o in self.session.get_outputs() if str(o.type) in _FLOAT_TENSORS]
            if not floats:
                raise UnsupportedModelError(f"The ONNX model {str(self.path)!r} has no floating-point output.")
            self._out_name = floats[-1]
        return self._out_name

    def check_X(self, X: Any, *, param: str = "X") -> np.ndarray:
        """``X`` as float32 of shape ``(n, *input_shape)``; a clear error otherwise (see ``BaseModel.check_X``).

        The hot path of ``predict_proba``: a C-contiguous float32 array of the exact shape is
        returned as it is after one allocation-free finiteness pass; anything else (other dtypes,
        layouts or shapes, a non-finite value, values whose squares overflow) goes through the
        full check, which converts, fills recorded missing values or names the bad row and column.
        """
        if (type(X) is np.ndarray and X.dtype == np.float32 and X.shape[1:] == self.input_shape and X.ndim > 1
                and X.flags.c_contiguous and _all_finite(X)):
            return X
        return super().check_X(X, param=param)

    def _run(self, X: np.ndarray) -> np.ndarray:
        # Only the output read is fetched; the array ONNX Runtime returns is ours to overwrite.
        out = self._session_for(len(X)).run([self._out_name or self._output_name()], {self.input_name: X})[0]
        if out.dtype not in (np.float32, np.float64) or not out.flags.writeable:
            out = out.astype(np.float32)  # float16/bfloat16 outputs: softmax in float32
        return out if out.ndim == 2 and len(out) == len(X) else out.reshape(len(X), -1)

    def _output(self, X: np.ndarray) -> np.ndarray:
        z = self._run(X)
        if self.output_kind == "logits" and self.task != "regression":
            if z.shape[1] == 1:
                p = 1 / (1 + np.exp(-z.astype(np.float64)))
                return np.hstack([1 - p, p])
            # Softmax in place, in the logits' float32 (as the torch adapter's): no float64 passes.
            np.subtract(z, z.max(axis=1, keepdims=True), out=z)
            np.exp(z, out=z)
            z /= z.sum(axis=1, keepdims=True)
        return z

    def _hot_path(self) -> tuple[Any, ...] | None:
        """What :meth:`output`'s hot path calls, looked up once: ONNX Runtime's compiled ``run`` of the
        model's session, the output names, the input name, the input shape and the most rows within
        :data:`_FINITE_CHUNK` values. None until the session exists, and for graphs that return logits
        (their softmax runs in ``_output``).

        ``InferenceSession.run`` is a Python method that checks its feed (the input names, graph capture,
        who owns OrtValues) before it calls the compiled ``run`` it wraps (``_sess.run``). The hot path
        feeds the model's own input name a numpy array it has just checked, so it calls the compiled
        ``run`` itself: 7–19 µs less than ``session.run`` at batch 256 on the int8 MLPs, each call paired
        with a bare ``session.run`` of its round (``benchmarks/onnx_wrapper.py``, session 9).
        A session without it (another ONNX Runtime) gets its public ``run``.
        """
        sess = self._session
        if sess is None or self.output_kind == "logits" or not self.input_shape:
            return None
        compiled = getattr(getattr(sess, "_sess", None), "run", None)
        run = compiled if callable(compiled) else sess.run
        max_rows = _FINITE_CHUNK // max(1, int(np.prod(self.input_shape)))
        return (run, [self._out_name or self._output_name()], self.input_name, self.input_shape, max_rows)

    def output(self, X: Any) -> np.ndarray:
        """As ``BaseModel.output``.

        The hot path (a batch above :data:`SMALL_ROWS` rows of C-contiguous float32 of the exact input
        shape, at most :data:`_FINITE_CHUNK` values, all finite, once a call has made the session, for a
        graph that returns probabilities or values as float32 ``(n, k)``) runs in this one frame: the
        checks, the compiled ``run`` of :meth:`_hot_path` and the float64 copy. Right after a
        ``session.run`` the interpreter's caches are cold, and the five calls of the general path
        (``check_X``, the finiteness pass, ``_output``, ``_run``, ``_session_for``) cost ~11 µs at batch
        256 on the digits int8 MLP (each model timed after one untimed call of its own, session 8).
        Anything else takes the general path, unchanged.
        """
        hot = self._hot
        # The shape check also refuses 0-d and 1-d arrays (``hot[3]``, the input shape, has ≥ 1 axis);
        # ``hot[4]`` is the most rows within :data:`_FINITE_CHUNK` values.
        if (hot is not None and type(X) is np.ndarray and X.dtype is _F32 and X.shape[1:] == hot[3]
                and SMALL_ROWS < len(X) <= hot[4] and X.flags.c_contiguous and math.isfinite(np.vdot(X, X))):
            z = hot[0](hot[1], {hot[2]: X}, None)[0]
            if z.dtype == np.float32 and z.ndim == 2 and len(z) == len(X):
                return z.astype(np.float64)
            return np.asarray(z, dtype=np.float64).reshape(len(X), -1)
        arr = self.check_X(X)
        if len(arr) == 0:
            return np.zeros((0, self.n_outputs))
        out = np.asarray(self._output(arr), dtype=np.float64)
        if hot is None:
            self._hot = self._hot_path()
        return out

    def predict(self, X: Any) -> np.ndarray:
        """(n,) class indices or values: the argmax of what the session returns (logits: softmax preserves
        it, so it is skipped; probabilities: the argmax of :meth:`output`'s hot path, whose float64 copy
        costs less than the general path's frames. Against a bare ``session.run`` at batch 256 on the int8
        MLPs: +5…+24 µs this way, +19…+47 µs through the general path (``benchmarks/compression_int8.py``,
        session 9, after and before the change)."""
        if self.task == "regression":
            return super().predict(X)
        if self._hot is not None:  # probabilities from a made session: output()'s hot path, then argmax
            return self.output(X).argmax(axis=1)
        arr = self.check_X(X)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        z = self._run(arr)
        if self.output_kind == "logits" and z.shape[1] == 1:
            return (z[:, 0] > 0).astype(np.int64)
        return z.argmax(axis=1)

    def forward_fn(self, X: Any, *, threads: int | None = None) -> Callable[[], Any]:
        """One ``session.run`` on ``X`` through IO binding (input bound once: no per-call feed
        dict or copy). ``threads`` other than the model's builds a session with that many; with
        ``threads="auto"`` it is a ceiling: the model's own choice runs when it is not above it (on at
        most :data:`SMALL_ROWS` rows, the choice made on one row, as ``predict_proba`` does)."""
        arr = self.check_X(X)
        own = self.threads_
        # "auto": ``threads`` is a ceiling, the model's own choice runs when it is within it.
        fits = threads is None or threads == own or (self.threads == "auto" and own is not None and own <= threads)
        sess = _session(self.path, threads) if not fits else self._session_for(len(arr))
        if fits and threads is not None and sess is self._small and (self._small_threads() or 0) > threads:
            sess = self.session  # the small-call choice is above the ceiling asked for
        binding = sess.io_binding()
        binding.bind_cpu_input(self.input_name, arr)
        for out in sess.get_outputs():
            binding.bind_output(out.name)

        def run() -> None:
            sess.run_with_iobinding(binding)

        run.keep = arr  # type: ignore[attr-defined]  # the bound buffer must outlive the binding
        return run

    def file_size(self) -> int:
        return self.path.stat().st_size

    def n_parameters(self, *, nonzero: bool = False) -> int:
        """Elements of the graph's initializers, without one-element tensors (scales and zero points)."""
        import onnx
        from onnx import numpy_helper

        arrays = [numpy_helper.to_array(t) for t in onnx.load(str(self.path)).graph.initializer]
        big = [a for a in arrays if a.size > 1]
        return sum(int(np.count_nonzero(a)) if nonzero else int(a.size) for a in big)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "file": str(self.path), "bytes": self.file_size()}

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.onnx`` and ``model.json`` into the folder ``path`` (atomically)."""
        spec = {**self._spec_header(FORMAT), "output": self.output_kind, "metadata": self.metadata}
        return self._write_folder(path, spec, lambda tmp: shutil.copyfile(self.path, tmp / "model.onnx"),
                                  overwrite=overwrite)


def _check_threads(value: Any, param: str) -> Any:
    if value is None or value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise InvalidInputError(f"The '{param}' parameter of OnnxModel must be None, 'auto' or an int ≥ 1. Got {value!r}.")


def load_onnx_folder(folder: Path, spec: dict[str, Any], *, allow_control_flow: bool = False) -> OnnxModel:
    file = folder / "model.onnx"
    if not file.is_file():
        raise ModelFormatError(f"The model folder {str(folder)!r} has model.json but no model.onnx.")
    try:
        meta = spec.get("metadata")
        cached = meta.get(THREADS_KEY) if isinstance(meta, dict) else None
        # A model that chose its threads keeps choosing (from its cache, or again on other hardware).
        most = cached.get("max_threads") if isinstance(cached, dict) else None
        auto = isinstance(most, int) and not isinstance(most, bool) and most >= 1
        return OnnxModel(
            file, task=spec["task"], input_shape=tuple(spec["input_shape"]), output=spec.get("output", "auto"),
            feature_names=tuple(spec["feature_names"]), output_names=tuple(spec["output_names"]),
            metadata=meta, allow_control_flow=allow_control_flow,
            threads="auto" if auto else None, max_threads=most if auto else None,
        )
    except KeyError as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r} has an incomplete model.json (missing {exc}).") from None
    except LeanlensError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"The model folder {str(folder)!r}: model.json has a field of the wrong type: {exc}") from None


def export_onnx(model: TorchModel, path: str | os.PathLike[str], *, opset: int = 17) -> Path:
    """Export a torch model (raw inputs → logits/values, preprocessing included) to an ONNX file.

    The batch dimension is dynamic. The file is written atomically.
    """
    import io

    import torch

    from .torch_model import TorchModel

    if not isinstance(model, TorchModel):
        raise UnsupportedModelError(f"export_onnx() needs a torch model. Got a {model.kind} model.")
    module = model.module.eval()
    dummy = torch.zeros((2, *model.input_shape))
    buf = io.BytesIO()
    # The TorchScript exporter is deprecated in favour of torch.export, but on these
    # Sequential MLP/CNNs it gives the same graph in ~20 ms instead of ~2 s and prints
    # nothing; torch is pinned (2.13), so we keep it and silence the notice.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                module, (dummy,), buf,  # type: ignore[arg-type]
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset, dynamo=False,
            )
    except Exception as exc:
        raise UnsupportedModelError(f"ONNX export failed (an operator may be unsupported): {exc}") from None
    return atomic_write_bytes(path, buf.getvalue())


def onnx_from_torch(model: TorchModel, folder: str | os.PathLike[str], *, overwrite: bool = False,
                    threads: int | None = None) -> OnnxModel:
    """Export ``model`` into ``folder/model.onnx`` and return it as an ONNX-backed Model."""
    with atomic_dir(folder, overwrite=overwrite, param="folder") as tmp:
        export_onnx(model, tmp / "model.onnx")
    return OnnxModel(Path(folder) / "model.onnx", task=model.task, input_shape=model.input_shape,
                     output=model.output_kind, threads=threads, feature_names=model.feature_names,
                     output_names=model.output_names, metadata=dict(model.metadata))
