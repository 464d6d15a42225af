"""Every course notebook runs with papermill on a tiny dataset, and its result is sane.

Each notebook ends with a cell whose value is a ``summary`` dict (and asserts of its own);
the checks here read that dict from the executed notebook, so a notebook that "runs" but
computes nonsense still fails. The same notebooks run unchanged on the restricted twin.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import nbformat
import papermill
import pytest
import zmq

from tests.notebooks.conftest import NOTEBOOKS_DIR

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute(name: str, data_root: Path | None, workdir: Path, **parameters) -> dict:
    """Run one notebook with papermill; return the summary dict of its last cell."""
    out = workdir / name
    if data_root is not None:
        parameters["data_root"] = str(data_root)
    for attempt in (1, 2):
        try:
            papermill.execute_notebook(
                str(NOTEBOOKS_DIR / name),
                str(out),
                cwd=str(workdir),
                kernel_name="python3",
                parameters={"size": "tiny", **parameters},
                progress_bar=False,
                execution_timeout=120,
            )
            break
        except zmq.error.ZMQError:  # a kernel port taken by another process between pick and bind
            if attempt == 2:
                raise
    nb = nbformat.read(out, as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    results = [o for o in last.outputs if o.get("output_type") == "execute_result"]
    assert results, f"{name}: the last cell must show the summary dict"
    return ast.literal_eval(results[-1]["data"]["text/plain"])


def check_summary(name: str, s: dict, workdir: Path) -> None:
    """What must be true of each notebook's result, whatever the seed."""
    if name.startswith("01"):
        assert s["persons"] > 100
        assert 0 < s["deaths"] < s["persons"] and 0 <= s["emigrations"] < s["persons"]
        assert 0 < s["person_years"] <= s["persons"] * 30
    elif name.startswith("02"):
        assert s["cases"] > 0 and s["person_years"] > 0
        assert 0 < s["incidence_per_1000"] < 50  # Danish T2D incidence is ~2-10 per 1,000
        assert s["cases_by_source"]["any"] == s["cases"]
    elif name.startswith("03"):
        assert s["mi_patients"] > 0 and s["cancer_patients"] > 0
        for group in ("mi", "cancer"):
            assert s[f"{group}_monotone"] and 0 <= s[f"{group}_survival_1y"] <= 1
        assert s["censored_at_emigration"] >= 0
    elif name.startswith("04"):
        assert s["new_users"] > 0
        assert s["fills_in_washout"] == 0
        assert 0 <= s["persistent_1y"] <= 1 and s["persistence_monotone"]
    elif name.startswith("05"):
        assert s["persons"] > 0 and 0 <= s["mean_cci"] < 10 and s["max_cci"] <= 37
        assert s["diagnoses_outside_window"] == 0 and s["lpr3_only_persons"] >= 0
    elif name.startswith("06"):
        path = workdir / s["exported"]
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows, "the exported table is empty"
        cells = [v for r in rows for k, v in r.items() if k not in s["label_columns"]]
        assert not any(v.strip() in {"1", "2", "3", "4"} for v in cells)
        assert any(v == s["marker"] for v in cells) == (s["suppressed_cells"] > 0)
        assert s["suppressed_cells"] >= s["primary"] >= 0
        assert not any(k.lower() == "pnr" for k in rows[0])
        # The same table made through acro: its results, as the airlock reads them.
        acro = json.loads((workdir / s["acro_results"]).read_text())
        assert acro["tool"]["name"] == "ACRO" and "output_0" in acro["results"]
        assert s["acro_table_status"] in ("pass", "fail", "review")
    else:
        pytest.fail(f"no check written for {name}")


def test_notebooks_found():
    assert [n[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_on_synthetic(name: str, synthetic_root: Path, tmp_path: Path):
    check_summary(name, execute(name, synthetic_root, tmp_path), tmp_path)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_unchanged_on_restricted_twin(name: str, restricted_root: Path, tmp_path: Path):
    check_summary(name, execute(name, restricted_root, tmp_path), tmp_path)


def test_notebooks_are_stored_without_outputs():
    """Course notebooks are committed clean: students start from empty outputs."""
    for name in NOTEBOOKS:
        nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{name}: one cell tagged 'parameters'"
        assert "data_root" in tagged[0].source and "size" in tagged[0].source


def test_twin_is_restricted(synthetic_root: Path, restricted_root: Path):
    """The notebooks above really ran on two different datasets, one of them restricted."""
    import hdss_data

    synthetic, restricted = hdss_data.load(synthetic_root), hdss_data.load(restricted_root)
    assert (synthetic.sensitivity, restricted.sensitivity) == ("synthetic", "restricted")
    assert set(synthetic.tables) == set(restricted.tables)


def test_helper_opens_every_table_of_a_real_dataset(synthetic_root: Path):
    """Every table in the generator's manifest opens, with the row count it records."""
    import hdss_data

    dataset = hdss_data.load(synthetic_root)
    con = hdss_data.open_dataset(synthetic_root)
    frames = hdss_data.lazy_frames(synthetic_root)
    assert {"bef", "dod", "vnds", "lpr_adm", "lpr_a_kontakt", "lmdb", "lab_dm_forsker"} <= set(
        dataset.tables
    )
    for name, info in dataset.tables.items():
        n = con.execute(f'select count(*) from "{name}"').fetchall()[0][0]
        assert info.rows is None or n == info.rows, name
        assert [f["name"] for f in info.fields] == frames[name].collect_schema().names(), name


def test_helper_names_a_missing_table_of_a_real_dataset(synthetic_root: Path, tmp_path: Path):
    import shutil

    import hdss_data

    copy = tmp_path / "dk-registers"
    shutil.copytree(hdss_data.find_dataset(synthetic_root), copy)
    for p in [copy, *copy.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    victim = hdss_data.load(copy).table("lmdb").files[3]
    victim.unlink()
    with pytest.raises(hdss_data.MissingTableError, match=rf"'lmdb'.*{victim.name}"):
        hdss_data.open_dataset(copy)


def test_notebook_finds_data_through_the_environment(
    synthetic_root: Path, tmp_path: Path, monkeypatch
):
    """As in a container: no data_root, only HDSS_DATA_ROOT (and another drug to study)."""
    monkeypatch.setenv("HDSS_DATA_ROOT", str(synthetic_root))
    summary = execute("04_drug_utilisation.ipynb", None, tmp_path, atc="C10AA01")
    check_summary("04_drug_utilisation.ipynb", summary, tmp_path)
