"""Output check rules, one behaviour per test (fast, no Docker)."""

from __future__ import annotations

import json

import pytest
from hdss_hub.promotion.checks import Settings, check_file, html_tables

from tests.promotion import nbs

CFG = Settings(threshold=5, max_table_rows=50, max_file_bytes=10_000)


def rules(path: str, text: str | bytes, cfg: Settings = CFG) -> tuple[str, set[str]]:
    data = text.encode() if isinstance(text, str) else text
    report = check_file(path, data, cfg)
    return report.status, {f.rule for f in report.findings}


def test_large_counts_pass():
    assert rules("t.csv", "koen,n\n1,480\n2,512\n") == ("pass", set())


def test_small_count_is_flagged_and_zero_and_suppressed_are_not():
    assert rules("t.csv", "group,n\na,3\nb,120\n") == ("flag", {"small-count"})
    assert rules("t.csv", "group,n\na,0\nb,<5\nc,x\nd,120\n") == ("pass", set())


def test_threshold_is_a_setting():
    assert rules("t.csv", "group,n\na,7\n", Settings(threshold=10))[0] == "flag"
    assert rules("t.csv", "group,n\na,7\n", Settings(threshold=5))[0] == "pass"


def test_cross_table_cells_are_counts():
    table = "age_group,2005-2009,2010-2014\n<50,12,2\n50-64,40,33\n"
    assert rules("t.csv", table) == ("flag", {"small-count"})


def test_year_columns_are_not_counts():
    assert rules("t.csv", "year,n\n2015,120\n2016,3000\n") == ("pass", set())


def test_percentage_revealing_a_small_count():
    assert rules("t.csv", "group,pct,total\na,2.0,100\nb,50,100\n") == (
        "flag",
        {"small-percentage"},
    )
    assert rules("t.csv", "group,pct,total\na,20.0,100\n") == ("pass", set())


def test_percentage_without_counts_is_flagged():
    assert rules("t.csv", "group,pct\na,12.5\n") == ("flag", {"percentage-unchecked"})


def test_min_max_always_flagged_percentiles_need_enough_persons():
    assert rules("t.csv", "group,n,max_age\na,100,99\n")[1] == {"min-max"}
    assert rules("t.csv", "group,n,median_age\na,100,54\n") == ("pass", set())
    assert rules("t.csv", "group,n,median_age\na,3,54\n")[1] == {"small-count", "statistic-small"}
    assert rules("t.csv", "group,median_age\na,54\n")[1] == {"statistic-unbacked"}


@pytest.mark.parametrize(
    "table",
    [
        "pnr,koen\nR92CW9282A,1\n",  # person id column
        "who,koen\nR92CW9282A,1\n",  # pseudonymised id value
        "who,n\n010190-1234,100\n",  # CPR number
    ],
)
def test_person_ids_are_blocked(table):
    assert rules("t.csv", table) == ("block", {"person-id"})


def test_row_level_data_is_blocked():
    rows = "".join(f"{i},{i % 2}\n" for i in range(60))
    assert rules("t.csv", "x,y\n" + rows) == ("block", {"row-level"})


def test_binary_unknown_huge_files_are_blocked_images_and_text_flagged():
    assert rules("t.parquet", b"PAR1\x00\x01\xff")[1] == {"binary"}
    assert rules("t.xyz", "hello")[1] == {"unknown-type"}
    assert rules("t.csv", "a,n\n" + "x,100\n" * 5000)[1] == {"too-large"}
    assert rules("fig.png", b"\x89PNG")[1] == {"binary"}  # not a PNG: blocks
    assert rules("notes.txt", "all fine")[1] == {"free-text"}
    assert rules("notes.txt", "patient R92CW9282A")[0] == "block"
    assert "person-id" in rules("notes.txt", "patient R92CW9282A")[1]


def test_notebook_html_tables_and_text_outputs_are_checked():
    nb = json.loads(nbs.AGGREGATE)
    nb["cells"][1]["outputs"] = [
        {
            "output_type": "execute_result",
            "execution_count": 1,
            "metadata": {},
            "data": {
                "text/plain": "...",
                "text/html": "<table><thead><tr><th></th><th>koen</th>"
                "<th>n</th></tr></thead><tbody><tr><th>0</th><td>1</td><td>3</td></tr></tbody>"
                "</table>",
            },
        }
    ]
    assert rules("a.ipynb", json.dumps(nb)) == ("flag", {"small-count"})
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "first person: R92CW9282A\n"}
    ]
    assert rules("a.ipynb", json.dumps(nb)) == ("block", {"person-id"})
    assert rules("a.ipynb", "{not json")[1] == {"unreadable"}


def test_html_tables_take_the_last_header_row():
    html = (
        "<table><thead><tr><th></th><th>n</th></tr><tr><th>koen</th><th></th></tr>"
        "</thead><tbody><tr><th>1</th><td>480</td></tr></tbody></table>"
    )
    assert html_tables(html) == [(["koen", "n"], [["1", "480"]])]


def test_small_numbers_printed_in_a_notebook_are_flagged():
    nb = json.loads(nbs.AGGREGATE)
    out = {"output_type": "stream", "name": "stdout"}
    nb["cells"][1]["outputs"] = [{**out, "text": "cases in 2015-01-01 to 2015-12-31: 3\n"}]
    assert rules("a.ipynb", json.dumps(nb)) == ("flag", {"small-number-in-text"})
    nb["cells"][1]["outputs"] = [{**out, "text": "cases in 2015: 480 (12.5%)\n"}]
    assert rules("a.ipynb", json.dumps(nb)) == ("pass", set())


# -- one behaviour per test, beyond the corpus ----------------------------------------------


def notebook_with(*outputs: dict) -> str:
    nb = json.loads(nbs.AGGREGATE)
    nb["cells"][1]["outputs"] = list(outputs)
    return json.dumps(nb)


def text_output(text: str) -> dict:
    return {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": text},
    }


def test_a_dataframes_printed_index_is_not_a_count():
    frame = "  koen      n\n0    1  25609\n1    2  26436\n2    9    512"
    assert rules("a.ipynb", notebook_with(text_output(frame))) == ("pass", set())
    small = "  koen      n\n0    1  25609\n1    2      3"
    assert rules("a.ipynb", notebook_with(text_output(small))) == ("flag", {"small-count"})


def test_a_series_and_describe_are_read_as_tables():
    series = "koen\n1    25609\n2    26436\nName: count, dtype: int64"
    assert rules("a.ipynb", notebook_with(text_output(series))) == ("pass", set())
    describe = (
        "             age\ncount   120.000\nmean     54.100\nstd      12.300\n"
        "min      18.000\n50%      55.000\nmax      99.000"
    )
    status, found = rules("a.ipynb", notebook_with(text_output(describe)))
    assert found == {"min-max"}


def test_a_printed_table_one_with_counts_percentages_and_medians():
    table = (
        "                                    Men  \\\n"
        "Persons                          25,609   \n"
        "Age, years   median (IQR)    48 (34-63)   \n"
        "Age group    18-39        8,855 (34.6%)   \n"
        "             40-59        8,917 (34.8%)   "
    )
    assert rules("a.ipynb", notebook_with(text_output(table))) == ("pass", set())
    smaller = table.replace("8,917 (34.8%)", "3 (0.0%)")
    assert "small-count" in rules("a.ipynb", notebook_with(text_output(smaller)))[1]


def test_html_rowspans_keep_cells_in_their_columns():
    html = (
        "<table><thead><tr><th></th><th></th><th>n</th></tr></thead><tbody>"
        "<tr><th rowspan='2'>Men</th><th>18-39</th><td>812</td></tr>"
        "<tr><th>40-59</th><td>3</td></tr></tbody></table>"
    )
    assert html_tables(html) == [(["", "", "n"], [["Men", "18-39", "812"], ["Men", "40-59", "3"]])]
    assert rules("t.html", html)[1] == {"small-count"}


def test_the_delimiter_is_sniffed():
    assert rules("t.csv", "region;n\nNorth;3\nSouth;812\n")[1] == {"small-count"}
    assert rules("t.csv", "region\tn\nNorth\t3\nSouth\t812\n")[1] == {"small-count"}
    assert rules("t.tsv", "region|n\nNorth|3\nSouth|812\n")[1] == {"small-count"}


def test_rates_need_their_scale_or_a_count():
    assert rules("t.csv", "region,rate_per_1000,population\nA,0.5,6000\n")[1] == {"small-rate"}
    assert rules("t.csv", "region,rate_per_100000,population\nA,50,6000\n")[1] == {"small-rate"}
    assert rules("t.csv", "region,rate_per_1000,population\nA,5.0,6000\n") == ("pass", set())
    assert rules("t.csv", "region,rate\nA,5.0\n")[1] == {"rate-unchecked"}
    assert rules("t.csv", "region,rate,cases\nA,5.0,120\n") == ("pass", set())


def test_a_share_written_from_0_to_1():
    assert rules("t.csv", "group,share,population\na,0.02,150\n")[1] == {"small-percentage"}
    assert rules("t.csv", "group,share,population\na,0.2,150\n") == ("pass", set())


def test_negative_and_float_counts():
    assert rules("t.csv", "region,n\nNorth,-3\nSouth,812\n")[1] == {"small-count"}
    assert rules("t.csv", "region,n\nNorth,3.0\nSouth,812.0\n")[1] == {"small-count"}


def test_zero_width_characters_and_encoded_data_block():
    assert rules("notes.md", "All fine\u200b\u200c\u200b")[1] >= {"hidden-characters"}
    payload = "cmVnaW9uLGRlYXRocwpOb3J0aCwzCmZvbyxiYXIKYmF6LHF1eApzb21lLG1vcmUKZGF0YQ=="
    assert rules("a.ipynb", notebook_with(text_output(payload)))[1] == {"encoded-data"}


def test_figures_go_to_a_person_and_their_text_is_read():
    svg = "<svg xmlns='http://www.w3.org/2000/svg'><text>Deaths by year</text></svg>"
    assert rules("f.svg", svg) == ("flag", {"figure"})
    assert rules("f.svg", svg.replace("Deaths by year", "n=3"))[1] == {
        "figure",
        "small-number-in-text",
    }


def test_findings_are_capped_per_rule_but_counted():
    table = "region,n\n" + "".join(f"r{i},3\n" for i in range(40))
    report = check_file("t.csv", table.encode(), CFG)
    data = report.to_json()
    assert len(report.findings) == 25
    assert data["findings"][-1]["detail"] == "15 more findings of this rule"
    assert data["status"] == "flag"
