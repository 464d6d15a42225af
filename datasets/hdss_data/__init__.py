"""hdss_data: one-line access to a published register dataset, for notebooks.

    >>> import hdss_data
    >>> con = hdss_data.open_dataset()          # DuckDB, one view per register
    >>> con.sql("select koen, count(*) from bef where aar = 2020 group by koen").df()
    >>> frames = hdss_data.lazy_frames()        # the same tables as Polars LazyFrames
    >>> hdss_data.describe()                    # the data dictionary

The dataset root defaults to the first dataset under ``$HDSS_DATA_ROOT`` (containers set
``/data/synthetic``), so the same notebook runs on the restricted twin by passing its root.
"""

from hdss_data.dataset import Dataset, TableInfo, find_dataset, load
from hdss_data.describe import data_dictionary, describe
from hdss_data.errors import DatasetNotFoundError, HdssDataError, MissingTableError
from hdss_data.frames import lazy_frames
from hdss_data.views import open_dataset

__all__ = [
    "Dataset",
    "DatasetNotFoundError",
    "HdssDataError",
    "MissingTableError",
    "TableInfo",
    "data_dictionary",
    "describe",
    "find_dataset",
    "lazy_frames",
    "load",
    "open_dataset",
]
__version__ = "0.1.0"
