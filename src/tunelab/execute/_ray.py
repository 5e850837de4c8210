"""The ``ray`` executor: cohorts train on Ray actors, on this machine or across a cluster.

Each lane is a long-lived Ray actor that holds one :class:`~tunelab.execute.CohortWorker`,
so compiled epochs stay warm from one cohort to the next (and JAX's persistent compilation
cache, in ``$TUNELAB_CACHE`` on each node, serves a node's later actors). The driver keeps
the study: it sends a :class:`~tunelab.execute.StepRequest` per epoch, as to any executor,
and reads a :class:`~tunelab.execute.StepResult` back through ``ray.wait``.

- **Data**: a dataset goes into Ray's object store once (``ray.put`` on the driver) and
  each actor receives it by reference once; later requests name it by key. A study's
  requests carry only a ``[data]`` section: the driver loads that dataset itself, so a
  path on the driver's disk works on every node.
- **Files**: trial models (``saves``) are written on the actor's node into a temporary
  folder, sent back as bytes and written atomically at the requested path by the driver,
  so ``best.keras`` lands in the run folder whatever node trained it. Callback files
  (checkpoints, CSV logs) are written where the cohort trains: on a cluster, give
  ``out_dir`` a folder every node shares.
- **Node loss**: every answered request is logged per lane since the cohort's last
  snapshot (or since it opened). When an actor dies with its node, a new actor is started
  where Ray finds room, the cohort is restored from its snapshot (taken every
  ``checkpoint_seconds`` of training, when its state can be serialised) or re-opened, the
  logged requests are replayed without their answers, and the lost request runs again:
  the driver gets one answer per request, so no trial is lost or counted twice.

``address`` (or ``$RAY_ADDRESS``) joins a running cluster; without one a local Ray starts,
and :meth:`RayExecutor.close` shuts it down again. Ray is imported only when the executor
starts (``pip install 'tunelab[ray]'``).

Example:
    >>> RayExecutor(workers=2).lanes
    2
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunelab._files import write_bytes
from tunelab.errors import ConfigError, TunelabError
from tunelab.execute._base import Executor
from tunelab.execute._protocol import StepRequest, StepResult

__all__ = ["RayExecutor"]

#: Datasets kept in the object store at once (a guide trains on one; a few cover re-splits).
_KEEP_DATASETS = 4


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "study.executor: 'ray' needs Ray, which is not installed; install it with"
            " pip install 'tunelab[ray]'"
        ) from None
    return ray


class _CohortActor:
    """What runs inside a Ray actor: a :class:`CohortWorker` and the file and snapshot
    plumbing around it (wrapped by ``ray.remote`` when the executor starts)."""

    def __init__(self, checkpoint_seconds: float, cache: str | None) -> None:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        if cache is not None:
            os.environ.setdefault("TUNELAB_CACHE", cache)
        from tunelab.execute._worker import CohortWorker

        self.worker = CohortWorker()
        self.checkpoint_seconds = checkpoint_seconds
        self._trained = 0.0  # training seconds since the last snapshot

    def ready(self) -> tuple[int, str]:
        import ray

        return os.getpid(), ray.get_runtime_context().get_node_id()

    def restore(self, snapshot: bytes, data: Any = None) -> None:
        from ray import cloudpickle

        self.worker.restore(cloudpickle.loads(snapshot), data)
        self._trained = 0.0

    def handle(self, request: StepRequest, data: Any = None,
               replay: bool = False) -> tuple[StepResult, dict[int, bytes], bytes | None]:
        if data is not None:
            request.data = data
        wanted = dict(request.saves)
        files: dict[int, bytes] = {}
        with tempfile.TemporaryDirectory(prefix="tunelab-saves-") as folder:
            request.saves = {slot: str(Path(folder) / f"{slot}.keras") for slot in wanted}
            result = self.worker.handle(request)
            for slot, local in result.saved.items():
                files[slot] = Path(local).read_bytes()
        result.saved = {slot: wanted[slot] for slot in files}
        snapshot = None
        self._trained += result.train_seconds
        if (not replay and result.error is None and result.running
                and self._trained >= self.checkpoint_seconds):
            snapshot = self._snapshot()
        return result, files, snapshot

    def _snapshot(self) -> bytes | None:
        from ray import cloudpickle

        state = self.worker.snapshot()
        if state is None:
            return None
        try:
            blob = cloudpickle.dumps(state)
        except Exception:  # noqa: BLE001 - a callback that cannot travel: replay from the start
            return None
        self._trained = 0.0
        return bytes(blob)


_REMOTE: dict[str, Any] = {}


def _first_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return text or type(exc).__name__


def _actor_class(ray: Any) -> Any:
    if "actor" not in _REMOTE:
        _REMOTE["actor"] = ray.remote(_CohortActor)
    return _REMOTE["actor"]


@dataclass
class _RayLane:
    actor: Any = None
    pid: int | None = None
    node: str | None = None  # the Ray node the actor runs on (once it answered ready)
    ref: Any = None  # the answer in flight
    request: StepRequest | None = None  # the request in flight, as sent
    data_key: str | None = None  # the dataset the actor holds
    snapshot: bytes | None = None  # the cohort's state after the last snapshot
    snapshot_key: str | None = None
    log: list[StepRequest] = field(default_factory=list)  # answered since the snapshot
    retries: int = 0
    immediate: StepResult | None = None  # an answer the driver already knows (bad data)


class RayExecutor(Executor):
    """``workers`` lanes, each a long-lived Ray actor training one cohort at a time.

    Args:
        workers: Actors (cohorts trained at the same time).
        address: The cluster to join (``host:port``, ``ray://host:10001``, ``auto``);
            default ``$RAY_ADDRESS``, else a local Ray starts (and stops on close).
        cpus_per_worker: CPUs each actor reserves, so Ray places them where cores are free.
        checkpoint_seconds: A cohort's state comes back to the driver after this many
            seconds of training since its last snapshot, so a lost node costs at most that
            much training again; 0 snapshots every epoch.
        max_retries: Times one request is run again after losing its worker before its
            cohort's trials fail.
        startup_timeout: Seconds to wait for the actors to start (a cluster without room
            for them is an error naming the CPUs free).
        init_kwargs: More keyword arguments for ``ray.init`` when a local Ray starts.
    """

    name = "ray"

    def __init__(self, workers: int = 1, *, address: str | None = None,
                 cpus_per_worker: float = 1.0, checkpoint_seconds: float = 30.0,
                 max_retries: int = 3, startup_timeout: float = 300.0,
                 init_kwargs: dict[str, Any] | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if cpus_per_worker <= 0:
            raise ValueError(f"cpus_per_worker must be > 0, got {cpus_per_worker}")
        if checkpoint_seconds < 0:
            raise ValueError(f"checkpoint_seconds must be >= 0, got {checkpoint_seconds}")
        self._n = workers
        self.address = address
        self.cpus_per_worker = cpus_per_worker
        self.checkpoint_seconds = checkpoint_seconds
        self.max_retries = max_retries
        self.startup_timeout = startup_timeout
        self.init_kwargs = dict(init_kwargs or {})
        self._ray: Any = None
        self._owns_ray = False
        self._lanes = [_RayLane() for _ in range(workers)]
        self._datasets: OrderedDict[str, Any] = OrderedDict()  # key -> ObjectRef
        #: Workers lost (an actor that died with its node or process) and replaced.
        self.lost = 0
        #: Lost cohorts restored from a snapshot (the rest were replayed from their start).
        self.resumed = 0
        #: Requests run again on a replacement worker to rebuild a lost cohort.
        self.replayed = 0

    @property
    def lanes(self) -> int:
        return self._n

    def worker_nodes(self) -> list[str | None]:
        """The Ray node id each lane's actor runs on (None for one not started, or a
        replacement that has not answered yet)."""
        return [lane.node for lane in self._lanes]

    # -- starting and stopping -----------------------------------------------------------------

    def _connect(self) -> Any:
        ray = self._ray = _import_ray()
        if ray.is_initialized():
            return ray
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        try:
            with warnings.catch_warnings():
                # Ray starts its processes with fork + exec, which JAX warns about for fork
                # alone; nothing of JAX's runs in them.
                warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
                if address:
                    ray.init(address=address, **quiet)
                else:
                    cpus = max(os.cpu_count() or 1, int(self._n * self.cpus_per_worker + 0.999))
                    ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                             **{**quiet, **self.init_kwargs})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray"
            raise TunelabError(
                f"executor 'ray': cannot start or join {where} ({_first_line(exc)}); start one"
                " with"
                " `ray start --head` and give its address with --ray-address (or"
                " RAY_ADDRESS), or leave both unset for a local Ray"
            ) from None
        self._owns_ray = True
        return ray

    def _new_actor(self, lane: _RayLane) -> None:
        ray = self._ray
        cls = _actor_class(ray)
        lane.actor = cls.options(num_cpus=self.cpus_per_worker, scheduling_strategy="SPREAD",
                                 max_restarts=0, max_task_retries=0).remote(
            self.checkpoint_seconds, os.environ.get("TUNELAB_CACHE"))
        lane.data_key, lane.pid, lane.node = None, None, None

    def start(self) -> None:
        ray = self._connect()
        new = [lane for lane in self._lanes if lane.actor is None]
        for lane in new:
            self._new_actor(lane)
        if not new:
            return
        pending = {lane.actor.ready.remote(): lane for lane in new}
        ready, waiting = ray.wait(list(pending), num_returns=len(pending),
                                  timeout=self.startup_timeout)
        for ref in ready:
            try:
                pending[ref].pid, pending[ref].node = ray.get(ref)
            except ray.exceptions.RayError as exc:
                self.close()
                raise TunelabError(
                    f"executor 'ray': a worker could not start ({_first_line(exc)}); every"
                    " node needs tunelab and its dependencies installed, as on the driver"
                ) from None
        if waiting:
            free = ray.available_resources().get("CPU", 0.0)
            self.close()
            raise TunelabError(
                f"executor 'ray': {len(waiting)} of {len(new)} workers did not start within"
                f" {self.startup_timeout:.0f} s; each reserves {self.cpus_per_worker:g} CPU and"
                f" the cluster has {free:g} free: give fewer --workers or add nodes"
            )

    def close(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for lane in self._lanes:
            if lane.actor is not None and ray.is_initialized():
                with contextlib.suppress(Exception):
                    ray.kill(lane.actor, no_restart=True)
        self._lanes = [_RayLane() for _ in range(self._n)]
        self._datasets.clear()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False

    # -- requests --------------------------------------------------------------------------------

    def _dataset_ref(self, key: str, data: Any) -> Any:
        ref = self._datasets.get(key)
        if ref is None:
            ref = self._datasets[key] = self._ray.put(data)
            # A dataset a lane's cohort may have to be rebuilt from stays.
            used = {k for lane in self._lanes for k in (lane.data_key, lane.snapshot_key)}
            for old in [k for k in self._datasets if k not in used and k != key]:
                if len(self._datasets) <= _KEEP_DATASETS:
                    break
                del self._datasets[old]
        self._datasets.move_to_end(key)
        return ref

    def _prepare(self, request: StepRequest) -> StepRequest:
        """The request as it travels: its dataset in the object store, named by key."""
        if request.data is not None:
            key = request.data_key or f"object:{id(request.data)}"
            self._dataset_ref(key, request.data)
            return dataclasses.replace(request, data=None, data_key=key)
        if request.template is not None and request.data_key is None:
            # A study names its dataset by a [data] section: load it here, once, so every
            # node trains on the driver's copy (a path need not exist on the nodes).
            from tunelab.config import RunConfig
            from tunelab.data import load_dataset

            cfg = RunConfig.model_validate(request.template)
            key = f"{cfg.data.model_dump_json()}|{cfg.seed}"
            if key not in self._datasets:
                self._dataset_ref(key, load_dataset(cfg.data, seed=cfg.seed))
            return dataclasses.replace(request, data_key=key)
        return request

    def _call(self, lane: _RayLane, request: StepRequest, replay: bool = False) -> Any:
        data = None
        if request.data_key is not None and request.data_key != lane.data_key:
            data = self._datasets.get(request.data_key)
            lane.data_key = request.data_key if data is not None else lane.data_key
        return lane.actor.handle.remote(request, data, replay)

    def submit(self, lane: int, request: StepRequest) -> None:
        if self._ray is None or self._lanes[lane].actor is None:
            self.start()
        state = self._lanes[lane]
        if state.ref is not None or state.immediate is not None:
            raise RuntimeError(f"lane {lane} already has a request in flight")
        try:
            prepared = self._prepare(request)
        except TunelabError as exc:  # answered as a worker would: the cohort fails
            state.immediate = StepResult(error=str(exc), error_kind=type(exc).__name__)
            return
        state.request, state.retries = prepared, 0
        state.ref = self._call(state, prepared)

    def busy(self) -> set[int]:
        return {i for i, lane in enumerate(self._lanes)
                if lane.ref is not None or lane.immediate is not None}

    def wait(self, timeout: float | None = None) -> list[tuple[int, StepResult]]:
        ray = self._ray
        if ray is None or not self.busy():
            return []
        known = [(i, lane.immediate) for i, lane in enumerate(self._lanes)
                 if lane.immediate is not None]
        if known:
            for i, _ in known:
                self._lanes[i].immediate = None
            return [(i, answer) for i, answer in known if answer is not None]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            by_ref = {lane.ref: i for i, lane in enumerate(self._lanes) if lane.ref is not None}
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _ = ray.wait(list(by_ref), num_returns=1, timeout=left)
            if ready:
                rest = [r for r in by_ref if r not in ready]
                if rest:
                    more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                    ready += more
            out = []
            for ref in ready:
                index = by_ref[ref]
                answer = self._answer(self._lanes[index], ref)
                if answer is not None:
                    out.append((index, answer))
            if out or (deadline is not None and time.monotonic() >= deadline):
                return out

    def _answer(self, lane: _RayLane, ref: Any) -> StepResult | None:
        """The answer behind ``ref``, or None when its worker was lost and the request runs
        again on a new one."""
        ray = self._ray
        try:
            result, files, snapshot = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError,
                ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.LocalRayletDiedError) as exc:
            return self._recover(lane, exc)
        except ray.exceptions.RayTaskError as exc:
            result, files, snapshot = StepResult(error=f"the Ray worker failed: {exc}"), {}, None
        request = lane.request
        assert request is not None
        for slot, blob in files.items():
            path = result.saved[slot]
            try:
                write_bytes(path, blob)
            except OSError as exc:
                result.saved.pop(slot)
                result.save_errors[slot] = f"{type(exc).__name__}: {exc}"
        result.retries = lane.retries
        self._log(lane, request, result, snapshot)
        lane.ref, lane.request, lane.retries = None, None, 0
        return result

    def _log(self, lane: _RayLane, request: StepRequest, result: StepResult,
             snapshot: bytes | None) -> None:
        """Keep what rebuilds the lane's cohort: the last snapshot and the requests after it."""
        done = dataclasses.replace(request, saves={})  # written once is enough
        if result.error is not None:
            lane.snapshot, lane.snapshot_key, lane.log = None, None, []  # the cohort is gone
        elif snapshot is not None:
            lane.snapshot, lane.snapshot_key, lane.log = snapshot, lane.data_key, []
        elif request.template is not None:
            lane.snapshot, lane.snapshot_key, lane.log = None, None, [done]
        else:
            lane.log.append(done)

    def _recover(self, lane: _RayLane, exc: BaseException) -> StepResult | None:
        """Start a new actor for a lost one and rebuild its cohort; None while it retries."""
        ray = self._ray
        self.lost += 1
        with contextlib.suppress(Exception):
            ray.kill(lane.actor, no_restart=True)
        request = lane.request
        assert request is not None
        lane.retries += 1
        if lane.retries > self.max_retries:
            first = _first_line(exc)
            self._new_actor(lane)
            lane.snapshot, lane.snapshot_key, lane.log = None, None, []
            lane.ref, lane.request = None, None
            return StepResult(error=f"the Ray worker running this cohort was lost"
                              f" {lane.retries} times ({first}); its trials failed",
                              retries=lane.retries - 1)
        self._new_actor(lane)
        key = lane.snapshot_key
        if lane.snapshot is not None and key is not None and key in self._datasets:
            lane.actor.restore.remote(lane.snapshot, self._datasets[key])
            lane.data_key = lane.snapshot_key
            self.resumed += 1
        elif lane.snapshot is not None:
            lane.log = []  # its dataset left the object store: nothing left to rebuild from
        for old in lane.log:
            self._call(lane, old, replay=True)
            self.replayed += 1
        lane.ref = self._call(lane, request)
        return None
