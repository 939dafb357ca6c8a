"""The live-event spike, reduced to CI size, with faults: the invariants of bench/spike.py must hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import database_kind

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(database_kind() != "postgresql", reason="runs in the PostgreSQL pass of make test"),
]


def test_reduced_spike_with_faults_keeps_every_invariant(tmp_path):
    run = subprocess.run(
        [sys.executable, "bench/spike.py", "--tickets", "300", "--minutes", "0.5", "--requesters", "60",
         "--sla-minutes", "2", "--faults", "--fault-seconds", "15", "--timeout", "600"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={"PATH": "/usr/bin:/bin", "DESKMATE_BENCH_LOGS": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report
    assert report["invariants_ok"] is True
    assert report["tickets"] == 300
    assert report["requesters_told"] == 60
    assert report["kills"], "the faults run killed no process"
