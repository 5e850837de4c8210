"""Every reader a user feeds, fed malformed input: each failure is a TunelabError naming the
file or key, never a traceback from deep inside.

Hypothesis writes files a user could hand to tunelab (run and procedure TOML, search spaces,
CSV, NPZ, IDX, arrays given to the Python fronts, the run-folder records read on resume):
truncated, wrong types, other versions, NaN, huge values, empty files, wrong shapes. The
session prints how many inputs were tried (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import io
import json
import math
import struct
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tunelab.errors import TunelabError

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _file(name: str, content: bytes) -> Path:
    path = Path(tempfile.mkdtemp(prefix="tunelab-fuzz-")) / name
    path.write_bytes(content)
    return path


def _names_it(exc: BaseException, *where: object) -> None:
    assert isinstance(exc, TunelabError), f"{type(exc).__name__}: {exc}"
    text = str(exc)
    assert any(str(w) in text for w in where), f"{text!r} names none of {where}"


# ------------------------------------------------------------------ values a user might write
_weird_numbers = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e308, -1e308, 0, -1, 10**30, 2**63, 0.5, 1e-320]
)
_scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    _weird_numbers,
    st.text(max_size=12),
    st.sampled_from(["SGD", "adam", "relu", "", "auto"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _mutate(tree: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    node: Any = tree
    for part in path[:-1]:
        child = node.get(part) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value
    return tree


def _toml_bytes(tree: dict[str, Any]) -> bytes | None:
    try:
        return tomli_w.dumps(tree).encode()
    except (TypeError, ValueError):
        return None  # NaN keys, None values...: not writable as TOML, skip


_garbage = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.just(b""),
    st.just(b"\xff\xfe\x00"),
    st.just(b"[section\nkey = "),
)


# ----------------------------------------------------------------------------- run TOML
_RUN_KEYS = [
    "model.units",
    "model.dropout",
    "model.activation",
    "optimizer.name",
    "optimizer.learning_rate",
    "optimizer.momentum",
    "optimizer.rho",
    "training.epochs",
    "training.batch_size",
    "training.loss",
    "schedule.name",
    "schedule.decay_rate",
    "data.name",
    "data.val_split",
    "seed",
    "callbacks",
    "model",
    "nonsense.key",
]


@FUZZ
@given(key=st.sampled_from(_RUN_KEYS), value=_values, garbage=_garbage, raw=st.booleans())
def test_run_toml(tried: Counter[str], key: str, value: Any, garbage: bytes, raw: bool) -> None:
    from tunelab.config import RunConfig, load_config

    content = garbage if raw else _toml_bytes(_mutate({}, key.split("."), value))
    assume(content is not None)
    tried["run TOML"] += 1
    path = _file("run.toml", content)
    try:
        assert isinstance(load_config(path), RunConfig)
    except Exception as exc:  # noqa: BLE001 - the property is about what is raised
        _names_it(exc, path)


# ------------------------------------------------------------------------ procedure TOML
def _tutorial() -> dict[str, Any]:
    import tomllib
    from importlib import resources

    text = resources.files("tunelab.guide").joinpath("tutorial.toml").read_text("utf-8")
    return tomllib.loads(text)


_PROC_KEYS = [
    ["budget", "trials"],
    ["budget", "quick", "epochs"],
    ["budget", "sampler"],
    ["start", "optimizer", "name"],
    ["start", "model", "units"],
    ["procedure"],
    ["budget", "standard"],
    ["steps"],
    ["start", "training", "batch_size"],
    ["budget", "cohort"],
    ["budget", "lr_spread"],
]
_STEP_KEYS = [
    ["name"],
    ["kind"],
    ["range_test"],
    ["scientific"],
    ["nuisance"],
    ["fixed"],
    ["budget", "seeds"],
    ["quick", "budget"],
    ["scientific", "model.units"],
    ["nuisance", "optimizer.learning_rate"],
    ["optional"],
    ["fixed", "seed"],
]


@FUZZ
@given(
    top=st.booleans(),
    which=st.integers(0, 20),
    key=st.integers(0, 20),
    value=_values,
    garbage=_garbage,
    raw=st.integers(0, 5),
)
def test_procedure_toml(
    tried: Counter[str], top: bool, which: int, key: int, value: Any, garbage: bytes, raw: int
) -> None:
    from tunelab.guide import load_procedure

    tree = _tutorial()
    if top:
        _mutate(tree, _PROC_KEYS[key % len(_PROC_KEYS)], value)
    else:
        steps = tree["steps"]
        _mutate(steps[which % len(steps)], _STEP_KEYS[key % len(_STEP_KEYS)], value)
    content = garbage if raw == 0 else _toml_bytes(tree)
    assume(content is not None)
    tried["procedure TOML"] += 1
    path = _file("procedure.toml", content)
    try:
        load_procedure(path, budget="quick")
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, path)


# --------------------------------------------------------------------------- search spaces
_SPACE_KEYS = [
    "optimizer.learning_rate",
    "model.units",
    "model.dropout",
    "optimizer.name",
    "training.batch_size",
    "optimizer.momentum",
    "model.activation",
    "nope",
    "optimizer",
    "training.loss",
    "",
]
_dists = st.one_of(
    _values,
    st.fixed_dictionaries(
        {"low": _scalars, "high": _scalars},
        optional={"log": _scalars, "step": _scalars, "when": _values},
    ),
    st.lists(_scalars, max_size=5),
)


@FUZZ
@given(spec=st.dictionaries(st.sampled_from(_SPACE_KEYS), _dists, max_size=3))
def test_search_space(tried: Counter[str], spec: dict[str, Any]) -> None:
    from tunelab.study import Space

    tried["search space"] += 1
    try:
        space = Space(spec, source="space.toml")
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, "space.toml")
        return
    # A table of tables is a section: {"optimizer": {"momentum": ...}} is optimizer.momentum.
    assert all(any(n == k or n.startswith(f"{k}.") for k in spec) for n in space.params)


# ------------------------------------------------------------------------------------ CSV
_cells = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "", "1e400", "-", "cat", '"a,b"', "1,5"]),
    st.text(max_size=4),
)


@FUZZ
@given(
    rows=st.lists(st.lists(_cells, min_size=0, max_size=5), max_size=12),
    sep=st.sampled_from([",", ";", "\t", " "]),
    garbage=_garbage,
    raw=st.integers(0, 4),
    label=st.one_of(st.none(), st.integers(-6, 6), st.text(max_size=3)),
    header=st.sampled_from([None, True, False]),
)
def test_csv(
    tried: Counter[str],
    rows: list[list[str]],
    sep: str,
    garbage: bytes,
    raw: int,
    label: Any,
    header: bool | None,
) -> None:
    from tunelab.data import read_csv

    content = garbage if raw == 0 else "\n".join(sep.join(r) for r in rows).encode()
    tried["CSV"] += 1
    path = _file("data.csv", content)
    try:
        read_csv(path, label_column=label, header=header)
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, path, "label_column")


# ------------------------------------------------------------------------------------ NPZ
_dtypes = st.sampled_from(
    ["float32", "float64", "int64", "uint8", "bool", "U3", "complex64", "float16"]
)
_arrays = st.builds(
    lambda shape, dtype, fill: (
        np.full(shape, fill).astype(dtype) if dtype[0] != "U" else np.full(shape, "ab", dtype=dtype)
    ),
    st.lists(st.integers(0, 5), max_size=4).map(tuple),
    _dtypes,
    st.sampled_from([0, 1, 2, np.nan, np.inf, 1e30]),
)
_NPZ_KEYS = ["x", "y", "x_train", "y_train", "x_test", "y_test", "class_names", "other"]


@FUZZ
@given(
    arrays=st.dictionaries(st.sampled_from(_NPZ_KEYS), _arrays, max_size=5),
    cut=st.integers(0, 400),
    truncate=st.booleans(),
    garbage=_garbage,
    raw=st.integers(0, 5),
)
def test_npz(
    tried: Counter[str],
    arrays: dict[str, np.ndarray],
    cut: int,
    truncate: bool,
    garbage: bytes,
    raw: int,
) -> None:
    from tunelab.data import read_npz

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    content = buffer.getvalue()
    if truncate:
        content = content[:cut]
    if raw == 0:
        content = garbage
    tried["NPZ"] += 1
    path = _file("data.npz", content)
    try:
        read_npz(path)
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, path)


# ------------------------------------------------------------------------------------ IDX
@FUZZ
@given(
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]),
    dims=st.lists(st.integers(0, 2**31 - 1) | st.integers(0, 6), max_size=4),
    extra=st.integers(-8, 8),
    zero=st.sampled_from([b"\x00\x00", b"\x01\x00"]),
    garbage=_garbage,
    raw=st.integers(0, 5),
)
def test_idx(
    tried: Counter[str],
    code: int,
    dims: list[int],
    extra: int,
    zero: bytes,
    garbage: bytes,
    raw: int,
) -> None:
    from tunelab.data import read_idx

    header = zero + bytes([code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    size = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(code, 1)
    count = math.prod(dims) if dims else 0
    body = b"\x01" * max(0, min(count * size + extra, 4096))
    content = garbage if raw == 0 else header + body
    tried["IDX"] += 1
    path = _file("images-idx3-ubyte", content)
    try:
        read_idx(path)
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, path)


# ------------------------------------------------------------- arrays given to the fronts
@FUZZ
@given(x=_arrays, y=_arrays, as_dict=st.booleans())
def test_arrays_given_to_the_fronts(
    tried: Counter[str], x: np.ndarray, y: np.ndarray, as_dict: bool
) -> None:
    from tunelab.data import Dataset, load_dataset

    tried["arrays"] += 1
    data: Any = {"train": (x, y)} if as_dict else (x, y)
    try:
        assert isinstance(load_dataset(data, seed=0), Dataset)
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, "data", "x", "y", "label", "train", "input", "target")


# --------------------------------------------------------- run-folder records read on resume
def _records() -> list[tuple[str, type, dict[str, Any]]]:
    from tunelab.runs import (
        Decisions,
        Evidence,
        FinalResult,
        GuideSettings,
        RangeTests,
        RunSummary,
        Timing,
    )

    kinds = [Decisions, Evidence, FinalResult, GuideSettings, RangeTests, RunSummary, Timing]
    out = []
    for kind in kinds:
        try:
            example = kind().model_dump(mode="json")
        except Exception:  # noqa: BLE001 - a record with required fields: start from {}
            example = {}
        out.append((kind.__name__, kind, example))
    return out


@FUZZ
@given(
    which=st.integers(0, 50),
    key=st.sampled_from(["version", "steps", "seconds", "value", "test", "x", "trials", "tuning"]),
    value=_values,
    cut=st.integers(0, 300),
    truncate=st.booleans(),
    garbage=_garbage,
    raw=st.integers(0, 6),
)
def test_run_folder_records(
    tried: Counter[str],
    which: int,
    key: str,
    value: Any,
    cut: int,
    truncate: bool,
    garbage: bytes,
    raw: int,
) -> None:
    from tunelab.runs import read_record

    name, kind, example = _records()[which % 7]
    tree = dict(example)
    tree[key] = value
    content = json.dumps(tree, allow_nan=True).encode()
    if truncate:
        content = content[:cut]
    if raw == 0:
        content = garbage
    tried["run-folder record"] += 1
    path = _file(f"{name}.json", content)
    try:
        read_record(path, kind)
    except Exception as exc:  # noqa: BLE001
        _names_it(exc, path)
    assert path.read_bytes() == content  # a reader never rewrites or removes what it read


@pytest.mark.parametrize("kind_name", ["Decisions", "FinalResult", "GuideSettings"])
def test_another_version_is_refused_by_name(tmp_path: Path, kind_name: str) -> None:
    from tunelab.errors import ConfigError
    from tunelab.runs import read_record

    name, kind, example = next(r for r in _records() if r[0] == kind_name)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({**example, "version": 999}))
    with pytest.raises(ConfigError, match=r"version 999.*this tunelab reads version"):
        read_record(path, kind)
