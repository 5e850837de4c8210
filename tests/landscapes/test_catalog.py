"""The 20 test functions: every listed minimum is where the literature puts it, and is a minimum."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tunelab.errors import ConfigError
from tunelab.landscapes import FUNCTIONS, get_function

# f* as published in the standard table of test functions (Styblinski-Tang: per coordinate).
# Published digits are sometimes truncated rather than rounded (McCormick -1.9133 for
# -1.913223), so agreement means: within one unit of the last published digit.
PUBLISHED = {
    "rastrigin": 0.0, "ackley": 0.0, "sphere": 0.0, "rosenbrock": 0.0, "beale": 0.0,
    "goldstein-price": 3.0, "booth": 0.0, "bukin-n6": 0.0, "matyas": 0.0, "levi-n13": 0.0,
    "himmelblau": 0.0, "three-hump-camel": 0.0, "easom": -1.0, "cross-in-tray": -2.06261,
    "eggholder": -959.6407, "hoelder-table": -19.2085, "mccormick": -1.9133,
    "schaffer-n2": 0.0, "schaffer-n4": 0.292579, "styblinski-tang": -39.16617,
}
# Minimisers as published (x*, digits).
PUBLISHED_X = {
    "himmelblau": ([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                    (3.584428, -1.848126)], 6),
    "cross-in-tray": ([(1.34941, 1.34941), (-1.34941, 1.34941), (1.34941, -1.34941),
                       (-1.34941, -1.34941)], 5),
    "eggholder": ([(512.0, 404.2319)], 4),
    "hoelder-table": ([(8.05502, 9.66459), (-8.05502, 9.66459), (8.05502, -9.66459),
                       (-8.05502, -9.66459)], 5),
    "mccormick": ([(-0.54719, -1.54719)], 5),
    "schaffer-n4": ([(0.0, 1.25313), (0.0, -1.25313), (1.25313, 0.0), (-1.25313, 0.0)], 5),
    "styblinski-tang": ([(-2.903534, -2.903534)], 6),
}

CASES = [(name, i) for name, fn in FUNCTIONS.items() for i in range(len(fn.minima))]


def _decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


def test_the_standard_table_is_complete() -> None:
    assert list(FUNCTIONS) == list(PUBLISHED)
    n_dim = {n for n, f in FUNCTIONS.items() if f.dim is None}
    assert n_dim == {"rastrigin", "ackley", "sphere", "rosenbrock", "styblinski-tang"}
    assert len(FUNCTIONS["himmelblau"].minima) == 4
    assert len(FUNCTIONS["cross-in-tray"].minima) == 4


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_f_star_agrees_with_the_published_value(name: str) -> None:
    published = PUBLISHED[name]
    fn = FUNCTIONS[name]
    f_star = fn.f_star(2) / 2 if fn.fmin_per_dim else fn.f_star(2)
    assert abs(f_star - published) <= 10.0 ** -_decimals(published) + 1e-12


@pytest.mark.parametrize("name", list(PUBLISHED_X))
def test_minimisers_agree_with_the_published_points(name: str) -> None:
    points, digits = PUBLISHED_X[name]
    stored = FUNCTIONS[name].minimizers(2)
    assert np.abs(stored - np.asarray(points)).max() <= 10.0**-digits + 1e-12


@pytest.mark.parametrize(("name", "index"), CASES)
def test_f_at_each_minimum_is_f_star(name: str, index: int) -> None:
    fn = FUNCTIONS[name]
    x = fn.minimizers(2)[index]
    assert fn.value(x) == pytest.approx(fn.f_star(2), abs=1e-9)


@pytest.mark.parametrize(("name", "index"), CASES)
def test_each_minimum_is_a_local_minimum(name: str, index: int) -> None:
    fn = FUNCTIONS[name]
    x = fn.minimizers(2)[index]
    lo, hi = fn.bounds(2).T
    rng = np.random.default_rng(index)
    radius = 1e-3 * (hi - lo)
    around = np.clip(x + rng.uniform(-1, 1, size=(400, 2)) * radius, lo, hi)
    with jax.enable_x64(True):
        values = np.asarray(jax.vmap(fn.fn)(jnp.asarray(around)))
        grad = np.asarray(jax.grad(fn.fn)(jnp.asarray(x)))
    # No lower value nearby (non-smooth minima included: Bukin N.6, Ackley, Eggholder).
    assert values.min() >= fn.f_star(2) - 1e-9
    on_boundary = bool(np.any((x == lo) | (x == hi)))
    if fn.smooth and not on_boundary:
        assert np.linalg.norm(grad) < 1e-5


def test_n_dimensional_functions_follow_the_dimension() -> None:
    st = get_function("styblinski-tang")
    x = st.minimizers(5)[0]
    assert x.shape == (5,)
    assert st.value(x) == pytest.approx(st.f_star(5), abs=1e-9)
    assert st.f_star(5) == pytest.approx(5 * -39.16616570377142)
    assert get_function("rosenbrock").value(np.ones(7)) == 0.0
    with pytest.raises(ConfigError, match="Rosenbrock needs dimension >= 2"):
        get_function("rosenbrock").resolve_dim(1)
    with pytest.raises(ConfigError, match="defined in 2 dimensions only"):
        get_function("beale").resolve_dim(3)


def test_beale_is_the_tutorials_code_not_its_formula_text() -> None:
    # At (2, 1) the code's x*y**2 = 2 and x*y**3 = 2; the text's (x*y)^2 = 4, (x*y)^3 = 8.
    code = (1.5 - 2 + 2) ** 2 + (2.25 - 2 + 2) ** 2 + (2.625 - 2 + 2) ** 2
    text = (1.5 - 2 + 2) ** 2 + (2.25 - 2 + 4) ** 2 + (2.625 - 2 + 8) ** 2
    assert get_function("beale").value([2.0, 1.0]) == pytest.approx(code)
    assert code != pytest.approx(text)
    assert get_function("beale").value([3.0, 0.5]) == 0.0


def test_names_are_forgiving_and_unknown_names_list_the_choices() -> None:
    assert get_function("Bukin N.6").name == "bukin-n6"
    assert get_function("Three_Hump Camel").name == "three-hump-camel"
    assert get_function("holder-table").name == "hoelder-table"
    with pytest.raises(ConfigError) as err:
        get_function("bael")
    assert "unknown function 'bael'" in str(err.value)
    assert "beale" in str(err.value) and "styblinski-tang" in str(err.value)


def test_a_domain_with_low_above_high_is_refused() -> None:
    from tunelab.landscapes import Landscape

    expected = r"`low <= high` must hold for bound 1.*low=3.0, high=-3.0"
    with pytest.raises(ConfigError, match=expected):
        Landscape("bad", "Bad", lambda x: jnp.sum(x), 2, (0.0, 3.0), (1.0, -3.0), ((0.0, 0.0),),
                  0.0, "x + y")


def test_wrong_number_of_coordinates_is_explained() -> None:
    with pytest.raises(ConfigError, match="x0 has 3 coordinate"):
        get_function("booth").value([1.0, 2.0, 3.0])
