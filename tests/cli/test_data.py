"""`tunelab data list / info / show` through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tunelab.cli import main

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    # Nothing found by accident, nothing downloaded.
    monkeypatch.setenv("TUNELAB_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("TUNELAB_DATA", raising=False)
    return CliRunner()


def test_list(runner: CliRunner) -> None:
    result = runner.invoke(main, ["data", "list"])
    assert result.exit_code == 0, result.output
    for name in ("digits", "iris", "breast-cancer", "diabetes", "mnist", "fashion-mnist"):
        assert name in result.output
    rows = json.loads(runner.invoke(main, ["data", "list", "--json"]).output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["diabetes"]["task"] == "regression"
    assert by_name["iris"]["available"] == "scikit-learn"


def test_info_digits(runner: CliRunner) -> None:
    result = runner.invoke(main, ["data", "info", "digits"])
    assert result.exit_code == 0, result.output
    assert "1797 samples, each 8x8, float64, values 0..16" in result.output
    assert "10 classes" in result.output and "from scikit-learn" in result.output


@pytest.mark.skipif(not FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_info_fashion_mnist_reports_the_issue_figures(runner: CliRunner,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNELAB_SYSTEM_DATA", str(FASHION.parent))
    result = runner.invoke(main, ["data", "info", "fashion-mnist"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "train  60000 samples, each 28x28, uint8, values 0..255" in out
    assert "test   10000 samples, each 28x28" in out
    assert "10 classes" in out and "Ankle boot" in out and str(FASHION) in out


def test_info_own_csv_with_options(runner: CliRunner, tmp_path: Path) -> None:
    csv = tmp_path / "flowers.csv"
    csv.write_text("kind,a,b\n" + "".join(f"{'xy'[i % 2]},{i},{i * 2}\n" for i in range(20)))
    result = runner.invoke(main, ["data", "info", str(csv), "--label-column", "kind", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["task"] == "binary" and info["feature_names"] == ["a", "b"]
    assert [c["name"] for c in info["classes"]] == ["x", "y"]


def test_show_writes_a_png(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "iris.png"
    result = runner.invoke(main, ["data", "show", "iris", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "tabular data: drew the samples per class" in result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_show_own_npz_images(runner: CliRunner, tmp_path: Path) -> None:
    npz = tmp_path / "imgs.npz"
    np.savez(npz, x_train=np.zeros((6, 5, 5), np.uint8), y_train=np.array([0, 1, 2, 0, 1, 2]))
    out = tmp_path / "imgs.png"
    result = runner.invoke(main, ["data", "show", str(npz), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "one sample of each of the 3 classes" in result.output and out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data", "info", "cifar10"], "Error: unknown dataset 'cifar10'"),
        (["data", "info", "mnist"], "Error: mnist not found. Looked in: "),
        (["data", "show", "iris", "--out", "x.bmpx"], "Error: x.bmpx: cannot tell the image type"),
    ],
)
def test_bad_input_exits_2_with_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path, args: list[str], expected: str) -> None:
    monkeypatch.setenv("TUNELAB_SYSTEM_DATA", str(tmp_path / "system"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_show_defaults_to_name_png_here(runner: CliRunner, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["data", "show", "digits"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("wrote digits.png")
    assert (tmp_path / "digits.png").read_bytes()[:4] == b"\x89PNG"
