"""`tunelab landscape`: list, show, minimize, race and model, as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunelab
from tunelab.cli import main
from tunelab.runs import LossLandscape, RunLayout, read_record


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["landscape", *args])
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_every_function() -> None:
    code, out, _ = _run("list")
    assert code == 0
    for name in ("beale", "eggholder", "hoelder-table", "styblinski-tang", "bukin-n6"):
        assert name in out
    assert "-959.6407" in out and "[-512, 512]^2" in out


def test_show_describes_and_draws(tmp_path: Path) -> None:
    target = tmp_path / "beale.png"
    code, out, _ = _run("show", "beale", "--out", str(target))
    assert code == 0
    assert "global minimum at (3, 0.5)" in out and "f* = 0" in out
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_minimize_beale_from_4_4_within_bounds() -> None:
    code, out, _ = _run("minimize", "beale", "--x0", "4,4", "--bounded")
    assert code == 0
    x = re.search(r"│ x\s+│ \(([-\d.e]+), ([-\d.e]+)\)", out)
    f = re.search(r"│ f\(x\)\s+│ ([-\d.e+]+)", out)
    assert x and f, out
    assert abs(float(x.group(1)) - 3.0) < 1e-4 and abs(float(x.group(2)) - 0.5) < 1e-4
    assert float(f.group(1)) < 1e-10
    assert re.search(r"│ iterations\s+│ \d+", out) and re.search(r"│ evaluations\s+│ \d+", out)
    assert re.search(r"│ success\s+│ True", out)


def test_bad_input_exits_2_with_one_line() -> None:
    cases = [
        (("minimize", "bael", "--x0", "4,4"), "Error: unknown function 'bael'; choose one of:"),
        (("minimize", "beale", "--x0", "4,4,4"), "Error: x0 has 3 coordinate(s) but Beale takes"),
        (("minimize", "beale", "--x0", "4,x"), "Error: --x0 must be comma-separated numbers"),
        (("minimize", "beale", "--x0", "4,4", "--method", "BFGS", "--bounded"),
         "Error: method BFGS does not accept bounds"),
        (("race", "--optimizers", "adam,adamx"), "Error: unknown optimizer 'adamx'; choose from:"),
        (("race", "--functions", "nope"), "Error: unknown function 'nope'"),
        (("race", "--suite", "bbob", "--dims", "2,x"),
         "Error: --dims must be comma-separated integers"),
    ]
    for args, message in cases:
        code, out, err = _run(*args)
        assert code == 2, (args, out, err)
        assert err.startswith(message), (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_race_prints_tables_and_writes_files(tmp_path: Path) -> None:
    out_dir = tmp_path / "race"
    code, out, err = _run("race", "--functions", "beale,booth", "--optimizers",
                          "sgd,adam", "--optimizers", "L-BFGS-B,random", "--starts", "3",
                          "--budget", "100", "--seed", "0", "--out", str(out_dir))
    assert code == 0, err
    assert "ok 1e-8" in out and "aRT 1e-8" in out and "L-BFGS-B" in out
    assert "per optimizer over all functions" in out
    assert re.search(r"race took [\d.]+ s \(gradient family: compile", out)
    data = json.loads((out_dir / "race.json").read_text())
    assert data["settings"]["optimizers"] == ["SGD", "Adam", "L-BFGS-B", "random"]
    assert data["settings"]["functions"] == ["beale", "booth"]
    assert (out_dir / "ecdf.png").exists() and (out_dir / "contour-booth-d2.png").exists()
    assert (out_dir / "race.csv").read_text().startswith("function,dim,optimizer,family,lr")


@pytest.mark.slow
def test_race_with_every_optimizer_on_every_function(tmp_path: Path) -> None:
    code, out, err = _run("race", "--starts", "1", "--budget", "15", "--seed", "1", "--out",
                          str(tmp_path))
    assert code == 0, err
    rows = (tmp_path / "race.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 20 * 19
    assert len(list(tmp_path.glob("contour-*.png"))) == 20
    assert "styblinski-tang" in out and "cma-es" in out


def test_model_draws_two_runs_on_one_figure(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    tunelab.fit(epochs=2, batch_size=8, out=a, progress=False)
    tunelab.fit(epochs=2, batch_size=256, out=b, progress=False)
    out = CliRunner().invoke(main, ["landscape", "model", str(a), "--compare", str(b),
                                    "--points", "5", "--samples", "300"])
    assert out.exit_code == 0, out.output
    assert "loss at the weights" in out.output
    for folder in (a, b):
        record = read_record(RunLayout(folder).landscape_json, LossLandscape)
        assert record is not None and record.model == "model.keras"
    assert (a / "landscape-compare.png").is_file()
    bad = CliRunner().invoke(main, ["landscape", "model", str(a), "--trial", "1"])
    assert bad.exit_code == 2 and "--trial applies to a tune run folder" in bad.output
