"""Data sets: bundled (scikit-learn's shipped sets), readers, synthetic generators."""

from .bundled import available, load
from .dataset import Dataset, GroundTruth, Standardizer
from .readers import from_csv, from_numpy, from_pandas, from_parquet, infer_task
from .synthetic import synthetic

__all__ = [
    "Dataset",
    "GroundTruth",
    "Standardizer",
    "available",
    "from_csv",
    "from_numpy",
    "from_pandas",
    "from_parquet",
    "infer_task",
    "load",
    "synthetic",
]
