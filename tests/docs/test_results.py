"""docs/results.md is generated from bench/results/*.json, and other docs quote no machine."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_results", ROOT / "docs" / "gen_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_results_page_is_what_the_generator_writes() -> None:
    page = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert page == _generator().render(), (
        "docs/results.md is out of date: run python docs/gen_results.py")


def test_every_results_file_has_a_section_with_its_machine_and_date() -> None:
    page = _generator().render()
    for path in sorted((ROOT / "bench" / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        head = re.search(rf"## {re.escape(path.stem)}\n\n`bench/results/{re.escape(path.name)}`"
                         r" · machine: (.*) · date: (.*)\n", page)
        assert head is not None, path.name
        if isinstance(data, dict) and data.get("date"):
            assert head.group(2) == data["date"]
        elif isinstance(data, dict) and isinstance(data.get("machine"), dict) \
                and data["machine"].get("date"):
            assert head.group(2) == data["machine"]["date"], path.name
        if isinstance(data, dict) and isinstance(data.get("machine"), dict):
            assert head.group(1) != "not recorded"


def test_the_evidence_table_shows_both_rules_with_their_intervals() -> None:
    gen = _generator()
    data = {"benchmark": "evidence", "alpha": 0.05, "what": "w", "cells": {"aa-digits-quick": {
        "summary": {"runs": 40, "new_credited": 1, "new_rate": 0.025, "new_ci95": [0.0006, 0.13],
                    "one_look_credited": 2, "one_look_rate": 0.05, "one_look_ci95": [0.006, 0.17],
                    "old_credited": 7, "old_rate": 0.175, "old_ci95": [0.07, 0.33],
                    "second_looks": 9, "mean_effect": 0.0001, "median_seconds": 12.0}}}}
    row = next(line for line in gen._evidence(data) if line.startswith("| aa-digits-quick"))
    assert row == ("| aa-digits-quick | 40 | 1 (0.025) | [0.0006, 0.13] | 2 (0.05) |"
                   " [0.006, 0.17] | 7 (0.175) | [0.07, 0.33] | 9 | 0.0001 | 12 |")


def test_the_docs_speak_of_the_tool_not_of_a_machine() -> None:
    words = re.compile(r"this machine|2-core|two-core|on 2 cores|two cores", re.I)
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if words.search(line):
                found.append(f"{path.name}:{i}: {line.strip()}")
    assert not found, "\n".join(found)
