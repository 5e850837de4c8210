"""Datasets: readers (IDX, NPZ, CSV), named datasets and where they are found, preprocessing.

Example:
    >>> from tunelab.data import load_dataset
    >>> ds = load_dataset("breast-cancer", seed=0)
    >>> ds.task, ds.num_classes, ds.x_train.shape[1]
    ('binary', 2, 30)
"""

from __future__ import annotations

from tunelab.data._arrays import (
    ArrayData,
    as_raw,
    data_label,
    dataset_raw,
    is_array_data,
    stage_data,
    store_arrays,
)
from tunelab.data._csv import read_csv
from tunelab.data._dataset import Dataset, load_dataset, prepare
from tunelab.data._describe import availability, describe
from tunelab.data._idx import find_idx_set, read_idx, read_idx_folder
from tunelab.data._load import load_raw, read_path
from tunelab.data._named import DATASETS, DatasetSpec, canonical_name
from tunelab.data._npz import read_npz
from tunelab.data._prepare import Scaling, Task, encode_targets, fit_scaling, infer_task, one_hot
from tunelab.data._raw import RawData, encode_labels
from tunelab.data._search import DOWNLOADS, Downloader, Found, SearchRoots, fetch_url, locate, probe
from tunelab.data._show import plot_samples
from tunelab.data._split import split_indices, subsample_indices

__all__ = [
    "DATASETS",
    "DOWNLOADS",
    "ArrayData",
    "Dataset",
    "DatasetSpec",
    "Downloader",
    "Found",
    "RawData",
    "Scaling",
    "SearchRoots",
    "Task",
    "as_raw",
    "availability",
    "canonical_name",
    "dataset_raw",
    "describe",
    "encode_labels",
    "encode_targets",
    "fetch_url",
    "find_idx_set",
    "fit_scaling",
    "infer_task",
    "data_label",
    "is_array_data",
    "load_dataset",
    "load_raw",
    "locate",
    "one_hot",
    "plot_samples",
    "prepare",
    "probe",
    "read_csv",
    "read_idx",
    "read_idx_folder",
    "read_npz",
    "read_path",
    "split_indices",
    "stage_data",
    "store_arrays",
    "subsample_indices",
]
