"""Datasets and CSV parsing/validation for EM Explorer (pandas allowed, no streamlit).

Public names
------------
Dataset, DATASETS, load_dataset      built-in datasets (see ``emdata.datasets``)
DataError                            the data layer's one exception (message shown on screen)
"""

from emdata.datasets import DATASETS, Dataset, cache_dir, load_dataset
from emdata.errors import DataError

__all__ = ["DATASETS", "Dataset", "DataError", "cache_dir", "load_dataset"]
