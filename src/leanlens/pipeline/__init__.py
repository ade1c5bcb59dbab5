"""End-to-end runs and sweeps: ``run(config) -> RunResult``, ``sweep(config, trials=N)``.

Optional heavy libraries (optuna, ray) are imported inside the functions that use them.
"""

from .config import PipelineConfig, json_schema, load_pipeline_config, parse_pipeline_config
from .executors import ClusterUnreachableError, LocalExecutor, RayExecutor, make_executor
from .recommend import Recommendation, recommend
from .result import ModelEntry, RunResult, pareto_front
from .run import run
from .study import StudyStorageError
from .sweep import sweep

__all__ = [
    "ClusterUnreachableError",
    "LocalExecutor",
    "ModelEntry",
    "PipelineConfig",
    "RayExecutor",
    "Recommendation",
    "RunResult",
    "StudyStorageError",
    "json_schema",
    "load_pipeline_config",
    "make_executor",
    "pareto_front",
    "parse_pipeline_config",
    "recommend",
    "run",
    "sweep",
]
