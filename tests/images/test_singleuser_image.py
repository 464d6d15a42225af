"""The built single-user image, run for real on the Docker engine."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from importlib.metadata import version

import pytest
import requests
from hdss_harness.wait import wait_until

from tests.conftest import require
from tests.images.conftest import BUILD_PY, docker

pytestmark = pytest.mark.docker
READY_DEADLINE = 180  # seconds; polled, never asserted as a timing


def test_image_metadata_runs_tini_start_script_and_singleuser_as_uid_1000(image):
    config = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "1000"
    assert config["WorkingDir"] == "/home/jovyan"
    assert config["Entrypoint"][0] == "/usr/bin/tini"
    assert config["Entrypoint"][-1] == "/usr/local/bin/hdss-start"
    assert config["Cmd"] == ["jupyterhub-singleuser"]


def test_runs_as_uid_1000_with_a_home_it_owns(run):
    out = run("sh", "-c", 'id -u; id -g; echo "$HOME"; stat -c %u ~; touch ~/x && echo ok')
    assert out.stdout.split() == ["1000", "100", "/home/jovyan", "1000", "ok"]


def test_singleuser_matches_the_hub_version(run):
    out = run("jupyterhub-singleuser", "--version").stdout.strip()
    assert out == version("jupyterhub") == "6.1.1"


def test_data_science_stack_imports_and_works(run):
    code = (
        "import duckdb, polars as pl, pandas as pd, pyarrow, matplotlib, papermill, lifelines\n"
        "matplotlib.use('Agg')\n"
        "df = pl.DataFrame({'t': [1.0, 2.0, 3.0, 4.0], 'e': [1, 0, 1, 1]})\n"
        "n = duckdb.sql('select count(*) from df where e = 1').fetchall()[0][0]\n"
        "km = lifelines.KaplanMeierFitter().fit(df['t'].to_pandas(), df['e'].to_pandas())\n"
        "print(n, round(float(km.survival_function_.iloc[-1, 0]), 3))\n"
    )
    assert run("python", "-c", code).stdout.split() == ["3", "0.0"]


def test_venv_is_root_owned_and_precompiled(run):
    script = (
        "stat -c %U /opt/venv/lib/python3.11/site-packages; "
        "test -w /opt/venv/lib/python3.11/site-packages && echo writable || echo readonly; "
        "ls /opt/venv/lib/python3.11/site-packages/jupyter_server/__pycache__ "
        "| grep -c '^serverapp.cpython-311.pyc$'"
    )
    assert run("sh", "-c", script).stdout.split() == ["root", "readonly", "1"]


def test_tuning_keeps_a_consistent_environment(run):
    """rfc3987-syntax is left out and two server extensions are off; pip sees no breakage."""
    out = run("sh", "-c", "pip check; jupyter server extension list 2>&1").stdout
    assert "No broken requirements found." in out
    enabled = {line.split()[0] for line in out.splitlines() if "enabled" in line}
    disabled = {line.split()[0] for line in out.splitlines() if "disabled" in line}
    assert {"jupyterlab", "jupyter_server_terminals", "hdss_secure", "jupyter_resource_usage"} <= (
        enabled
    )
    assert {"jupyter_lsp", "notebook_shim"} <= disabled
    missing = run("python", "-c", "import rfc3987_syntax", check=False)
    assert "No module named 'rfc3987_syntax'" in missing.stderr


def start_lab(image: str, name: str, *run_args: str) -> tuple[str, dict[str, str]]:
    """``jupyter lab`` in the image on a free host port; its URL and auth header, once up.

    ``run_args`` go to ``docker run`` before the image (e.g. ``-e``, ``--memory``)."""
    token = secrets.token_hex(16)
    docker(
        "run",
        "-d",
        "--name",
        name,
        *run_args,
        "-p",
        "127.0.0.1::8888",
        image,
        "jupyter",
        "lab",
        "--ip=0.0.0.0",
        "--port=8888",
        "--no-browser",
        f"--IdentityProvider.token={token}",
    )
    port = docker("port", name, "8888").stdout.split()[0].rsplit(":", 1)[1]
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
    wait_until(
        lambda: requests.get(f"{url}/api/status", headers=headers, timeout=5).ok,
        READY_DEADLINE,
        0.2,
        lambda: f"no server:\n{docker('logs', name).stderr}",
        expect=(requests.ConnectionError,),
    )
    return url, headers


def test_jupyterlab_server_serves_lab_and_a_python_kernel(image, prefix):
    url, headers = start_lab(image, f"{prefix}-lab")
    assert "JupyterLab" in requests.get(f"{url}/lab", headers=headers, timeout=30).text
    specs = requests.get(f"{url}/api/kernelspecs", headers=headers, timeout=30).json()
    assert "python3" in specs["kernelspecs"]
    kernel = requests.post(f"{url}/api/kernels", headers=headers, json={}, timeout=60)
    assert kernel.status_code == 201, kernel.text


def test_students_see_their_own_cpu_and_memory(image, prefix):
    """jupyter-resource-usage answers inside a server: memory in use, the limit, CPU."""
    url, headers = start_lab(
        image, f"{prefix}-usage", "--memory", "512m", "-e", f"MEM_LIMIT={512 * 1024 * 1024}"
    )
    r = requests.get(f"{url}/api/metrics/v1", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    metrics = r.json()
    assert metrics["rss"] > 10 * 1024 * 1024  # the server itself holds tens of MiB
    assert metrics["limits"]["memory"]["rss"] == 512 * 1024 * 1024
    assert "cpu_percent" in metrics  # CPU tracking is on (hdss-quiet.json)
    # Positive control of the auth: without the token the API refuses.
    assert requests.get(f"{url}/api/metrics/v1", timeout=30).status_code == 403
    # JupyterLab's status bar shows it: the lab extension is installed.
    config = page_config(requests.get(f"{url}/lab", headers=headers, timeout=30).text)
    names = [e["name"] for e in config.get("federated_extensions", [])]
    assert "@jupyter-server/resource-usage" in names


def page_config(html: str) -> dict:
    """The ``jupyter-config-data`` JSON JupyterLab's page carries."""
    start = html.index('id="jupyter-config-data"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_nothing_phones_home(image, prefix):
    """No news feed, no update check, no PyPI extension manager; the news question is off."""
    url, headers = start_lab(image, f"{prefix}-quiet")
    config = page_config(requests.get(f"{url}/lab", headers=headers, timeout=30).text)
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"
    assert config["extensionManager"]["can_install"] is False
    # The server side answers without asking anyone: no news, no newer version.
    assert requests.get(f"{url}/lab/api/news", headers=headers, timeout=30).json() == {"news": []}
    update = requests.get(f"{url}/lab/api/update", headers=headers, timeout=30).json()
    assert update == {"notification": None}
    # JupyterLab's own settings: "fetchNews" is "false" (never), not "none" (which asks the
    # student "Would you like to get notified about official Jupyter news?").
    settings = requests.get(
        f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification",
        headers=headers,
        timeout=30,
    ).json()
    defaults = {k: v.get("default") for k, v in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false"
    assert defaults["checkForUpdates"] is False
    # The same config reaches jupyterhub-singleuser, which reads the same config files.
    out = docker(
        "run",
        "--rm",
        "--name",
        f"{prefix}-cfg",
        image,
        "python",
        "-c",
        "from jupyterhub.singleuser import make_singleuser_app\n"
        "from jupyter_server.serverapp import ServerApp\n"
        "app = make_singleuser_app(ServerApp)()\n"
        "app.load_config_file()\n"
        "print(app.config.LabApp.news_url, app.config.LabApp.extension_manager)\n",
    ).stdout.split()
    assert out == ["None", "readonly"]


def test_papermill_runs_a_parameterised_notebook(run):
    script = r"""
import nbformat, papermill
nb = nbformat.v4.new_notebook()
nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
nb.cells = [nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("import duckdb\nprint(duckdb.sql(f'select {n} * 2').fetchall())")]
nbformat.write(nb, "in.ipynb")
out = papermill.execute_notebook("in.ipynb", "out.ipynb", parameters={"n": 21},
                                 kernel_name="python3", progress_bar=False)
print(out.cells[-1].outputs[0]["text"].strip())
"""
    assert run("python", "-c", script).stdout.strip().splitlines()[-1] == "[(42,)]"


def test_start_script_copies_course_without_overwriting(prefix, run, tmp_path):
    course = tmp_path / "course"
    (course / "week1").mkdir(parents=True)
    (course / "01-study-population.ipynb").write_text("original\n")
    (course / "week1" / "data.csv").write_text("a,b\n")
    volume = f"{prefix}-home"
    docker("volume", "create", volume)
    mounts = ("-v", f"{volume}:/home/jovyan", "-v", f"{course}:/opt/hdss/notebooks:ro")

    # A fresh volume gets the image's home (owned by 1000) and then the course.
    first = run(
        "sh", "-c", "stat -c %u ~; ls -A ~; cat ~/course/01-study-population.ipynb", options=mounts
    )
    assert first.stdout.split()[:1] == ["1000"]
    assert ".bashrc" in first.stdout and "course" in first.stdout
    assert first.stdout.split()[-1] == "original"

    run(
        "sh",
        "-c",
        "echo edited > ~/course/01-study-population.ipynb; rm ~/course/week1/data.csv",
        options=mounts,
    )
    (course / "02-diabetes-incidence.ipynb").write_text("new\n")
    (course / "01-study-population.ipynb").write_text("course update\n")

    again = run(
        "sh",
        "-c",
        "cd ~/course && cat 01-study-population.ipynb 02-diabetes-incidence.ipynb week1/data.csv",
        options=mounts,
    )
    assert again.stdout.split() == ["edited", "new", "a,b"]


def test_image_holds_the_repos_course_and_data_helper(image, run, repo):
    """The image must be current (its input hash equals the repo's): `make test` builds it
    first, so in CI a stale image is a failure; elsewhere, a skip saying to rebuild."""
    labels = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]["Labels"]
    current = subprocess.run(
        [sys.executable, str(BUILD_PY), "--print-tag", "--only", "singleuser"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()[-1]
    require(
        labels.get("org.hdss.inputs") == current.split(":")[1],
        f"{image} was built from other inputs than this checkout: run make images",
    )
    notebooks = repo / "notebooks"
    expected = (
        sorted(
            p.relative_to(notebooks).as_posix()
            for p in notebooks.rglob("*")
            if p.is_file()
            and not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts)
            and p.suffix != ".pyc"
        )
        if notebooks.is_dir()
        else []
    )
    listing = run("sh", "-c", "cd /opt/hdss/notebooks && find . -type f | sort").stdout
    assert sorted(line[2:] for line in listing.splitlines()) == expected
    if (repo / "datasets" / "hdss_data").is_dir():
        run("python", "-c", "import hdss_data, duckdb")
    else:
        run("python", "-c", "import sys; assert '/opt/hdss/lib' in sys.path")


def test_a_site_base_image_is_hashed_by_its_image_id(image):
    """--base-image REF: the tag follows the image REF names, not the default base."""

    def tag(*args: str) -> str:
        cmd = [sys.executable, str(BUILD_PY), "--print-tag", "--only", "singleuser", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout

    default = tag().split()
    site = tag("--base-image", image).split()
    assert len(site) == 1 and site[0].startswith("hdss/singleuser:")
    assert site[0] != default[-1]
    assert tag("--base-image", image).split() == site
