"""How long the gradient family's race takes: 8 optimizers x 20 functions x 100 starts x 1,000
steps, with the 5-point learning-rate grid (80 million optimizer steps in all).

Target: under 60 s. Rows:
  tunelab cold   tunelab.landscapes.race(optimizers=["gradient"], starts=100, budget=1000) in
                 a fresh process state: problem set-up, compilation and the runs
  tunelab warm   the same call again (compiled program reused): median of the repeats
  plain loop     the peer, the plain way to write it: for each optimizer, function, learning
                 rate and start, a Python loop calling a jitted single-point optax step (value,
                 gradient, update, projection), without a host sync per step. Run on a subset
                 (2 optimizers x 2 functions x 1 learning rate x 2 starts x 1,000 steps) and
                 EXTRAPOLATED per step to the full 80 million steps, plus one measured compile
                 per (optimizer, function) pair times 160 pairs.

The subset's runs start from the race's own starts with the race's chosen learning rate; the
best values they reach are compared with the race's, to show both do the same work.

The machine's load average is recorded: it is shared, and the timings move with it.

Usage: python bench/landscape_race.py [REPEATS]   (default 2 warm repeats)
Writes bench/results/landscape_race.json.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tunelab._files import write_json
from tunelab.landscapes import FUNCTIONS, GRADIENT_OPTIMIZERS, LR_GRID, problem_from, race
from tunelab.landscapes._optimizers import gradient_transform
from tunelab.landscapes._race import _starts

TARGET_S = 60.0
STARTS = 100
STEPS = 1000
SEED = 0
SUBSET_OPTIMIZERS = ("SGD", "Adam")
SUBSET_FUNCTIONS = ("beale", "rastrigin")
SUBSET_STARTS = 2


def _plain_loop() -> dict[str, Any]:
    """The peer on the subset: seconds per step, compile seconds per pair, best values."""
    ref = race(list(SUBSET_FUNCTIONS), list(SUBSET_OPTIMIZERS), starts=STARTS, budget=STEPS,
               seed=SEED)
    chosen = {(rs.function, rs.optimizer): rs for rs in ref.run_sets}
    step_times: list[float] = []
    compile_times: list[float] = []
    agree: list[dict[str, Any]] = []
    with jax.enable_x64(True):
        for fname in SUBSET_FUNCTIONS:
            problem = problem_from(FUNCTIONS[fname])
            starts = _starts(problem, SEED, STARTS)[:SUBSET_STARTS]
            lo, hi = jnp.asarray(problem.lower), jnp.asarray(problem.upper)
            for oname in SUBSET_OPTIMIZERS:
                rs = chosen[(fname, oname)]
                tx = gradient_transform(oname)
                vg = jax.value_and_grad(problem.jax_fn)

                @jax.jit
                def step(x: jax.Array, state: Any, tx: Any = tx, vg: Any = vg,
                         lo: jax.Array = lo, hi: jax.Array = hi) -> Any:
                    f, g = vg(x)
                    updates, state = tx.update(g, state, x)
                    return jnp.clip(x + updates, lo, hi), state, f

                def init(x: jax.Array, tx: Any = tx, lr: float = rs.lr or 0.0) -> Any:
                    state = tx.init(x)
                    state.hyperparams["learning_rate"] = jnp.asarray(lr)
                    return state

                x = jnp.asarray(starts[0])
                t0 = time.perf_counter()
                jax.block_until_ready(step(x, init(x)))
                compile_times.append(time.perf_counter() - t0)
                for s, x0 in enumerate(starts):
                    x = jnp.asarray(x0)
                    state = init(x)
                    values = []
                    t0 = time.perf_counter()
                    for _ in range(STEPS):
                        x, state, f = step(x, state)
                        values.append(f)
                    best = float(jnp.min(jnp.stack(values)))
                    step_times.append((time.perf_counter() - t0) / STEPS)
                    agree.append({"function": fname, "optimizer": oname, "start": s,
                                  "lr": rs.lr, "plain_best": best - problem.f_star,
                                  "tunelab_best": float(rs.precision[s])})
    return {"step_s": statistics.median(step_times), "compile_s": statistics.median(compile_times),
            "agreement": agree}


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    cold = race(None, ["gradient"], starts=STARTS, budget=STEPS, seed=SEED)
    cold_s = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        race(None, ["gradient"], starts=STARTS, budget=STEPS, seed=SEED)
        warm.append(time.perf_counter() - t0)
    load_mid = os.getloadavg()
    peer = _plain_loop()
    load_after = os.getloadavg()

    total_steps = len(GRADIENT_OPTIMIZERS) * len(FUNCTIONS) * STARTS * len(LR_GRID) * STEPS
    pairs = len(GRADIENT_OPTIMIZERS) * len(FUNCTIONS)
    peer_s = peer["step_s"] * total_steps + peer["compile_s"] * pairs
    warm_s = statistics.median(warm) if warm else cold_s
    rows = [
        ("tunelab cold (compile + run)", cold_s, peer_s / cold_s),
        ("tunelab warm (median)", warm_s, peer_s / warm_s),
        ("plain loop, extrapolated", peer_s, 1.0),
    ]
    print(f"gradient family: {len(GRADIENT_OPTIMIZERS)} optimizers x {len(FUNCTIONS)} functions "
          f"x {STARTS} starts x {STEPS} steps x {len(LR_GRID)} learning rates "
          f"= {total_steps:,} steps; target {TARGET_S:.0f} s")
    print(f"{'how':34s} {'seconds':>10s} {'plain / this':>13s}")
    for name, secs, ratio in rows:
        print(f"{name:34s} {secs:10.1f} {ratio:13.0f}x")
    print(f"tunelab cold: compile {cold.timing['gradient_compile_s']:.1f} s, compiled runs "
          f"{cold.timing['gradient_run_s']:.1f} s")
    print(f"plain loop: {peer['step_s'] * 1e6:.1f} us per step, {peer['compile_s']:.2f} s "
          f"compile per pair (measured on {len(peer['agreement'])} runs of {STEPS} steps)")
    worst = max(abs(a["plain_best"] - a["tunelab_best"]) for a in peer["agreement"])
    print(f"same work: largest difference of best f - f* between the two on the subset: "
          f"{worst:.2e}")
    print(f"load average (1, 5, 15 min): before {load_before}, after tunelab {load_mid}, "
          f"after peer {load_after}; {os.cpu_count()} CPUs")
    sets = cold.run_sets
    write_json(
        os.path.join(os.path.dirname(__file__), "results", "landscape_race.json"),
        {
            "what": "gradient-family race, 8 optimizers x 20 functions x 100 starts x 1000 steps"
                    " x 5 learning rates",
            "target_s": TARGET_S,
            "tunelab_cold_s": cold_s,
            "tunelab_cold_compile_s": cold.timing["gradient_compile_s"],
            "tunelab_cold_run_s": cold.timing["gradient_run_s"],
            "tunelab_warm_s": warm,
            "plain_loop_extrapolated_s": peer_s,
            "plain_loop_step_us": peer["step_s"] * 1e6,
            "plain_loop_compile_s_per_pair": peer["compile_s"],
            "plain_loop_subset": {"optimizers": SUBSET_OPTIMIZERS, "functions": SUBSET_FUNCTIONS,
                                  "starts": SUBSET_STARTS, "steps": STEPS},
            "ratio_plain_over_tunelab_cold": peer_s / cold_s,
            "ratio_plain_over_tunelab_warm": peer_s / warm_s,
            "agreement": peer["agreement"],
            "mean_success_1e-8": float(np.mean([rs.success_rate(2) for rs in sets])),
            "load_average": {"before": load_before, "after_tunelab": load_mid,
                             "after_peer": load_after},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "jax": jax.__version__},
        },
    )


if __name__ == "__main__":
    main()
