"""SIGKILL at random points of every stage never leaves a broken file; a rerun completes.

A seeded random delay after the stage has planned (its rows are pending) picks the
moment. The CI runs two kills per stage; ``pytest -m slow`` runs twenty per stage.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time

import pytest

from tests.support.processes import assert_consistent, cli, kill_group, ledger_states, wait_for

STAGES = ("probe", "estimate", "aggregate", "normalize", "heatmaps")
WINDOW_S = {"probe": 1.5, "estimate": 8.0, "aggregate": 0.4, "normalize": 0.4, "heatmaps": 0.6}
"""How long each stage takes on the three clips (the kill lands somewhere inside)."""


def _kill_once(m, template_out, tmp, stage: str, delay: float, workers: int) -> None:
    out = tmp / f"out-{stage}-{delay:.3f}-{workers}"
    shutil.copytree(template_out, out)
    cmd = cli(stage, "default", "-m", str(m), "-o", str(out), "--force", "--no-progress",
              "-j", str(workers))
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: proc.poll() is not None
                 or "pending" in ledger_states(out, stage).values(), what="planning")
        time.sleep(delay)
    finally:
        kill_group(proc)
        proc.wait(timeout=60)
    assert_consistent(out)  # nothing broken under a final name, ledger rows valid
    r = subprocess.run(cli(stage, "default", "-m", str(m), "-o", str(out), "--no-progress"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert set(assert_consistent(out)[stage].values()) == {"committed"}
    assert not [p for p in out.rglob(".*") if ".tmp-" in p.name]
    shutil.rmtree(out)


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_during_a_stage_then_rerun(template, tmp_path, stage):
    m, out = template
    rng = random.Random(f"kill-{stage}")
    for _ in range(2):
        _kill_once(m, out, tmp_path, stage, rng.uniform(0, WINDOW_S[stage]), workers=1)


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_at_twenty_points_per_stage(template, tmp_path, stage):
    m, out = template
    rng = random.Random(f"kill-slow-{stage}")
    for i in range(20):
        _kill_once(m, out, tmp_path, stage, rng.uniform(0, WINDOW_S[stage]),
                   workers=2 if i % 2 else 1)
