"""Datasets, CSV parsing/validation and safe exports for EM Explorer (pandas, no streamlit).

Public names
------------
Dataset, DATASETS, load_dataset          built-in datasets (``emdata.datasets``)
DataError                                the one exception; its message is shown on screen
parse_csv, ParsedTable                   uploads: any bytes -> table or DataError
gaussian_matrix, counts_matrix,          parsed table -> matrix for a fit, with every
binary_matrix, long_to_counts, Prepared  dropped row counted in ``notes``
propose_model, Proposal, MODELS,         which model fits an upload, and
prepare                                  the matrix for the chosen model
left_out_reason, scale_ratio,            why a column is not proposed (row numbers, ids,
STANDARDISE_RATIO, zscores               years); when and how columns are standardised
check_n_components                       refuse K > number of distinct points
safe_csv, neutralise_cell                CSV exports with formula injection neutralised
EXAMPLES, example_csv                    example files for the Your data page (one click)
"""

from emdata.csvparse import MAX_COLUMNS, MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, ParsedTable, parse_csv
from emdata.datasets import DATASETS, Dataset, cache_dir, load_dataset
from emdata.errors import DataError
from emdata.examples import EXAMPLE_DESCRIPTIONS, EXAMPLES, example_csv
from emdata.export import neutralise_cell, safe_csv
from emdata.prepare import (
    MAX_FIT_CELLS,
    MAX_FIT_ROWS,
    MAX_GAUSS_CELLS,
    MAX_GAUSS_COLUMNS,
    MODEL_LABELS,
    MODELS,
    SAMPLE_SEED,
    STANDARDISE_RATIO,
    Prepared,
    Proposal,
    binary_matrix,
    check_n_components,
    column_spreads,
    counts_matrix,
    gaussian_matrix,
    left_out_reason,
    long_to_counts,
    prepare,
    propose_model,
    scale_ratio,
    zscores,
)

__all__ = [
    "DATASETS",
    "EXAMPLES",
    "EXAMPLE_DESCRIPTIONS",
    "MAX_COLUMNS",
    "MAX_FIT_CELLS",
    "MAX_FIT_ROWS",
    "MAX_GAUSS_CELLS",
    "MAX_GAUSS_COLUMNS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "MODELS",
    "MODEL_LABELS",
    "SAMPLE_SEED",
    "STANDARDISE_RATIO",
    "DataError",
    "Dataset",
    "ParsedTable",
    "Prepared",
    "Proposal",
    "cache_dir",
    "check_n_components",
    "column_spreads",
    "binary_matrix",
    "counts_matrix",
    "example_csv",
    "gaussian_matrix",
    "left_out_reason",
    "load_dataset",
    "long_to_counts",
    "neutralise_cell",
    "parse_csv",
    "prepare",
    "propose_model",
    "safe_csv",
    "scale_ratio",
    "zscores",
]
