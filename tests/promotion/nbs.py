"""Test notebooks: papermill-parameterised like the course notebooks (data_root, output_dir)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

PARAMS = 'data_root = None\noutput_dir = "."\n'
OPEN = "import hdss_data\nfrom pathlib import Path\ncon = hdss_data.open_dataset(data_root)\n"


def notebook(*cells: str) -> bytes:
    nb = new_notebook()
    nb.cells = [new_code_cell(PARAMS, metadata={"tags": ["parameters"]})]
    nb.cells += [new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nbformat.writes(nb).encode()


# Persons by sex in bef at the end of 2015: large counts only.
AGGREGATE = notebook(
    OPEN + 'df = con.execute("select koen, count(distinct pnr) as n from bef '
    'where aar = 2015 group by koen order by koen").df()\n'
    'df.to_csv(Path(output_dir) / "persons_by_sex.csv", index=False)\ndf'
)
# Deaths by single year of age and sex: many cells below 5, and a pnr shown.
SMALL_AND_IDS = notebook(
    OPEN + 'df = con.execute("select extract(year from d.doddato) as year, b.koen, '
    'count(*) as n from dod d join t_person b using (pnr) group by all order by all").df()\n'
    'df.to_csv(Path(output_dir) / "deaths.csv", index=False)\n'
    'con.execute("select pnr, koen from t_person limit 3").df()'
)
# Reads a column that the restricted schema does not have.
MISSING_COLUMN = notebook(OPEN + 'con.execute("select b.income_decile from bef b").df()')
FAILS = notebook('raise RuntimeError("the analysis broke")')
HANGS = notebook("import time\ntime.sleep(600)")
# Bad outputs: a huge file, a binary file, a link to the restricted data, a hidden file.
BAD_OUTPUTS = notebook(
    "import os\nfrom pathlib import Path\nout = Path(output_dir)\n"
    '(out / "huge.csv").write_text("a,n\\n" + "x,100\\n" * 50000)\n'
    '(out / "data.parquet").write_bytes(bytes(range(256)) * 4)\n'
    'os.symlink(data_root, out / "restricted-link")\n'
    '(out / ".hidden.csv").write_text("a,n\\nx,100\\n")\n'
    '(out / "ok.csv").write_text("a,n\\nx,100\\n")\n'
)
