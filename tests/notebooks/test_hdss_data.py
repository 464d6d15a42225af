"""Unit tests of the hdss_data helper on a small hand-made dataset (no generator needed)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import hdss_data
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hdss_data.dataset import find_dataset


def publish(root: Path, name: str = "dk-registers", version: str = "v1") -> Path:
    """A tiny published dataset: bef partitioned by year (hive dirs), dod in one file."""
    vdir = root / name / version
    bef_paths = []
    for year in (2019, 2020):
        rel = f"bef/aar={year}/part-0.parquet"
        (vdir / rel).parent.mkdir(parents=True)
        pq.write_table(
            pa.table({"pnr": ["A1", "B2"], "aar": [year, year], "koen": [1, 2]}), vdir / rel
        )
        bef_paths.append(rel)
    (vdir / "dod").mkdir()
    pq.write_table(
        pa.table({"pnr": ["A1"], "doddato": pa.array([18500], pa.date32())}),
        vdir / "dod/dod.parquet",
    )
    manifest = {
        "name": name,
        "version": version,
        "title": "Test registers",
        "resources": [
            {
                "name": "bef",
                "path": bef_paths,
                "description": "Population",
                "rows": 4,
                "schema": {
                    "fields": [
                        {"name": "pnr", "type": "string", "description": "id"},
                        {"name": "aar", "type": "integer"},
                        {"name": "koen", "type": "integer", "description": "sex"},
                    ],
                    "primaryKey": ["pnr", "aar"],
                },
            },
            {
                "name": "dod",
                "path": "dod/dod.parquet",
                "description": "Deaths",
                "schema": {
                    "fields": [
                        {"name": "pnr", "type": "string"},
                        {"name": "doddato", "type": "date"},
                    ]
                },
            },
        ],
    }
    (vdir / "datapackage.json").write_text(json.dumps(manifest))
    (root / name / "current").symlink_to(version)
    return vdir


@pytest.fixture
def root(tmp_path: Path) -> Path:
    publish(tmp_path)
    return tmp_path


@pytest.mark.parametrize("level", ["root", "dataset", "current", "version"])
def test_root_found_at_every_level(root: Path, level: str):
    path = {
        "root": root,
        "dataset": root / "dk-registers",
        "current": root / "dk-registers" / "current",
        "version": root / "dk-registers" / "v1",
    }[level]
    assert find_dataset(path) == (root / "dk-registers" / "v1").resolve()


def test_default_root_from_environment(root: Path, monkeypatch):
    monkeypatch.setenv("HDSS_DATA_ROOT", str(root))
    con = hdss_data.open_dataset()
    assert con.execute("select count(*) from bef").fetchone() == (4,)


def test_views_named_like_registers(root: Path):
    con = hdss_data.open_dataset(root)
    views = {
        r[0]
        for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()
    }
    assert views == {"bef", "dod"}
    cols = [r[0] for r in con.execute("describe bef").fetchall()]
    assert cols == ["pnr", "aar", "koen"]  # aar not duplicated by the hive directories
    assert con.execute("select count(*) from bef where aar = 2020").fetchone() == (2,)
    assert con.execute("select pnr from dod").fetchall() == [("A1",)]


def test_views_added_to_given_connection(root: Path):
    con = duckdb.connect()
    assert hdss_data.open_dataset(root, con=con, tables=["dod"]) is con
    assert con.execute("select count(*) from dod").fetchone() == (1,)


def test_hive_key_not_in_files_becomes_a_column(tmp_path: Path):
    vdir = tmp_path / "ds" / "v1"
    (vdir / "t/year=2020").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), vdir / "t/year=2020/p.parquet")
    (vdir / "datapackage.json").write_text(
        json.dumps(
            {
                "resources": [
                    {
                        "name": "t",
                        "path": ["t/year=2020/p.parquet"],
                        "schema": {"fields": [{"name": "x", "type": "integer"}]},
                    }
                ]
            }
        )
    )
    con = hdss_data.open_dataset(vdir)
    assert con.execute("select count(*) from t where year = 2020").fetchone() == (2,)
    assert hdss_data.lazy_frames(vdir)["t"].collect().height == 2


def test_lazy_frames(root: Path):
    frames = hdss_data.lazy_frames(root)
    assert set(frames) == {"bef", "dod"}
    bef = frames["bef"].collect()
    assert bef.columns == ["pnr", "aar", "koen"] and bef.height == 4


def test_describe_prints_the_dictionary(root: Path, capsys):
    hdss_data.describe(root)
    out = capsys.readouterr().out
    assert "Test registers" in out and "bef, 4 rows, key (pnr, aar)" in out
    assert "koen" in out and "sex" in out and "dod" in out


def test_missing_root_says_where(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(hdss_data.DatasetNotFoundError, match=str(missing)):
        hdss_data.open_dataset(missing)


def test_default_root_missing_names_env(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HDSS_DATA_ROOT", str(tmp_path / "absent"))
    with pytest.raises(hdss_data.DatasetNotFoundError, match="HDSS_DATA_ROOT"):
        hdss_data.lazy_frames()


def test_root_without_manifest_lists_places(tmp_path: Path):
    (tmp_path / "empty-dataset").mkdir()
    with pytest.raises(hdss_data.DatasetNotFoundError, match="datapackage.json"):
        hdss_data.open_dataset(tmp_path)


def test_missing_table_files_named(root: Path):
    (root / "dk-registers/v1/dod/dod.parquet").unlink()
    with pytest.raises(hdss_data.MissingTableError, match=r"'dod'.*dod/dod\.parquet") as e:
        hdss_data.open_dataset(root)
    assert e.value.table == "dod"
    with pytest.raises(hdss_data.MissingTableError, match="'dod'"):
        hdss_data.lazy_frames(root)
    # the other tables still open when asked for by name
    assert hdss_data.open_dataset(root, tables=["bef"]).execute(
        "select count(*) from bef"
    ).fetchone() == (4,)


def test_unknown_table_lists_known(root: Path):
    with pytest.raises(hdss_data.MissingTableError, match="it lists: bef, dod"):
        hdss_data.open_dataset(root, tables=["lmdb"])


def test_container_mounts_prefer_dk_registers(tmp_path: Path):
    """In a container /data/synthetic/<name> is one version: dk-registers wins, by name."""
    for name in ("a-course-extract", "dk-registers"):
        vdir = publish(tmp_path / "build", name=name)
        vdir.rename(tmp_path / name)
    assert find_dataset(tmp_path) == (tmp_path / "dk-registers").resolve()
    (tmp_path / "dk-registers/datapackage.json").unlink()
    assert find_dataset(tmp_path) == (tmp_path / "a-course-extract").resolve()


def test_dataset_dir_without_current_uses_newest_version(tmp_path: Path):
    publish(tmp_path, version="v1")
    (tmp_path / "dk-registers/current").unlink()
    publish(tmp_path / "other", version="v2")
    (tmp_path / "other/dk-registers/v2").rename(tmp_path / "dk-registers/v2")
    assert find_dataset(tmp_path / "dk-registers") == (tmp_path / "dk-registers/v2").resolve()
