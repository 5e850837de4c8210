"""The standard table of single-objective optimisation test functions, as data.

Minimisers and minimum values given to four or five decimals in the literature (Himmelblau,
Cross-in-tray, Eggholder, Hoelder table, Schaffer N.4, Styblinski-Tang) are stored refined to
double precision, so that targets as small as f - f* <= 1e-8 mean what they say; each agrees
with the published value to the published digits (the tests check both).

Beale: the tutorial's formula text writes the second term as (x*y)^2, its code as x*y**2; the
code is the Beale function, and it is the one used here.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import jax
import jax.numpy as jnp

from tunelab.errors import ConfigError
from tunelab.landscapes._function import Landscape, normalize_name

__all__ = ["FUNCTIONS", "get_function"]

Array = jax.Array
_PI = math.pi


def _safe_sqrt(u: Array) -> Array:
    # sqrt has an infinite slope at 0; this keeps gradients finite (0) there instead of NaN.
    positive = u > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, u, 1.0)), 0.0)


def _rastrigin(x: Array) -> Array:
    return 10.0 * x.shape[0] + jnp.sum(x**2 - 10.0 * jnp.cos(2.0 * _PI * x))


def _ackley(x: Array) -> Array:
    n = x.shape[0]
    r = _safe_sqrt(jnp.sum(x**2) / n)
    return -20.0 * jnp.exp(-0.2 * r) - jnp.exp(jnp.sum(jnp.cos(2.0 * _PI * x)) / n) + math.e + 20.0


def _sphere(x: Array) -> Array:
    return jnp.sum(x**2)


def _rosenbrock(x: Array) -> Array:
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _styblinski_tang(x: Array) -> Array:
    return jnp.sum(x**4 - 16.0 * x**2 + 5.0 * x) / 2.0


def _beale(v: Array) -> Array:
    x, y = v[0], v[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _goldstein_price(v: Array) -> Array:
    x, y = v[0], v[1]
    a = 1.0 + (x + y + 1.0) ** 2 * (19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y
                                     + 3.0 * y**2)
    b = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y
                                           - 36.0 * x * y + 27.0 * y**2)
    return a * b


def _booth(v: Array) -> Array:
    x, y = v[0], v[1]
    return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2


def _bukin_n6(v: Array) -> Array:
    x, y = v[0], v[1]
    return 100.0 * _safe_sqrt(jnp.abs(y - 0.01 * x**2)) + 0.01 * jnp.abs(x + 10.0)


def _matyas(v: Array) -> Array:
    x, y = v[0], v[1]
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def _levi_n13(v: Array) -> Array:
    x, y = v[0], v[1]
    return (
        jnp.sin(3.0 * _PI * x) ** 2
        + (x - 1.0) ** 2 * (1.0 + jnp.sin(3.0 * _PI * y) ** 2)
        + (y - 1.0) ** 2 * (1.0 + jnp.sin(2.0 * _PI * y) ** 2)
    )


def _himmelblau(v: Array) -> Array:
    x, y = v[0], v[1]
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


def _three_hump_camel(v: Array) -> Array:
    x, y = v[0], v[1]
    return 2.0 * x**2 - 1.05 * x**4 + x**6 / 6.0 + x * y + y**2


def _easom(v: Array) -> Array:
    x, y = v[0], v[1]
    return -jnp.cos(x) * jnp.cos(y) * jnp.exp(-((x - _PI) ** 2 + (y - _PI) ** 2))


def _cross_in_tray(v: Array) -> Array:
    x, y = v[0], v[1]
    r = _safe_sqrt(x**2 + y**2)
    inner = jnp.abs(jnp.sin(x) * jnp.sin(y) * jnp.exp(jnp.abs(100.0 - r / _PI)))
    return -0.0001 * (inner + 1.0) ** 0.1


def _eggholder(v: Array) -> Array:
    x, y = v[0], v[1]
    return -(y + 47.0) * jnp.sin(_safe_sqrt(jnp.abs(x / 2.0 + y + 47.0))) - x * jnp.sin(
        _safe_sqrt(jnp.abs(x - (y + 47.0)))
    )


def _hoelder_table(v: Array) -> Array:
    x, y = v[0], v[1]
    r = _safe_sqrt(x**2 + y**2)
    return -jnp.abs(jnp.sin(x) * jnp.cos(y) * jnp.exp(jnp.abs(1.0 - r / _PI)))


def _mccormick(v: Array) -> Array:
    x, y = v[0], v[1]
    return jnp.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1.0


def _schaffer_n2(v: Array) -> Array:
    x, y = v[0], v[1]
    return 0.5 + (jnp.sin(x**2 - y**2) ** 2 - 0.5) / (1.0 + 0.001 * (x**2 + y**2)) ** 2


def _schaffer_n4(v: Array) -> Array:
    x, y = v[0], v[1]
    return 0.5 + (jnp.cos(jnp.sin(jnp.abs(x**2 - y**2))) ** 2 - 0.5) / (
        1.0 + 0.001 * (x**2 + y**2)
    ) ** 2


# Refined minimisers (see the module docstring). Styblinski-Tang's coordinate is the root of
# 4x^3 - 32x + 5 = 0 near -2.9035; McCormick's minimum is exact: x - y = 1, x + y = -2pi/3.
_ST_X = -2.903534027771178
_ST_F = -39.16616570377142
_HIM = ((3.0, 2.0), (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.283185991286170), (3.584428340330492, -1.848126526964404))
_CIT_X = 1.349406608602084
_CIT_F = -2.0626118708227397
_EGG_Y = 404.2318051137578
_EGG_F = -959.640662720851
_HT_X, _HT_Y = 8.055023472141116, 9.664590028909654
_HT_F = -19.20850256788675
_SN4_X = 1.253131828792882
_SN4_F = 0.2925786320359804


def _both_signs(a: float, b: float) -> tuple[tuple[float, float], ...]:
    return ((a, b), (-a, b), (a, -b), (-a, -b))


_ALL: tuple[Landscape, ...] = (
    Landscape("rastrigin", "Rastrigin", _rastrigin, None, (-5.12,), (5.12,), ((0.0,),), 0.0,
              "10 n + sum(x_i^2 - 10 cos(2 pi x_i))"),
    Landscape("ackley", "Ackley", _ackley, None, (-5.0,), (5.0,), ((0.0,),), 0.0,
              "-20 exp(-0.2 sqrt(mean(x_i^2))) - exp(mean(cos(2 pi x_i))) + e + 20",
              smooth=False),
    Landscape("sphere", "Sphere", _sphere, None, (-5.12,), (5.12,), ((0.0,),), 0.0,
              "sum(x_i^2)"),
    Landscape("rosenbrock", "Rosenbrock", _rosenbrock, None, (-5.0,), (10.0,), ((1.0,),), 0.0,
              "sum(100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2)"),
    Landscape("beale", "Beale", _beale, 2, (-4.5, -4.5), (4.5, 4.5), ((3.0, 0.5),), 0.0,
              "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2"),
    Landscape("goldstein-price", "Goldstein-Price", _goldstein_price, 2, (-2.0, -2.0),
              (2.0, 2.0), ((0.0, -1.0),), 3.0,
              "[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)]"
              " [30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]"),
    Landscape("booth", "Booth", _booth, 2, (-10.0, -10.0), (10.0, 10.0), ((1.0, 3.0),), 0.0,
              "(x + 2y - 7)^2 + (2x + y - 5)^2"),
    Landscape("bukin-n6", "Bukin N.6", _bukin_n6, 2, (-15.0, -3.0), (-5.0, 3.0),
              ((-10.0, 1.0),), 0.0, "100 sqrt(|y - 0.01 x^2|) + 0.01 |x + 10|", smooth=False),
    Landscape("matyas", "Matyas", _matyas, 2, (-10.0, -10.0), (10.0, 10.0), ((0.0, 0.0),), 0.0,
              "0.26 (x^2 + y^2) - 0.48 x y"),
    Landscape("levi-n13", "Levi N.13", _levi_n13, 2, (-10.0, -10.0), (10.0, 10.0),
              ((1.0, 1.0),), 0.0,
              "sin^2(3 pi x) + (x - 1)^2 (1 + sin^2(3 pi y)) + (y - 1)^2 (1 + sin^2(2 pi y))"),
    Landscape("himmelblau", "Himmelblau", _himmelblau, 2, (-5.0, -5.0), (5.0, 5.0), _HIM, 0.0,
              "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"),
    Landscape("three-hump-camel", "Three-hump camel", _three_hump_camel, 2, (-5.0, -5.0),
              (5.0, 5.0), ((0.0, 0.0),), 0.0, "2x^2 - 1.05x^4 + x^6/6 + xy + y^2"),
    Landscape("easom", "Easom", _easom, 2, (-100.0, -100.0), (100.0, 100.0), ((_PI, _PI),),
              -1.0, "-cos(x) cos(y) exp(-((x - pi)^2 + (y - pi)^2))"),
    Landscape("cross-in-tray", "Cross-in-tray", _cross_in_tray, 2, (-10.0, -10.0),
              (10.0, 10.0), _both_signs(_CIT_X, _CIT_X), _CIT_F,
              "-0.0001 (|sin(x) sin(y) exp(|100 - sqrt(x^2 + y^2)/pi|)| + 1)^0.1"),
    Landscape("eggholder", "Eggholder", _eggholder, 2, (-512.0, -512.0), (512.0, 512.0),
              ((512.0, _EGG_Y),), _EGG_F,
              "-(y + 47) sin(sqrt(|x/2 + y + 47|)) - x sin(sqrt(|x - (y + 47)|))",
              smooth=False),
    Landscape("hoelder-table", "Hoelder table", _hoelder_table, 2, (-10.0, -10.0),
              (10.0, 10.0), _both_signs(_HT_X, _HT_Y), _HT_F,
              "-|sin(x) cos(y) exp(|1 - sqrt(x^2 + y^2)/pi|)|"),
    Landscape("mccormick", "McCormick", _mccormick, 2, (-1.5, -3.0), (4.0, 4.0),
              ((0.5 - _PI / 3.0, -0.5 - _PI / 3.0),), -math.sqrt(3.0) / 2.0 - _PI / 3.0,
              "sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1"),
    Landscape("schaffer-n2", "Schaffer N.2", _schaffer_n2, 2, (-100.0, -100.0), (100.0, 100.0),
              ((0.0, 0.0),), 0.0, "0.5 + (sin^2(x^2 - y^2) - 0.5) / (1 + 0.001 (x^2 + y^2))^2"),
    Landscape("schaffer-n4", "Schaffer N.4", _schaffer_n4, 2, (-100.0, -100.0), (100.0, 100.0),
              ((0.0, _SN4_X), (0.0, -_SN4_X), (_SN4_X, 0.0), (-_SN4_X, 0.0)), _SN4_F,
              "0.5 + (cos^2(sin(|x^2 - y^2|)) - 0.5) / (1 + 0.001 (x^2 + y^2))^2"),
    Landscape("styblinski-tang", "Styblinski-Tang", _styblinski_tang, None, (-5.0,), (5.0,),
              ((_ST_X,),), _ST_F, "sum(x_i^4 - 16 x_i^2 + 5 x_i) / 2", fmin_per_dim=True),
)

FUNCTIONS = MappingProxyType({f.name: f for f in _ALL})


def get_function(name: str | Landscape) -> Landscape:
    """The test function called ``name`` (any case; spaces, '_' and '.' are forgiven).

    Raises:
        ConfigError: no function has that name; the message lists the names.

    Example:
        >>> get_function("Bukin N.6").title
        'Bukin N.6'
    """
    if isinstance(name, Landscape):
        return name
    key = normalize_name(name)
    aliases = {"holder-table": "hoelder-table", "levi": "levi-n13", "bukin": "bukin-n6",
               "three-hump": "three-hump-camel", "goldstein": "goldstein-price"}
    key = aliases.get(key, key)
    if key not in FUNCTIONS:
        raise ConfigError(
            f"unknown function {name!r}; choose one of: {', '.join(FUNCTIONS)}"
        )
    return FUNCTIONS[key]
