"""Packages that are also the fronts of their commands."""

from __future__ import annotations

import subprocess
import sys


def test_guide_and_report_stay_packages_whatever_is_imported_first() -> None:
    code = ("import tunelab\n"
            "from tunelab.guide import run_guide\n"
            "import tunelab.report as r\n"
            "assert callable(tunelab.guide) and callable(tunelab.report)\n"
            "assert tunelab.guide.run_guide is run_guide and r.write_report\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=180, check=True).stdout
    assert out.strip() == "ok"
