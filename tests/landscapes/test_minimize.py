"""scipy.optimize.minimize on a test function, as the tutorial runs it on Beale."""

from __future__ import annotations

import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import minimize


def test_beale_from_4_4_within_its_domain_reaches_3_half() -> None:
    r = minimize("beale", [4, 4], bounded=True)
    assert r.method == "L-BFGS-B"
    assert r.x == pytest.approx((3.0, 0.5), abs=1e-4)
    assert r.fun < 1e-10
    assert r.success and r.nfev > 0 and (r.nit or 0) > 0
    assert r.bounds == ((-4.5, 4.5), (-4.5, 4.5))
    assert r.to_dict()["error"] == pytest.approx(r.fun)


def test_other_methods_and_n_dimensional_functions() -> None:
    r = minimize("rosenbrock", [-1.0, 2.0, 0.5], method="bfgs")
    assert r.method == "BFGS" and len(r.x) == 3
    assert np.allclose(r.x, 1.0, atol=1e-4)
    nm = minimize("booth", [0, 0], method="Nelder-Mead", bounded=True)
    assert nm.x == pytest.approx((1.0, 3.0), abs=1e-3) and nm.nit is not None


def test_custom_bounds_are_used() -> None:
    r = minimize("sphere", [1.0, 1.0], bounds=[(0.5, 2.0), (0.5, 2.0)])
    assert r.x == pytest.approx((0.5, 0.5))
    assert r.fun == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"function": "bael", "x0": [1, 1]}, "unknown function 'bael'; choose one of: rastrigin"),
        ({"function": "beale", "x0": [1, 1, 1]}, "x0 has 3 coordinate(s) but Beale takes 2"),
        ({"function": "beale", "x0": [1, 1], "bounds": [(0, 2), (3, -3)]},
         "`low <= high` must hold for bound 1 (coordinate x2), got low=3.0, high=-3.0"),
        ({"function": "beale", "x0": [1, 1], "bounds": [(0, 2)]}, "one (low, high) pair"),
        ({"function": "beale", "x0": [1, 1], "method": "newton"}, "unknown method 'newton'"),
        ({"function": "beale", "x0": [1, 1], "method": "BFGS", "bounded": True},
         "method BFGS does not accept bounds"),
        ({"function": "beale", "x0": [9, 1], "bounded": True},
         "x0 coordinate 1 = 9.0 lies outside the bounds [-4.5, 4.5]"),
        ({"function": "beale", "x0": ["a", 1]}, "x0 must be numbers"),
    ],
)
def test_bad_input_is_explained(kwargs: dict, message: str) -> None:
    function, x0 = kwargs.pop("function"), kwargs.pop("x0")
    with pytest.raises(ConfigError) as err:
        minimize(function, x0, **kwargs)
    assert message in str(err.value)
