"""The run log a researcher sees, the papermill commands, a refused policy (fast, no Docker)."""

from __future__ import annotations

import re

from hdss_common.errors import PolicyViolation
from hdss_hub.promotion import runner
from hdss_hub.promotion.runner import EVENTS, Live, RunSpec, papermill_command

LEAK = "R92CW9282A"
# What a notebook can put into the output of its exec: papermill's own lines, data, and
# lines made to look like the runner's progress.
PRINTED = f"""== papermill study/a.ipynb
Executing Cell 1---------------------------------------
   pnr  koen
0  {LEAK}  1
== {LEAK},1,2
Ending Cell 1------------------------------------------
RuntimeError: leaky {LEAK}
"""


class Printed:
    def text(self) -> str:
        return PRINTED

    def close(self) -> None:
        pass


def test_researchers_read_the_runners_events_never_what_a_notebook_printed():
    live = Live(clock=lambda: 0.0)
    live.event("started", count=1, dataset="dk")
    live.event("notebook", index=1, count=1, path="study/a.ipynb")
    live.follow(Printed())
    live.event("notebook-failed", index=1, count=1, path="study/a.ipynb")
    shown = live.researcher_log()
    assert LEAK not in shown and "koen" not in shown and "Executing" not in shown
    assert shown.splitlines() == [
        "00:00:00 run started: 1 notebook(s) on dk",
        "00:00:00 notebook 1 of 1 (study/a.ipynb): running",
        "00:00:00 " + EVENTS["notebook-failed"].format(index=1, count=1, path="study/a.ipynb"),
    ]
    full = live.full_log()  # a data steward's: the events, then everything printed
    assert full.startswith(shown) and LEAK in full and runner.FULL_LOG in full


def test_every_event_is_one_of_the_fixed_set():
    templates = [re.escape(t).replace(r"\{", "{").replace(r"\}", "}") for t in EVENTS.values()]
    patterns = [re.compile(re.sub(r"\{\w+\}", ".*", t)) for t in templates]
    live = Live(clock=lambda: 0.0)
    for kind in EVENTS:
        live.event(kind, count=2, dataset="dk", index=1, path="a.ipynb", reason="r", passed=1,
                   flagged=0, blocked=1)  # fmt: skip
    for line in live.researcher_log().splitlines():
        assert any(p.fullmatch(line[9:]) for p in patterns), line


def test_each_notebook_runs_as_its_own_command_with_the_restricted_root_and_outbox():
    spec = RunSpec(
        name="x",
        image_id="sha256:1",
        binds={},
        notebooks=["a.ipynb", "study/b.ipynb"],
        data_root="/data/restricted/dk",
        timeout_seconds=10,
    )
    command = papermill_command(spec, "study/b.ipynb")
    assert command[:3] == ["/opt/venv/bin/python", "-m", "papermill"]
    assert command[-6:] == [
        "-p", "data_root", "/data/restricted/dk", "-p", "output_dir", "/opt/promotion/outbox"
    ]  # fmt: skip
    assert "/opt/promotion/outbox/study__b.ipynb" in command
    assert command[command.index("--cwd") + 1] == "/opt/promotion/code/study"


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
    assert "could not start" in result.events and "breaks the policy" not in result.events
