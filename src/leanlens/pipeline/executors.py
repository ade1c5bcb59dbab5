"""Where work runs: in this process (``local``) or as Ray tasks (``ray``).

Both offer one interface: ``submit(fn, item)``, ``wait(handles)`` (the first to finish) and
``map(fn, items)`` (results in input order). Ray is imported only in this module, inside
:class:`RayExecutor`, so ``import leanlens`` stays fast.
"""

from __future__ import annotations

import abc
import contextlib
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ..errors import InvalidInputError, LeanlensError

__all__ = ["ClusterUnreachableError", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]

CONNECT_TIMEOUT_S = 5.0
INIT_TIMEOUT_S = 20.0


class ClusterUnreachableError(LeanlensError, ConnectionError):
    """A Ray address does not answer."""


class Executor(abc.ABC):
    """Where tasks run: ``submit`` one, ``wait`` for the first of several to finish, ``map`` many.

    A task is ``fn(item)`` with one picklable item; values of a dict item made by :meth:`put`
    are handed to ``fn`` resolved. Subclasses implement ``submit`` and ``wait`` (and
    ``cancel``); ``map`` is the same on every backend, so chunking and seeding decided by
    the caller give the same results wherever the tasks run.
    """

    name: str = "base"
    #: tasks run in other processes (arguments travel pickled; one CPU per task)
    remote: bool = False

    @property
    def workers(self) -> int:
        """Tasks that can run at once."""
        return 1

    def start(self) -> Executor:
        """Connect to or start the backend (a no-op for backends with nothing to start)."""
        return self

    @abc.abstractmethod
    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        """Start ``fn(item)``; returns a handle for :meth:`wait`."""

    @abc.abstractmethod
    def wait(self, handles: Sequence[Any]) -> tuple[Any, Any]:
        """Block until one of ``handles`` finishes: (that handle, its result); re-raises its error."""

    def cancel(self, handles: Sequence[Any]) -> None:  # noqa: B027 - optional: local tasks are already done
        """Stop tasks that are no longer wanted."""

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], *,
            on_done: Callable[[int, int], None] | None = None) -> list[Any]:
        """``[fn(item) for item in items]``, in input order, as parallel as the backend allows.

        ``on_done(done, total)`` is called as each item finishes (for a progress bar).
        """
        handles = []
        for x in items:  # a local task runs at submit: report it as it ends
            handles.append(self.submit(fn, x))
            if not self.remote and on_done is not None:
                on_done(len(handles), len(items))
        results: dict[int, Any] = {}
        pending = list(range(len(handles)))
        try:
            while pending:
                handle, out = self.wait([handles[i] for i in pending])
                i = next(i for i in pending if handles[i] is handle)
                results[i] = out
                pending.remove(i)
                if self.remote and on_done is not None:
                    on_done(len(handles) - len(pending), len(handles))
        except BaseException:
            self.cancel([handles[i] for i in pending])
            raise
        return [results[i] for i in range(len(handles))]

    def put(self, obj: Any) -> Any:
        """Share a large object with every task (Ray's object store; identity locally)."""
        return obj

    def close(self) -> None:  # noqa: B027 - optional hook: most executors hold nothing to release
        """Release what the executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Done:
    """A local task's handle: it ran at submit; holds its result or its error."""

    __slots__ = ("error", "result")

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error


class LocalExecutor(Executor):
    """Runs every task in this process, one after another (at ``submit``)."""

    name = "local"

    def submit(self, fn: Callable[[Any], Any], item: Any) -> _Done:
        try:
            return _Done(fn(item))
        except Exception as exc:  # raised at wait(), as a remote task's error is
            return _Done(error=exc)

    def wait(self, handles: Sequence[Any]) -> tuple[Any, Any]:
        if not handles:
            raise InvalidInputError("wait() needs at least one task handle.")
        done = handles[0]
        if done.error is not None:
            raise done.error
        return done, done.result


class RayExecutor(Executor):
    """Runs items as Ray tasks on a local Ray instance (``address=None``) or a cluster.

    Parameters
    ----------
    address : ``"host:port"`` of a running cluster's GCS, ``"ray://host:port"`` for Ray
        Client, ``"auto"``, or None to start a local instance bound to 127.0.0.1.
    num_cpus : CPUs of the local instance (default: all).
    timeout_s : how long to wait for an address to accept a TCP connection before raising
        :class:`ClusterUnreachableError`; ``ray.init`` on it is then given 20 s
        (``LEANLENS_RAY_CONNECT_TIMEOUT`` overrides).
    """

    name = "ray"
    remote = True

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.timeout_s = timeout_s
        self._started = False
        self._connected = False
        self._remote_cache: dict[Any, Any] = {}

    def start(self) -> RayExecutor:
        if self._connected:
            return self
        import ray

        if self.address not in (None, "auto", "local"):
            check_reachable(self.address, timeout_s=self.timeout_s)
        if ray.is_initialized():
            if self.address not in (None, "auto", "local"):
                raise InvalidInputError(
                    f"Ray is already initialized in this process; cannot also connect to address {self.address!r}. "
                    "Call ray.shutdown() first or drop the address."
                )
            self._connected = True
            return self
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
            "ignore_reinit_error": True,
        }
        if self.address in (None, "local"):
            kwargs["num_cpus"] = self.num_cpus
            kwargs["_node_ip_address"] = "127.0.0.1"
            self._started = True
        else:
            kwargs["address"] = self.address
        if self._started:
            ray.init(**kwargs)
        else:
            timeout = float(os.environ.get("LEANLENS_RAY_CONNECT_TIMEOUT", INIT_TIMEOUT_S))
            _init_within(ray, kwargs, self.address, timeout_s=timeout)
        self._connected = True
        return self

    @property
    def workers(self) -> int:
        import ray

        self.start()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _remote(self, fn: Callable[[Any], Any]) -> Any:
        import ray

        if fn not in self._remote_cache:
            self._remote_cache[fn] = ray.remote(num_cpus=1)(_call_resolved).options(name=getattr(fn, "__name__", "task"))
        return self._remote_cache[fn]

    def put(self, obj: Any) -> Any:
        import ray

        self.start()
        return ray.put(obj)

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        self.start()
        return self._remote(fn).remote(fn, item)

    def wait(self, handles: Sequence[Any]) -> tuple[Any, Any]:
        import ray

        done, _ = ray.wait(list(handles), num_returns=1)
        return done[0], ray.get(done[0])

    def cancel(self, handles: Sequence[Any]) -> None:
        import ray

        for h in handles:
            with contextlib.suppress(Exception):
                ray.cancel(h, force=True)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
        self._started = self._connected = False
        self._remote_cache.clear()


def _call_resolved(fn: Callable[[Any], Any], item: Any) -> Any:
    """Run ``fn(item)`` in a Ray worker, with the object-store values of a dict item fetched."""
    import ray

    if isinstance(item, dict):
        item = {k: ray.get(v) if isinstance(v, ray.ObjectRef) else v for k, v in item.items()}
    return fn(item)


def _init_within(ray: Any, kwargs: dict[str, Any], address: str | None, *, timeout_s: float) -> None:
    """``ray.init`` on a cluster address, given up after ``timeout_s``: something that accepts TCP
    connections but is not a Ray head would otherwise keep ``ray.init`` retrying for minutes."""
    import threading

    outcome: dict[str, BaseException | None] = {}

    def target() -> None:
        try:
            ray.init(**kwargs)
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="leanlens-ray-init", daemon=True)
    thread.start()
    thread.join(timeout_s)
    hint = "Check the address (`ray status` on the head node) or drop --address to start a local instance."
    if thread.is_alive():
        raise ClusterUnreachableError(
            f"The Ray address {address!r} accepts connections but no Ray cluster answered within {timeout_s:g} s. {hint}"
        )
    error = outcome.get("error")
    if error is not None:
        raise ClusterUnreachableError(f"Could not connect to the Ray cluster at {address!r}: {error}. {hint}") from None


def check_reachable(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ClusterUnreachableError` unless ``host:port`` accepts a TCP connection."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port_text = hostport.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise InvalidInputError(
            f"The 'address' parameter must look like host:port or ray://host:port (or 'auto'). Got {address!r}."
        )
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClusterUnreachableError(
            f"The Ray address {address!r} is unreachable ({exc.strerror or exc}); nothing answered within "
            f"{timeout_s:g} s. Start the cluster (`ray start --head`) or drop --address to use a local instance."
        ) from None


def make_executor(backend: Literal["local", "ray"] | str = "local", *, address: str | None = None,
                  num_cpus: int | None = None) -> Executor:
    """An executor by name: ``"local"`` or ``"ray"``."""
    if backend == "local":
        if address is not None:
            raise InvalidInputError(f"The 'address' parameter needs backend='ray'. Got backend={backend!r}, address={address!r}.")
        return LocalExecutor()
    if backend == "ray":
        return RayExecutor(address, num_cpus=num_cpus)
    raise InvalidInputError(f"The 'backend' parameter must be 'local' or 'ray'. Got {backend!r}.")
