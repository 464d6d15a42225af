"""Bounded promotion runs without Docker: the limits travel from the settings to the run's
container, a run over one fails naming its setting, and nothing of it is kept.

The same limits against the real engine are in test_airlock_docker.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from hdss_hub.promotion import runner, service
from hdss_hub.promotion.core import AirlockConfig
from hdss_hub.promotion.hubconfig import promotion_services
from hdss_hub.promotion.runner import (
    CODE_DIR,
    OUTBOX_DIR,
    SCRATCH,
    RunSpec,
    container_config,
    limit_message,
    limits_problem,
    parse_size,
)
from hdss_hub.promotion.workspace import File, TooLarge
from hdss_hub.settings import SettingsError, load_settings
from hdss_hub.webservice import ConfigError

LIMITS = "promotion:\n  run_limits: {seconds: 60, memory: 512M, cpus: 0.5, disk: 64M, output: 8M}\n"
MiB = 1024 * 1024


def load(tmp_path, text: str) -> dict:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    settings = load_settings(path, tmp_path)
    settings["data"]["restricted_root"] = str(tmp_path / "r")
    return settings


def command(settings: dict) -> list[str]:
    (svc,) = promotion_services(settings)
    return svc["command"]


def spec(**limits) -> RunSpec:
    values = dict(timeout_seconds=60, mem_limit="512M", cpus=0.5, disk_limit="64M")
    values.update(limits)
    return RunSpec(
        name="hdss-promote-7",
        image_id="sha256:abc",
        binds={"/srv/restricted/dk": "/data/restricted/dk"},
        notebooks=["study/a.ipynb"],
        data_root="/data/restricted/dk",
        **values,
    )


# -- settings -> hub configuration -> service -> airlock ----------------------------------


def test_the_defaults_bound_every_run():
    settings = load_settings(None, Path("."))
    assert settings["promotion"]["run_limits"] == {
        "seconds": 1800,
        "memory": "2G",
        "cpus": 1.0,
        "disk": "1G",
        "output": "100M",
    }
    assert {"--disk-limit=1G", "--output-limit=100M", "--mem-limit=2G"} <= set(command(settings))


def test_settings_reach_the_service_command_and_the_airlock(tmp_path, monkeypatch):
    args = command(load(tmp_path, LIMITS))
    for flag in (
        "--timeout-seconds=60",
        "--mem-limit=512M",
        "--cpus=0.5",
        "--disk-limit=64M",
        "--output-limit=8M",
    ):
        assert flag in args
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8092")
    monkeypatch.setattr(service.docker, "from_env", lambda **_: None)
    app = service.PromotionService()
    app.initialize(
        [*args[args.index("hdss_hub.promotion.service") + 1 :], f"--db-url=sqlite:///{tmp_path}/h"]
    )
    ctx, _, _ = app.build()
    cfg = ctx.airlock.cfg
    assert (cfg.timeout_seconds, cfg.mem_limit, cpus := cfg.cpus) == (60, "512M", 0.5), cpus
    assert (cfg.disk_limit, cfg.output_limit) == ("64M", "8M")
    # ... and the airlock hands them to the runner.
    req = SimpleNamespace(id=7, image_id="sha256:abc", notebooks=["a.ipynb"])
    entry = SimpleNamespace(path=Path("/srv/r/dk"), mount_path="/data/restricted/dk")
    run = ctx.airlock.run_spec(req, entry)
    assert (run.timeout_seconds, run.mem_limit, run.cpus) == (60, "512M", 0.5)
    assert (run.disk_limit, run.output_limit) == ("64M", "8M")
    ctx.airlock.engine.dispose()


def test_only_part_of_the_limits_may_be_given(tmp_path):
    args = command(load(tmp_path, "promotion:\n  run_limits: {disk: 256M}\n"))
    assert "--disk-limit=256M" in args and "--mem-limit=2G" in args
    assert "--timeout-seconds=1800" in args


@pytest.mark.parametrize(
    "text, named",
    [
        ("promotion:\n  timeout_seconds: 60\n", "promotion.timeout_seconds"),
        ("promotion:\n  run_limits: {dsk: 1G}\n", "promotion.run_limits.dsk"),
        ("promotion:\n  run_limits: {disk: 1 GB}\n", "promotion.run_limits.disk"),
        ("promotion:\n  run_limits: {memory: 0}\n", "promotion.run_limits.memory"),
        ("promotion:\n  run_limits: {seconds: 0}\n", "promotion.run_limits.seconds"),
        ("promotion:\n  run_limits: {cpus: 0}\n", "promotion.run_limits.cpus"),
    ],
)
def test_bad_limits_are_refused_naming_the_key(tmp_path, text, named):
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")):
        load(tmp_path, text)


def test_a_disk_as_large_as_memory_stops_the_hub_naming_both(tmp_path):
    settings = load(tmp_path, "promotion:\n  run_limits: {memory: 1G, disk: 1G}\n")
    with pytest.raises(SettingsError) as e:
        promotion_services(settings)
    assert "promotion.run_limits.disk (1G)" in str(e.value)
    assert "promotion.run_limits.memory (1G)" in str(e.value)


def test_the_service_refuses_unusable_limits_given_on_its_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8092")
    app = service.PromotionService()
    app.initialize(
        [
            f"--db-url=sqlite:///{tmp_path}/h",
            "--restricted-root=/r",
            "--disk-limit=lots",
        ]
    )
    with pytest.raises(ConfigError, match=r"promotion\.run_limits\.disk: 'lots' is not a size"):
        app.build()


def test_sizes_and_limit_checks():
    assert parse_size("512M") == 512 * MiB and parse_size("2g") == 2 * 1024 * MiB
    assert parse_size("4096") == 4096 and parse_size("1T") == 1024**4
    for bad in ("", "0", "1.5G", "1 GB", "-1M", "G"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert limits_problem("2G", 1.0, "1G", "100M") is None
    assert "promotion.run_limits.memory must be at least 6M" in limits_problem("1M", 1, "1", "1")
    assert "promotion.run_limits.output" in limits_problem("2G", 1, "1G", "x")
    assert "promotion.run_limits.cpus" in limits_problem("2G", 0, "1G", "1M")


# -- the run's container ------------------------------------------------------------------


def test_the_container_is_bounded_and_writes_only_to_its_tmpfs_mounts():
    cfg = container_config(spec(), [File("study/a.ipynb", b"{}"), File("study/h.py", b"x")])
    assert cfg["read_only"] is True
    assert cfg["mem_limit"] == cfg["memswap_limit"] == 512 * MiB  # no swap past memory
    assert cfg["nano_cpus"] == 500_000_000
    assert cfg["network_mode"] == "none" and cfg["user"] == "1000:100"
    assert cfg["cap_drop"] == ["ALL"] and "no-new-privileges:true" in cfg["security_opt"]
    assert cfg["volumes"] == {
        "/srv/restricted/dk": {"bind": "/data/restricted/dk", "mode": "ro"}
    }  # the only volume, read-only: every writable place is a tmpfs below
    tmpfs = {path: dict(o.partition("=")[::2] for o in opts.split(",")) for path, opts in
             cfg["tmpfs"].items()}  # fmt: skip
    assert set(tmpfs) == {CODE_DIR, OUTBOX_DIR, SCRATCH}
    for path in (OUTBOX_DIR, SCRATCH):
        assert tmpfs[path]["size"] == str(64 * MiB)
        assert tmpfs[path]["uid"] == "1000" and "nr_inodes" in tmpfs[path]
        assert {"nosuid", "nodev"} <= set(tmpfs[path])
    assert tmpfs[CODE_DIR]["uid"] == "0" and "noexec" in tmpfs[CODE_DIR]
    assert int(tmpfs[CODE_DIR]["size"]) == MiB  # sized to the code, at least 1 MiB
    assert cfg["shm_size"] == 64 * MiB  # /dev/shm: at most 64 MiB, at most the disk limit
    assert container_config(spec(disk_limit="16M"), [])["shm_size"] == 16 * MiB
    assert cfg["environment"]["HOME"] == SCRATCH == cfg["working_dir"]
    assert cfg["environment"]["TMPDIR"] == SCRATCH


def test_the_main_process_outlives_the_deadline_by_a_bounded_grace():
    command = runner.main_command(spec(timeout_seconds=60))
    assert command[:2] == ["sh", "-c"] and f"-lt {60 + runner.GRACE_SECONDS}" in command[2]


def test_the_code_goes_in_root_owned_and_read_only():
    import io
    import tarfile

    data = runner.code_archive([File("study/a.ipynb", b"{}"), File("b.py", b"x")])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar}
    assert set(members) == {"study", "study/a.ipynb", "b.py"}
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert members["study/a.ipynb"].mode == 0o444


@pytest.mark.parametrize(
    "limit, words",
    [
        ("seconds", ["promotion.run_limits.seconds = 60", "time limit"]),
        ("memory", ["promotion.run_limits.memory = 512M", "memory"]),
        ("disk", ["promotion.run_limits.disk = 64M", "its outbox"]),
        ("output", ["promotion.run_limits.output = 100M"]),
    ],
)
def test_each_limit_message_names_its_setting_and_value(limit, words):
    message = limit_message(spec(), limit, "its outbox")
    assert all(w in message for w in words) and "nothing of it is released" in message


# -- a run over a limit, with the engine faked ---------------------------------------------


class FakeContainer:
    def __init__(self, oom: bool = False) -> None:
        self.attrs = {"State": {"OOMKilled": False}}
        self.oom, self.calls = oom, []

    def start(self):
        self.calls.append("start")

    def exec_run(self, cmd, user=None):
        self.calls.append(" ".join(cmd))
        return SimpleNamespace(exit_code=0, output=b"")

    def kill(self):
        self.calls.append("kill")

    def wait(self, timeout=None):
        return {"StatusCode": 137}

    def reload(self):
        self.attrs["State"]["OOMKilled"] = self.oom

    def remove(self, force=False):
        self.calls.append("remove")


class FakeOutput:
    def __init__(self, text: str) -> None:
        self._text = text

    def text(self) -> str:
        return self._text

    def close(self) -> None:
        pass


@pytest.fixture
def engine(monkeypatch):
    """A fake engine; set ``state`` to shape the run (exit code, full places, outbox)."""
    state = SimpleNamespace(
        container=FakeContainer(),
        exit_code=0,
        log="== papermill a.ipynb\n",
        full=[],
        outbox=[File("t.csv", b"a,n\nx,100\n")],
        copied=False,
        config=None,
    )

    def create(**config):
        state.config = config
        return state.container

    def copy_out(container, spec, problems):
        state.copied = True
        if isinstance(state.outbox, Exception):
            raise state.outbox
        return state.outbox

    monkeypatch.setattr(runner, "copy_in", lambda container, code: None)

    def run_notebooks(container, spec, live):
        live.follow(FakeOutput(state.log))
        return state.exit_code

    monkeypatch.setattr(runner, "run_notebooks", run_notebooks)
    monkeypatch.setattr(runner, "full_places", lambda container: state.full)
    monkeypatch.setattr(runner, "copy_out", copy_out)
    state.client = SimpleNamespace(containers=SimpleNamespace(create=create))
    return state


def run(engine):
    return runner.run(engine.client, spec(), [File("a.ipynb", b"{}")])


def test_positive_control_a_run_within_its_limits_keeps_its_outbox(engine):
    result = run(engine)
    assert (result.outcome, result.limit, result.reason) == ("succeeded", None, "")
    assert [f.path for f in result.outputs] == ["t.csv"]
    assert engine.config["read_only"] is True
    assert "sh -c kill -9 -1" in engine.container.calls  # leftovers end before the outbox is read
    assert engine.container.calls[-1] == "remove"


def test_a_run_past_its_deadline_is_timed_out_naming_seconds(engine):
    engine.exit_code = None
    result = run(engine)
    assert (result.outcome, result.limit) == ("timed-out", "seconds")
    assert "promotion.run_limits.seconds = 60" in result.reason
    assert result.outputs == [] and not engine.copied
    assert result.log.endswith(f"== stopped: {result.reason}\n")
    # The researcher's log is the runner's events, which name the limit too.
    assert "stopped: " in result.events and "promotion.run_limits.seconds" in result.events


def test_an_oom_kill_fails_the_run_naming_memory_and_drops_the_outbox(engine):
    engine.container = FakeContainer(oom=True)
    result = run(engine)  # the notebook even exited 0: the limit was still exceeded
    assert (result.outcome, result.limit) == ("failed", "memory")
    assert "promotion.run_limits.memory = 512M" in result.reason
    assert result.outputs == [] and result.problems == []


@pytest.mark.parametrize(
    "exit_code, full, log",
    [
        (1, ["its outbox"], "OSError: [Errno 28] No space left on device"),
        (0, ["its scratch space /tmp"], ""),  # caught in the notebook: still full
        (1, [], "OSError: [Errno 28] No space left on device"),  # freed again after
    ],
)
def test_a_full_outbox_or_scratch_fails_naming_disk_and_nothing_is_read(
    engine, exit_code, full, log
):
    engine.exit_code, engine.full, engine.log = exit_code, full, log
    result = run(engine)
    assert (result.outcome, result.limit) == ("failed", "disk")
    assert "promotion.run_limits.disk = 64M" in result.reason
    assert all(place in result.reason for place in full)
    assert result.outputs == [] and not engine.copied


def test_an_outbox_over_the_output_bound_fails_naming_output(engine):
    engine.outbox = TooLarge("the folder holds more than 104,857,600 bytes")
    result = run(engine)
    assert (result.outcome, result.limit) == ("failed", "output")
    assert "promotion.run_limits.output = 100M" in result.reason
    assert result.outputs == []


def test_an_ordinary_failure_keeps_its_partial_outbox_for_debugging(engine):
    engine.exit_code, engine.log = 1, "RuntimeError: the analysis broke"
    result = run(engine)
    assert (result.outcome, result.limit) == ("failed", None)
    assert [f.path for f in result.outputs] == ["t.csv"]


def test_unusable_limits_start_nothing():
    class NoEngine:
        @property
        def containers(self):
            raise AssertionError("nothing may be created")

    result = runner.run(NoEngine(), spec(disk_limit="much"), [])
    assert result.outcome == "failed" and "could not start" in result.log


def test_the_airlock_config_defaults_match_the_settings_defaults():
    limits = load_settings(None, Path("."))["promotion"]["run_limits"]
    cfg = AirlockConfig()
    assert (cfg.timeout_seconds, cfg.mem_limit, cfg.cpus) == (
        limits["seconds"],
        limits["memory"],
        limits["cpus"],
    )
    assert (cfg.disk_limit, cfg.output_limit) == (limits["disk"], limits["output"])
