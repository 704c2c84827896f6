"""Every benchmark notes the machine's load under its table (`bench.machine`)."""

from __future__ import annotations

import os
import re

import pytest

from bench import machine


def test_the_load_line_follows_what_the_benchmark_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with machine.noted():
        print("the benchmark's table")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "the benchmark's table"
    assert re.fullmatch(
        rf"machine: {os.cpu_count()} cores; load average \(1 minute\) \d+\.\d\d at the start, "
        r"\d+\.\d\d at the end",
        printed[1],
    ), printed[1]
