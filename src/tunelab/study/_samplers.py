"""Samplers and pruners by name, and the sampler wrapper that refills a cohort.

Every name maps onto an Optuna class; ``asha`` and ``hyperband`` onto Optuna's successive
halving and Hyperband with the rivals at a rung read from what every trial reported
(:class:`CohortHalvingPruner`: a cohort's slots reach a rung together). TPE runs with
``constant_liar=True`` because a cohort asks for many trials before any is told.

Example:
    >>> from tunelab.study import Space
    >>> space = Space({"optimizer.learning_rate": {"low": 1e-3, "high": 1.0, "log": True}})
    >>> type(make_sampler("random", seed=0, space=space)).__name__
    'RandomSampler'
    >>> type(make_pruner("asha", n_objectives=1)).__name__
    'CohortHalvingPruner'
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from tunelab.errors import ConfigError, SpaceError
from tunelab.study._halving import CohortHalvingPruner, CohortHyperbandPruner

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial, TrialState

    from tunelab.study._space import Space

__all__ = ["PRUNER_KINDS", "SAMPLER_KINDS", "CohortSampler", "PrunerArgs", "PrunerKind",
           "SamplerArgs", "check_grid", "halving", "make_pruner", "make_sampler",
           "report_points", "resolve_pruner"]


@dataclass(frozen=True)
class SamplerArgs:
    """What a sampler is built from: the study's seed, space, objectives and cohort width."""

    seed: int | None
    space: Space
    n_objectives: int
    cohort: int


def _tpe(a: SamplerArgs) -> BaseSampler:
    conditional = any(p.when for p in a.space.params.values())
    return optuna.samplers.TPESampler(seed=a.seed, constant_liar=True, multivariate=True,
                                      group=conditional)


def _qmc(kind: str) -> Callable[[SamplerArgs], BaseSampler]:
    def make(a: SamplerArgs) -> BaseSampler:
        return optuna.samplers.QMCSampler(qmc_type=kind, scramble=True, seed=a.seed,
                                          warn_independent_sampling=False,
                                          warn_asynchronous_seeding=False)
    return make


def _gp(a: SamplerArgs) -> BaseSampler:
    if importlib.util.find_spec("torch") is None:
        raise ConfigError("study.sampler: 'gp' needs PyTorch, which is not installed;"
                          " run: pip install 'tunelab[gp]' (or choose tpe)")
    return optuna.samplers.GPSampler(seed=a.seed, warn_independent_sampling=False)


def _cmaes(a: SamplerArgs) -> BaseSampler:
    if a.n_objectives > 1:
        raise ConfigError(f"study.sampler: 'cmaes' optimises one objective; use nsga2 or tpe"
                          f" for {a.n_objectives} objectives")
    return optuna.samplers.CmaEsSampler(seed=a.seed, warn_independent_sampling=False)


#: Every sampler by its tunelab name: one entry each (``[study] sampler`` accepts exactly
#: these; docs/studies.md's table lists them). TPE lies for running trials
#: (``constant_liar``) because a cohort asks for many trials before any is told.
SAMPLER_KINDS: dict[str, Callable[[SamplerArgs], BaseSampler]] = {
    "tpe": _tpe,
    "random": lambda a: optuna.samplers.RandomSampler(seed=a.seed),
    "grid": lambda a: optuna.samplers.GridSampler(a.space.grid(), seed=a.seed),
    "qmc": _qmc("sobol"),
    "sobol": _qmc("sobol"),
    "halton": _qmc("halton"),
    "gp": _gp,
    "cmaes": _cmaes,
    "nsga2": lambda a: optuna.samplers.NSGAIISampler(
        seed=a.seed, population_size=min(50, max(4, 2 * a.cohort))),
}


def make_sampler(
    name: str,
    *,
    seed: int | None,
    space: Space,
    n_objectives: int = 1,
    cohort: int = 8,
) -> BaseSampler:
    """An Optuna sampler by tunelab name (:data:`SAMPLER_KINDS`).

    Names: ``tpe`` (default), ``random``, ``grid`` (every float needs a ``step``), ``qmc`` or
    ``sobol`` (scrambled Sobol), ``halton``, ``gp`` (needs PyTorch: ``tunelab[gp]``), ``cmaes``,
    ``nsga2`` (multi-objective).

    Raises:
        ConfigError: The name is unknown, or the sampler cannot serve this study.
    """
    make = SAMPLER_KINDS.get(name.lower())
    if make is None:
        raise ConfigError(f"study.sampler: unknown sampler {name!r}; expected one of:"
                          f" {', '.join(SAMPLER_KINDS)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return make(SamplerArgs(seed, space, n_objectives, cohort))


@dataclass(frozen=True)
class PrunerArgs:
    """What a pruner is built from, in the pruner's steps (``1 / parts`` of an epoch)."""

    first: int
    max_steps: int | None
    reduction_factor: int
    percentile: float
    startup_trials: int
    warmup_steps: int


@dataclass(frozen=True)
class PrunerKind:
    """One pruner of :data:`PRUNER_KINDS`.

    Attributes:
        make: Builds it.
        halving: It cuts at rungs, ``min_resource`` times powers of the reduction factor
            (trials report mid-epoch only there, and train the rungs' share of epochs).
    """

    make: Callable[[PrunerArgs], optuna.pruners.BasePruner]
    halving: bool = False


#: Every pruner by its tunelab name: one entry each (``[study] pruner`` accepts these and
#: ``auto``; docs/studies.md's table lists them).
PRUNER_KINDS: dict[str, PrunerKind] = {
    "asha": PrunerKind(lambda a: CohortHalvingPruner(
        min_resource=a.first, reduction_factor=a.reduction_factor), halving=True),
    "hyperband": PrunerKind(lambda a: CohortHyperbandPruner(
        min_resource=a.first, reduction_factor=a.reduction_factor,
        max_resource=a.max_steps if a.max_steps is not None and a.max_steps > a.first
        else "auto"), halving=True),
    "median": PrunerKind(lambda a: optuna.pruners.MedianPruner(
        n_startup_trials=a.startup_trials, n_warmup_steps=a.warmup_steps)),
    "percentile": PrunerKind(lambda a: optuna.pruners.PercentilePruner(
        a.percentile, n_startup_trials=a.startup_trials, n_warmup_steps=a.warmup_steps)),
    "none": PrunerKind(lambda a: optuna.pruners.NopPruner()),
}


def make_pruner(
    name: str,
    *,
    n_objectives: int,
    max_epochs: int | None = None,
    reduction_factor: int = 3,
    min_resource: float = 1.0,
    percentile: float = 25.0,
    startup_trials: int = 5,
    warmup_epochs: int = 1,
    parts: int = 1,
) -> optuna.pruners.BasePruner:
    """An Optuna pruner by tunelab name (:data:`PRUNER_KINDS`); one step is ``1 / parts`` of
    an epoch.

    Names: ``asha`` (successive halving), ``hyperband``, ``median``, ``percentile``, ``none``,
    and ``auto`` (asha for one objective, none for several: Optuna prunes one objective only).
    Resources are given in epochs and turned into steps (``min_resource = 0.125`` with
    ``parts = 8`` is one step).

    Raises:
        ConfigError: The name is unknown, or a pruner was asked for a multi-objective study.
    """
    kind = PRUNER_KINDS[resolve_pruner(name, n_objectives)]
    return kind.make(PrunerArgs(
        first=max(1, round(min_resource * parts)),
        max_steps=None if max_epochs is None else max_epochs * parts,
        reduction_factor=reduction_factor, percentile=percentile,
        startup_trials=startup_trials, warmup_steps=warmup_epochs * parts))


def resolve_pruner(name: str, n_objectives: int) -> str:
    """The pruner a name stands for (``auto`` resolved), checked against the objectives.

    Raises:
        ConfigError: The name is unknown, or a pruner was asked for a multi-objective study.
    """
    key = name.lower()
    if key == "auto":
        key = "asha" if n_objectives == 1 else "none"
    if key not in PRUNER_KINDS:
        raise ConfigError(f"study.pruner: unknown pruner {name!r}; expected one of:"
                          f" {', '.join(PRUNER_KINDS)}, auto")
    if key != "none" and n_objectives > 1:
        raise ConfigError(
            f"study.pruner: {name!r} cannot prune a study with {n_objectives} objectives"
            " (Optuna prunes on one reported value); set pruner = 'none'"
        )
    return key


def halving(pruner: str) -> bool:
    """Whether the pruner (a resolved name) cuts at rungs (see :class:`PrunerKind`)."""
    return PRUNER_KINDS[pruner].halving


def report_points(pruner: str, *, parts: int, max_epochs: int, reduction_factor: int = 3,
                  min_resource: float = 1.0, warmup_epochs: int = 1) -> list[int]:
    """Where a trial reports in mid-epoch, in steps of ``1 / parts`` epoch (sub-epoch fidelity).

    Halving pruners (asha, hyperband) cut at ``min_resource`` times powers of the reduction
    factor: a trial reports at those of its rungs that fall inside an epoch, and at every
    epoch's end as always. Median and percentile pruners compare trials at every step after
    their warm-up, so a trial reports at every piece of the epochs in which they can cut it
    (from the warm-up on, up to its first epoch end after that). ``none`` reports nothing in
    mid-epoch.

    Example:
        >>> report_points("asha", parts=8, max_epochs=12, min_resource=0.125)
        [1, 3, 9, 27, 81]
        >>> report_points("median", parts=4, max_epochs=12, warmup_epochs=0)
        [1, 2, 3]
    """
    if parts == 1 or pruner == "none":
        return []
    last = max_epochs * parts
    if halving(pruner):
        rungs, rung = [], max(1, round(min_resource * parts))
        while rung < last:
            rungs.append(rung)
            rung *= reduction_factor
        return [r for r in rungs if r % parts]
    start = warmup_epochs * parts
    return [s for s in range(start + 1, min(last, start + parts)) if s % parts]


class CohortSampler(optuna.samplers.BaseSampler):
    """Wraps a sampler so that, for a while, some parameters are fixed (Optuna's
    ``PartialFixedSampler``): a slot freed in a cohort is refilled with a trial of the same
    structure, the rest of its parameters chosen by the wrapped sampler.

    It also absorbs the grid sampler's request to stop an ``optimize`` loop when the grid is
    exhausted (there is no such loop in ask/tell) and remembers it as :attr:`exhausted`.

    Example:
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> sampler = CohortSampler(optuna.samplers.RandomSampler(seed=0))
        >>> study = optuna.create_study(sampler=sampler)
        >>> with sampler.fixed({"x": 3}):
        ...     trial = study.ask()
        ...     trial.suggest_int("x", 0, 9)
        3
    """

    def __init__(self, base: BaseSampler) -> None:
        self.base = base
        self.exhausted = False
        self._partial: BaseSampler | None = None

    @contextlib.contextmanager
    def fixed(self, params: Mapping[str, Any] | None) -> Iterator[None]:
        """Within the block, ``params`` take these values on every new trial."""
        if not params:
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._partial = optuna.samplers.PartialFixedSampler(dict(params), self.base)
        try:
            yield
        finally:
            self._partial = None

    def _active(self) -> BaseSampler:
        return self._partial if self._partial is not None else self.base

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._active().infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._active().sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._active().sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._active().before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        try:
            self.base.after_trial(study, trial, state, values)
        except RuntimeError as exc:
            # GridSampler calls study.stop() when its grid is used up; that only works inside
            # study.optimize, and tunelab drives the study with ask/tell.
            if "Study.stop" not in str(exc):
                raise
            self.exhausted = True

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def check_grid(space: Space, sampler: str) -> None:
    """Raise :class:`SpaceError` early when the grid sampler cannot enumerate ``space``."""
    if sampler.lower() == "grid":
        space.grid()
        if not space.distributions():
            raise SpaceError(f"{space.source}: the grid sampler needs at least one searched"
                             " parameter")
