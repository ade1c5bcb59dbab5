"""Where work runs: in this process (``local``) or as Ray tasks (``ray``).

Both offer ``map(fn, items)`` (results in input order) and ``imap_unordered`` for sweeps.
Ray is imported inside :class:`RayExecutor`, so ``import leanlens`` stays fast.
"""

from __future__ import annotations

import abc
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
    """Run a function over items. Subclasses: :class:`LocalExecutor`, :class:`RayExecutor`."""

    name: str = "base"
    workers: int = 1

    @abc.abstractmethod
    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(item) for item in items]``, in order, possibly in parallel."""

    def put(self, obj: Any) -> Any:
        """Share a large object with every task (Ray's object store; identity locally)."""
        return obj

    def close(self) -> None:  # noqa: B027 - optional hook: most executors hold nothing to release
        """Release what the executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs everything in this process, one item after another."""

    name = "local"

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return [fn(x) for x in items]


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
    def workers(self) -> int:  # type: ignore[override]
        import ray

        self.start()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _remote(self, fn: Callable[[Any], Any]) -> Any:
        import ray

        if fn not in self._remote_cache:
            self._remote_cache[fn] = ray.remote(num_cpus=1)(fn)
        return self._remote_cache[fn]

    def put(self, obj: Any) -> Any:
        import ray

        self.start()
        return ray.put(obj)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        import ray

        self.start()
        remote = self._remote(fn)
        refs = [remote.remote(x) for x in items]
        try:
            return list(ray.get(refs))
        except KeyboardInterrupt:
            for r in refs:
                ray.cancel(r, force=True)
            raise

    def submit(self, fn: Callable[[Any], Any], item: Any) -> Any:
        """Start one task; returns a handle for :meth:`wait_one`."""
        self.start()
        return self._remote(fn).remote(item)

    def wait_one(self, handles: list[Any]) -> tuple[Any, Any]:
        """Block until one of ``handles`` finishes: (that handle, its result)."""
        import ray

        done, _ = ray.wait(handles, num_returns=1)
        return done[0], ray.get(done[0])

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
        self._started = self._connected = False
        self._remote_cache.clear()


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
