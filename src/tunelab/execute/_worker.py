"""The worker side: one engine cohort at a time, driven by :class:`StepRequest` messages.

A worker keeps the datasets it has loaded and its current cohort. A request whose template
has the cohort's structure and width reuses the cohort (and so its compiled epoch); another
structure opens a new cohort. Every executor runs this class, in process or elsewhere.

Example:
    >>> worker = CohortWorker()
    >>> worker.handle(StepRequest(run_epoch=False)).running
    []
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from tunelab.errors import TunelabError
from tunelab.execute._protocol import SlotReport, StepRequest, StepResult
from tunelab.runs import SlotStatus

__all__ = ["CohortWorker"]


class CohortWorker:
    """Runs :class:`StepRequest` messages against the engine's ``Cohort``."""

    def __init__(self) -> None:
        # Two kinds of dataset, one of each at most: the one a driver sent (it is named in
        # later requests by its key, so it stays until another is sent) and the one loaded
        # from a configuration's data section (a study's).
        self._sent: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._cohort: Any = None
        self._key: Hashable | None = None
        self._width = 0
        self._template: dict[str, Any] | None = None  # what opened the cohort (snapshots)
        self._data_key: str | None = None
        self._builder: Any = None

    def _dataset(self, cfg: Any, request: StepRequest) -> tuple[str, Any]:
        if request.data is not None:
            key = request.data_key or f"object:{id(request.data)}"
            if key not in self._sent:
                self._sent = {key: request.data}
            return key, self._sent[key]
        if request.data_key is not None:
            if request.data_key in self._loaded:
                return request.data_key, self._loaded[request.data_key]
            if request.data_key not in self._sent:
                raise RuntimeError(f"this worker holds no dataset {request.data_key!r}; the"
                                   " executor must send it with the first request")
            return request.data_key, self._sent[request.data_key]
        from tunelab.data import load_dataset

        key = f"{cfg.data.model_dump_json()}|{cfg.seed}"
        if key not in self._loaded:
            self._loaded = {}  # one study trains on one dataset; free the old one first
            self._loaded[key] = load_dataset(cfg.data, seed=cfg.seed)
        return key, self._loaded[key]

    def _open(self, request: StepRequest) -> None:
        from tunelab.config import RunConfig
        from tunelab.train import Cohort, enable_compilation_cache, structure_key

        enable_compilation_cache()
        assert request.template is not None
        cfg = RunConfig.model_validate(request.template)
        data_key, data = self._dataset(cfg, request)
        replicates = tuple(request.replicates or ())
        key = (structure_key(cfg, request.builder), data_key, cfg.seed, replicates,
               request.parts)
        width = request.width
        if self._cohort is not None and key == self._key and width == self._width:
            # The same structure goes on in the same cohort (and compiled epoch); a slot the
            # driver no longer tracks must not keep training.
            for slot in list(self._cohort.running_slots):
                self._cohort.stop(slot, "stopped")
            # A new cohort starts its data order from epoch 0, reused or not: the same
            # request trains the same way wherever and whenever it runs.
            self._cohort.pieces_run = 0
            return
        self._cohort = None
        self._cohort = Cohort(cfg, data, width=width, builder=request.builder,
                              replicates=list(replicates) or None, parts=request.parts)
        self._key, self._width = key, width
        self._template, self._data_key, self._builder = request.template, data_key, request.builder

    def _times(self) -> tuple[float, float]:
        if self._cohort is None:
            return 0.0, 0.0
        return float(self._cohort.compile_seconds), float(self._cohort.train_seconds)

    def handle(self, request: StepRequest) -> StepResult:
        """Do what ``request`` asks, in order: save, stop, narrow, open, assign, run one epoch."""
        result = StepResult()
        compiled0, trained0 = 0.0, 0.0
        try:
            # Saves and stops concern the current cohort, before a template replaces it.
            if self._cohort is not None:
                self._save(request, result)
                for slot, reason in request.stops.items():
                    if (0 <= slot < self._width
                            and self._cohort.status(slot) == SlotStatus.RUNNING):
                        self._cohort.stop(slot, reason)
                if request.keep is not None:
                    self._cohort.narrow(request.keep)
                    self._width = len(request.keep)
            if request.template is not None:
                self._open(request)
            compiled0, trained0 = self._times()
            if self._cohort is None:
                if request.assigns:
                    result.error = "no cohort is open (the request has no template)"
                return result
            self._assign(request, result)
            if request.run_epoch and list(self._cohort.running_slots):
                self._epoch(result, request.collect)
            result.running = sorted(int(s) for s in self._cohort.running_slots)
        except TunelabError as exc:
            result.error, result.error_kind = str(exc), type(exc).__name__
            self._cohort, self._key = None, None
        except Exception as exc:  # noqa: BLE001 - a worker reports, the driver decides
            result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            self._cohort, self._key = None, None
        compiled1, trained1 = self._times()
        result.compile_seconds = max(0.0, compiled1 - compiled0)
        result.train_seconds = max(0.0, trained1 - trained0)
        return result

    # -- snapshots: a cohort moved to another worker (a Ray node lost) -----------------------

    @property
    def data_key(self) -> str | None:
        """The key of the dataset the open cohort trains on (None when no cohort is open)."""
        return self._data_key if self._cohort is not None else None

    def snapshot(self) -> dict[str, Any] | None:
        """The open cohort's whole state as plain data (None when no cohort is open).

        Stacked arrays (weights, optimizer state) copied to NumPy, each slot's host-side
        state (configuration, epoch, learning rate, history, callbacks, status), and what
        opened the cohort. :meth:`restore` on another worker holding the same dataset goes
        on exactly where this one stands: the next epoch trains as it would have here.
        """
        import jax

        cohort = self._cohort
        if cohort is None or self._template is None:
            return None
        # The engine keeps no public export of its host state: the slots' attributes are
        # copied as they are (without the back reference to the cohort).
        slots = [{k: v for k, v in vars(s).items() if k != "_cohort"} for s in cohort._slots]
        return {
            "template": self._template, "width": int(cohort.width),
            "replicates": list(cohort.replicates) if len(cohort.replicates) > 1 else None,
            "parts": int(cohort.parts),
            "data_key": self._data_key, "builder": self._builder,
            "tree": jax.device_get(cohort.state.tree()), "pieces_run": int(cohort.pieces_run),
            "slots": slots, "compile_seconds": float(cohort.compile_seconds),
            "train_seconds": float(cohort.train_seconds),
        }

    def restore(self, snapshot: dict[str, Any], data: Any = None) -> None:
        """Open the cohort a :meth:`snapshot` describes, in the state it was taken in.

        Args:
            snapshot: What :meth:`snapshot` returned (on this worker or another).
            data: The dataset (needed unless this worker holds ``snapshot["data_key"]``).
        """
        import jax
        import jax.numpy as jnp

        key = snapshot["data_key"]
        if data is None and key not in self._sent and key not in self._loaded:
            key = None  # loaded from the template's [data], under the key it had
        request = StepRequest(template=snapshot["template"], width=int(snapshot["width"]),
                              data=data, data_key=key, builder=snapshot["builder"],
                              replicates=snapshot.get("replicates"),
                              parts=int(snapshot["parts"]), run_epoch=False)
        self._cohort = None
        self._open(request)
        cohort = self._cohort
        cohort.state = type(cohort.state)(*jax.tree_util.tree_map(jnp.asarray, snapshot["tree"]))
        cohort.pieces_run = int(snapshot["pieces_run"])
        for slot, saved in zip(cohort._slots, snapshot["slots"], strict=True):
            vars(slot).update(saved)
        cohort.compile_seconds = float(snapshot["compile_seconds"])
        cohort.train_seconds = float(snapshot["train_seconds"])

    def _save(self, request: StepRequest, result: StepResult) -> None:
        for slot, path in request.saves.items():
            target = Path(path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                # Keras insists on the .keras suffix, so the temporary file keeps it.
                fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".keras",
                                           dir=target.parent)
                os.close(fd)
                try:
                    self._cohort.save(slot, tmp)
                    os.replace(tmp, target)
                finally:
                    Path(tmp).unlink(missing_ok=True)
                result.saved[slot] = str(target)
            except Exception as exc:  # noqa: BLE001 - a failed save must not stop the study
                result.save_errors[slot] = f"{type(exc).__name__}: {exc}"

    def _assign(self, request: StepRequest, result: StepResult) -> None:
        from tunelab.config import RunConfig

        for slot, assignment in request.assigns.items():
            try:
                cfg = RunConfig.model_validate(assignment.config)
                self._cohort.assign(slot, cfg, tag=assignment.tag, out_dir=assignment.out_dir,
                                    callbacks=list(assignment.callbacks),
                                    record_steps=assignment.record_steps,
                                    report_at=assignment.report_at)
            except TunelabError as exc:
                result.assign_errors[slot] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one bad configuration fails one trial
                result.assign_errors[slot] = f"{type(exc).__name__}: {exc}"

    def _epoch(self, result: StepResult, collect: bool) -> None:
        cohort = self._cohort
        result.trained = len(cohort.running_slots)
        result.fraction = 1.0 / cohort.parts
        logs = cohort.run_part()
        finished = [s for s in logs if cohort.status(s) != SlotStatus.RUNNING]
        tests = cohort.evaluate("test") if collect and finished else {}
        if collect:
            result.spec = cohort.spec
        for slot, log in logs.items():
            status = SlotStatus(cohort.status(slot))
            report = SlotReport(tag=int(cohort.tag(slot)), status=status,
                                log={k: float(v) for k, v in log.items() if _is_number(v)},
                                partial="epoch" not in log)
            if status != SlotStatus.RUNNING:
                report.history = {k: [float(v) for v in vals]
                                  for k, vals in cohort.history(slot).items()}
                if cohort.step_losses(slot):
                    report.step_losses = cohort.step_losses(slot)
                if collect:
                    report.weights = cohort.weights(slot)
                    report.test = tests.get(slot, {})
            result.slots[int(slot)] = report


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
