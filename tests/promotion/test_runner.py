"""The run log a researcher sees, the papermill script, a refused policy (fast, no Docker)."""

from __future__ import annotations

from hdss_common.errors import PolicyViolation
from hdss_hub.promotion import runner
from hdss_hub.promotion.runner import RunSpec, papermill_script, progress_only

LOG = """== papermill study/a.ipynb
Input Notebook:  /home/jovyan/promotions/1/code/study/a.ipynb
Executing notebook with kernel: python3
Executing Cell 1---------------------------------------
   pnr  koen
0  R92CW9282A  1
Ending Cell 1------------------------------------------
Exception encountered at "In [4]":
RuntimeError                              Traceback (most recent call last)
RuntimeError: leaky R92CW9282A
"""


def test_researchers_see_progress_and_error_types_but_no_data():
    shown = progress_only(LOG)
    assert "R92CW9282A" not in shown and "koen" not in shown
    assert "== papermill study/a.ipynb" in shown
    assert "Executing Cell 1" in shown and "Ending Cell 1" in shown
    assert "RuntimeError (message withheld" in shown
    assert 'Exception encountered at "In [4]":' in shown


def test_script_runs_each_notebook_with_the_restricted_root_and_outbox():
    spec = RunSpec(
        name="x",
        image_id="sha256:1",
        binds={},
        notebooks=["a.ipynb", "study/b.ipynb"],
        data_root="/data/restricted/dk",
        timeout_seconds=10,
    )
    script = papermill_script(spec)
    assert script.startswith("set -e")
    assert "-p data_root '/data/restricted/dk'" in script
    assert "'/opt/promotion/outbox/study__b.ipynb'" in script
    assert "--cwd '/opt/promotion/code/study'" in script


class NoEngine:
    """A Docker client on which nothing may be created."""

    @property
    def containers(self):
        raise AssertionError("no container may be created when the policy refuses")


def test_a_policy_violation_fails_the_run_with_its_message_and_starts_nothing(monkeypatch):
    def refuse(extra, pids_limit):
        raise PolicyViolation("Refusing to start: host config 'privileged' breaks the policy.")

    monkeypatch.setattr(runner, "hardened_host_config", refuse)
    spec = RunSpec(
        name="x",
        image_id="sha256:1",
        binds={},
        notebooks=["a.ipynb"],
        data_root="/d",
        timeout_seconds=10,
    )
    result = runner.run(NoEngine(), spec, [])
    assert (result.outcome, result.exit_code, result.outputs) == ("failed", None, [])
    assert "could not start" in result.log and "breaks the policy" in result.log
