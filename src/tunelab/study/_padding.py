"""Which hidden widths a study pads, so that trials of different widths share a cohort.

The engine computes a network at ``model.padded_units`` with per-slot unit masks: the
padded units stay exactly zero and a trial trains as it would unpadded, but every distinct
padded width is one structure (one compilation) instead of every distinct real width.
Padding wastes FLOPs on the masked units; it saves compilations. Measured on the 2-core
development machine (``bench/padding.py``: Fashion-MNIST, batch 128, 8 slots), one saved
compilation (3-7 s) pays for 10-30 cohort epochs at the wider width on 2,000-10,000 images:
padding wins when each real width would train few cohort epochs of its own, which is when
the study has fewer trials than full cohorts for its unpadded structures.

Policies (``[study] pad_widths``):

* ``none``: no padding; each width is its own structure.
* ``max``: each hidden layer is padded to the widest value the search space gives it.
* ``pow2``: each width is rounded up to a power of two.
* ``auto`` (default): ``max`` when ``trials < cohort x (number of unpadded structures)``,
  else ``none``: the cost model (:func:`~tunelab.study._cost.pays_to_compile`) priced before
  anything is measured, see :func:`padding_trade`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from tunelab.config import RunConfig
from tunelab.errors import TunelabError
from tunelab.study._cost import CompileTrade, pays_to_compile
from tunelab.study._params import Categorical, Fixed, Float, Int, Param
from tunelab.study._space import Space

__all__ = [
    "Padder",
    "choose_padding",
    "padder",
    "padding_trade",
    "structure_count",
]

_TOPOLOGY = ("model.units", "model.layers")
_MANY = 10_000

Padder = Callable[[RunConfig], RunConfig]


def _count(p: Param) -> int:
    if isinstance(p, Categorical):
        return len(p.choices)
    if isinstance(p, Int):
        return (p.high - p.low) // p.step + 1 if p.step else p.high - p.low + 1
    if isinstance(p, Float):
        return _MANY
    return 1


def _widest(space: Space, base: RunConfig) -> list[int] | None:
    """The widest width each hidden layer takes over the space, or None if nothing varies."""
    params = {n: space.params[n] for n in _TOPOLOGY
              if n in space.params and not isinstance(space.params[n], Fixed)}
    if not params:
        return None
    names = list(params)
    widest: list[int] = []
    for combo in itertools.product(*(params[n].probe_values() for n in names)):
        try:
            units = space.apply(base, dict(zip(names, combo, strict=True))).model.units
        except (TunelabError, ValueError, TypeError):
            continue
        for i, u in enumerate(units):
            if i < len(widest):
                widest[i] = max(widest[i], int(u))
            else:
                widest.append(int(u))
    return widest or None


def choose_padding(policy: str, space: Space, base: RunConfig, *, trials: int, cohort: int,
                   structural: list[str]) -> str:
    """The policy a study uses: ``auto`` resolved to ``max`` or ``none``.

    Example:
        >>> space = Space({"model.units": [32, 64, 128], "training.batch_size": [32, 64]})
        >>> choose_padding("auto", space, RunConfig(), trials=24, cohort=8,
        ...                structural=["model.units", "training.batch_size"])
        'max'
        >>> choose_padding("auto", space, RunConfig(), trials=200, cohort=8,
        ...                structural=["model.units", "training.batch_size"])
        'none'
    """
    if policy != "auto":
        return policy
    if base.model.builder is not None or not any(n in structural for n in _TOPOLOGY):
        return "none"
    trade = padding_trade(trials=trials, cohort=cohort,
                          structures=structure_count(space, structural))
    return "none" if trade.pays else "max"


def padding_trade(*, trials: int, cohort: int, structures: int) -> CompileTrade:
    """Whether compiling every unpadded structure pays, against padding widths to share them.

    Priced before anything is measured, in trials trained through: compiling the
    ``structures`` saves at most the ``trials``' whole training (the masked units a padded
    cohort computes are always less than all of its work, so this leans toward the exact,
    unpadded run), and a compilation costs one cohort of trials trained through
    (``cohort``), about what ``bench/padding.py`` measured (one compilation pays for 10-30
    cohort epochs). So padding is chosen when ``trials < cohort x structures``.

    Example:
        >>> padding_trade(trials=24, cohort=8, structures=12)
        CompileTrade(pays=False, saved_seconds=24.0, cost_seconds=96.0)
    """
    return pays_to_compile(epoch_seconds=1.0, idle_share=1.0, epochs=trials,
                           compile_seconds=float(cohort), compiles=structures)


def padder(policy: str, space: Space, base: RunConfig) -> Padder | None:
    """A function setting ``model.padded_units`` on a trial's configuration, or None.

    Example:
        >>> pad = padder("max", Space({"model.units": [32, 64]}), RunConfig())
        >>> pad(Space({"model.units": [32, 64]}).apply(RunConfig(), {"model.units": 32})
        ...     ).model.padded_units
        [64, 64]
    """
    if policy == "none" or base.model.builder is not None:
        return None
    if policy == "pow2":
        def pow2(cfg: RunConfig) -> RunConfig:
            pad = [1 << max(0, int(u) - 1).bit_length() for u in cfg.model.units]
            return _with_padding(cfg, pad)

        return pow2
    widest = _widest(space, base)
    if widest is None:
        return None

    def to_max(cfg: RunConfig) -> RunConfig:
        return _with_padding(cfg, widest[:len(cfg.model.units)])

    return to_max


def _with_padding(cfg: RunConfig, pad: list[int]) -> RunConfig:
    if cfg.model.builder is not None:
        return cfg
    model = cfg.model.model_copy(update={"padded_units": list(pad)})
    return cfg.model_copy(update={"model": model})


def structure_count(space: Space, structural: list[str]) -> int:
    """How many structures the structural parameters can make (capped at 10,000).

    Example:
        >>> structure_count(Space({"training.batch_size": [32, 64, 128]}),
        ...                 ["training.batch_size"])
        3
    """
    return max(1, min(_MANY, math.prod(min(_count(space.params[n]), _MANY)
                                       for n in structural if n in space.params)))
