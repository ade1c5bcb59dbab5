"""The pipeline file: pydantic models (``extra="forbid"``) for ``leanlens run`` / ``sweep``.

A bad key or value raises :class:`~leanlens.errors.ConfigError` whose message holds the
dotted path of the bad key (``plans[0].stepz``) and, for an unknown key, the closest
valid name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from ..config import load_yaml
from ..errors import ConfigError, InvalidInputError, did_you_mean, short_repr
from ..limits import MAX_BACKGROUND, MAX_BUDGET, MAX_REPS, MAX_ROWS, MAX_THREADS, MAX_TRIALS

if TYPE_CHECKING:
    from ..compare import CompareConfig
    from ..compress.plan import StepConfig

__all__ = [
    "STEP_NAMES",
    "CompareSpec",
    "CompressSpec",
    "DataSpec",
    "ExecutorSpec",
    "ExplainSpec",
    "ExplainerSpec",
    "LatencySpec",
    "MetricsSpec",
    "ModelSpec",
    "ParamSpec",
    "PipelineConfig",
    "PlanSpec",
    "ReportSpec",
    "SweepSpec",
    "TrainSpec",
    "json_schema",
    "load_pipeline_config",
    "parse_pipeline_config",
]

# The step names of the YAML plan form (``[{prune: {...}}, {finetune: {...}}, ...]``).
STEP_NAMES = ("prune", "finetune", "quantize", "distill", "lowrank")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataSpec(_Spec):
    """Where the rows come from: a bundled data set by ``name`` or a CSV/Parquet ``path``."""

    name: str = Field("digits", description="Bundled data set (see `leanlens datasets`); ignored when 'path' is set.")
    path: Path | None = Field(None, description="A .csv or .parquet file (relative to the pipeline file).")
    target: str | None = Field(None, description="Label column of the file given by 'path'.")
    impute: Literal["mean", "median", "most_frequent"] | None = Field(
        None, description="Fill missing values of the file given by 'path' (SimpleImputer fitted on the training "
        "split; saved with a trained model). Default: refuse NaN.")

    @model_validator(mode="after")
    def _target_with_path(self) -> DataSpec:
        if self.path is not None and not self.target:
            raise ValueError("'target' (the label column) is required when 'path' is set")
        return self


def _train_fields() -> dict[str, Any]:
    """TrainConfig's fields (but the seed, which is the pipeline's) as pydantic field definitions.

    One source of truth: the schema, defaults and types of ``model.train`` come from
    :class:`leanlens.TrainConfig`, so the two cannot drift apart.
    """
    import dataclasses
    import typing

    from ..models.trainer import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    return {f.name: (hints[f.name], f.default) for f in dataclasses.fields(TrainConfig)
            if f.init and f.name != "random_state"}


class TrainSpec(create_model("_TrainFields", __base__=_Spec, **_train_fields())):  # type: ignore[misc]
    """The fields of :class:`leanlens.TrainConfig` (the seed comes from the pipeline's ``seed``)."""

    @model_validator(mode="after")
    def _valid_train_config(self) -> TrainSpec:
        # TrainConfig's own checks (names, ranges), reported at load time with the key's path.
        try:
            self.to_config(seed=None)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_config(self, *, seed: int | None) -> Any:
        """The :class:`leanlens.TrainConfig` these fields describe, with ``random_state=seed``."""
        from ..models.trainer import TrainConfig

        fields = self.model_dump()
        return TrainConfig(**{**fields, "hidden": tuple(fields["hidden"]), "channels": tuple(fields["channels"]),
                              "random_state": seed})


class ModelSpec(_Spec):
    """Train a model (``train``) or load a saved one (``path``: a model folder or an .onnx file)."""

    path: Path | None = Field(None, description="A saved model folder or .onnx file; training is skipped.")
    train: TrainSpec = Field(default_factory=lambda: TrainSpec.model_validate({}))


class PlanSpec(_Spec):
    """One compression plan: a name and the steps in the YAML plan form.

    The steps are parsed into step configs once, at validation: :attr:`configs`.
    """

    name: str = Field(..., min_length=1)
    steps: list[dict[str, dict[str, Any]]] = Field(..., min_length=1)
    _configs: list[Any] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _parse_steps(self) -> PlanSpec:
        from ..compress.plan import parse_plan

        self._configs = parse_plan(self.steps)
        return self

    @property
    def configs(self) -> list[StepConfig]:
        """The plan as validated step configs (what ``leanlens.compress`` runs)."""
        return list(self._configs)

    @field_validator("steps")
    @classmethod
    def _one_known_step_each(cls, steps: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
        for i, step in enumerate(steps):
            if len(step) != 1:
                raise ValueError(f"step {i} must be a mapping with one key (the step name); got keys {list(step)}")
            (name,) = step
            if name not in STEP_NAMES:
                raise ValueError(
                    f"step {i}: unknown step {name!r}.{did_you_mean(name, STEP_NAMES)} Valid steps: {', '.join(STEP_NAMES)}"
                )
        from ..compress.plan import parse_plan

        parse_plan(steps)  # each step's fields, with the compress package's own messages
        return steps


class ExplainerSpec(_Spec):
    """One explanation method with its budget and extra parameters."""

    method: str
    budget: int | None = Field(None, ge=1, le=MAX_BUDGET)
    params: dict[str, Any] = Field(default_factory=dict)


class ExplainSpec(_Spec):
    """Which methods explain which rows."""

    methods: list[ExplainerSpec] = Field(default_factory=lambda: [ExplainerSpec.model_validate({"method": "shapley"})], min_length=1)
    n_rows: int = Field(40, ge=1, le=MAX_ROWS, description="Test rows explained per model.")
    background: int = Field(50, ge=1, le=MAX_BACKGROUND, description="Training rows used as background.")
    target: Literal["predicted"] | int = Field(
        "predicted", description="The output explained per row: each row's predicted class, or an output index.")

    @field_validator("methods", mode="before")
    @classmethod
    def _names_to_specs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"method": v} if isinstance(v, str) else v for v in value]
        return value


class MetricsSpec(_Spec):
    """Explanation metrics computed for every model (empty: the metrics package's defaults)."""

    names: list[str] = Field(default_factory=list)
    n_rows: int = Field(20, ge=1, le=MAX_ROWS)


class CompressSpec(_Spec):
    """Options of ``leanlens.compress`` shared by every plan."""

    latency_reps: int = Field(20, ge=0, le=MAX_REPS, description="Timed calls per batch size in the compression record (0: none).")
    threads: int = Field(2, ge=1, le=MAX_THREADS, description="torch / ONNX Runtime threads while measuring.")


class LatencySpec(_Spec):
    """How a run times its models for the model table, and a sweep its original and each trial's model.

    Models are timed interleaved on 256 test rows (:func:`leanlens.models.latency.interleaved`):
    at least ``min_rounds`` rounds, then until the time cap; a measurement taken while the
    machine is busy or the times scatter is repeated up to ``attempts`` times. Smaller values
    give a quicker, rougher latency column (tests and benchmarks' ``--quick`` modes use them).
    """

    max_seconds: float = Field(5.0, gt=0, le=600, description="Time cap of a run's measurement (all its models, interleaved).")
    trial_max_seconds: float = Field(1.0, gt=0, le=600, description="Time cap of a sweep's measurement of one model (a trial's, or the original).")
    min_rounds: int = Field(20, ge=1, le=MAX_REPS, description="Rounds timed before a time cap applies.")
    attempts: int = Field(3, ge=1, le=10, description="Measurements at most while the figures are unreliable.")


class CompareSpec(_Spec):
    """Original-vs-compressed comparison (decision drift, explanation drift, verdict).

    ``config`` holds fields of :class:`leanlens.CompareConfig`; ``n_rows`` and
    ``n_background`` default to the ``explain`` section's. ``twins``: how many twins of the
    original compare() trains as its yardstick (0: the explainer-noise fallback), or paths of
    twin models; trained twins are cached in the run folder's ``twins/``.
    """

    enabled: bool = True
    twins: int | list[Path] = Field(3, description="Twins of the original (a count ≥ 0, or model paths).")
    explainers: list[str] | None = Field(None, description="Which of the explain methods judge the verdict "
                                         "(default: all that apply).")
    config: dict[str, Any] = Field(default_factory=dict, description="Fields of leanlens.CompareConfig.")

    @field_validator("twins")
    @classmethod
    def _twins(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"twins must be a count ≥ 0 or a list of model paths; got {value}")
        return value

    @field_validator("config")
    @classmethod
    def _known_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        from ..compare import CompareConfig

        CompareConfig.from_dict(value, path="compare.config")
        return value


class ReportSpec(_Spec):
    """What the HTML report shows."""

    title: str | None = None
    sample_rows: int = Field(3, ge=0, le=20, description="Rows shown as waterfalls / digit heatmaps.")
    top_features: int = Field(10, ge=1, le=64)
    max_accuracy_drop: float = Field(0.01, ge=0, le=1, description=(
        "Accuracy budget of the recommendation at the report's top: the largest drop in test accuracy "
        "(R² for regression) from the original, as a fraction (0.01 = 1 point)."))


class ExecutorSpec(_Spec):
    """Where trials and explanation chunks run."""

    backend: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="Ray cluster address (host:port or ray://host:port); None starts a local instance.")
    num_cpus: int | None = Field(None, ge=1, le=MAX_THREADS, description="CPUs of the local Ray instance.")
    chunk_rows: int = Field(100, ge=1, le=MAX_ROWS, description="Rows per Ray explanation task.")


class ParamSpec(_Spec):
    """One dimension of the search space: ``choices``, or a ``low``/``high`` range."""

    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    int: bool = False

    @model_validator(mode="after")
    def _choices_or_range(self) -> ParamSpec:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("'choices' is empty; give at least one value")
            if self.low is not None or self.high is not None:
                raise ValueError("give either 'choices' or 'low'/'high', not both")
        elif self.low is None or self.high is None:
            raise ValueError("give 'choices' or both 'low' and 'high'")
        elif self.low > self.high:
            raise ValueError(f"'low' ({self.low}) must be ≤ 'high' ({self.high})")
        return self


class SweepSpec(_Spec):
    """The search space of ``leanlens sweep``: a plan template and the values to try.

    Keys of ``space`` are dotted paths into the plan template: ``prune.amount``,
    ``prune.kind``, ``distill.hidden``; ``<step>.enabled`` (choices ``[true, false]``)
    switches a step on or off.
    """

    trials: int = Field(20, ge=1, le=MAX_TRIALS)
    plan: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    space: dict[str, ParamSpec] = Field(default_factory=dict)
    storage: str | None = Field(None, description="Optuna storage URL; default sqlite:///<out>/study.db.")
    study_name: str = "leanlens-sweep"
    sampler: Literal["tpe", "nsga2", "random"] = Field("tpe", description="Optuna sampler (seeded by the pipeline seed).")
    agreement_method: str | None = Field(None, description="Explainer whose agreement is an objective (default: the first).")

    @field_validator("plan")
    @classmethod
    def _plan_steps(cls, steps: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
        return PlanSpec._one_known_step_each(steps) if steps else steps

    @model_validator(mode="after")
    def _space_keys_name_template_steps(self) -> SweepSpec:
        names = [next(iter(step)) for step in self.plan]
        for key in self.space:
            step, dot, field = key.partition(".")
            if not dot or not field:
                raise ValueError(f"search-space key {key!r} must be '<step>.<field>' (e.g. 'prune.amount') or '<step>.enabled'")
            if step not in names:
                raise ValueError(
                    f"search-space key {key!r} names the step {step!r}, which is not in sweep.plan "
                    f"{names}.{did_you_mean(step, names)}"
                )
        return self


class PipelineConfig(_Spec):
    """A whole run: data → model → compression plans → explain → metrics → compare → report."""

    version: Literal[1] = 1
    name: str = "run"
    seed: int = 0
    threads: int | None = Field(None, ge=1, le=MAX_THREADS, description="torch intra-op threads during the run (None: torch's default).")
    data: DataSpec = Field(default_factory=lambda: DataSpec.model_validate({}))
    model: ModelSpec = Field(default_factory=lambda: ModelSpec.model_validate({}))
    plans: list[PlanSpec] = Field(default_factory=list)
    explain: ExplainSpec = Field(default_factory=lambda: ExplainSpec.model_validate({}))
    metrics: MetricsSpec = Field(default_factory=lambda: MetricsSpec.model_validate({}))
    compress: CompressSpec = Field(default_factory=lambda: CompressSpec.model_validate({}))
    latency: LatencySpec = Field(default_factory=lambda: LatencySpec.model_validate({}))
    compare: CompareSpec = Field(default_factory=lambda: CompareSpec.model_validate({}))
    report: ReportSpec = Field(default_factory=lambda: ReportSpec.model_validate({}))
    executor: ExecutorSpec = Field(default_factory=lambda: ExecutorSpec.model_validate({}))
    sweep: SweepSpec | None = None

    @field_validator("plans")
    @classmethod
    def _unique_plan_names(cls, plans: list[PlanSpec]) -> list[PlanSpec]:
        names = [p.name for p in plans]
        dupes = sorted({n for n in names if names.count(n) > 1} | ({"original"} & set(names)))
        if dupes:
            raise ValueError(f"plan names must be unique and not 'original'; got {dupes}")
        return plans

    _compare_config: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _typed_compare_config(self) -> PipelineConfig:
        from ..compare import CompareConfig

        fields: dict[str, Any] = {"n_rows": self.explain.n_rows, "n_background": self.explain.background,
                                  **self.compare.config}
        fields.setdefault("min_rows", min(20, max(2, int(fields["n_rows"]))))
        budgets = {m.method: m.budget for m in self.explain.methods if m.budget is not None}
        if "budget" not in self.compare.config and budgets:
            fields["budgets"] = {**budgets, **(self.compare.config.get("budgets") or {})}
        params = {m.method: dict(m.params) for m in self.explain.methods if m.params}
        if params:  # the verdict is judged on the explanations the run shows
            fields["params"] = {**params, **(self.compare.config.get("params") or {})}
        self._compare_config = CompareConfig.from_dict(fields, path="compare.config")
        return self

    @property
    def compare_config(self) -> CompareConfig:
        """The :class:`leanlens.CompareConfig` of the run, validated once: ``compare.config`` over
        the ``explain`` section's rows, background and per-method budgets."""
        return self._compare_config  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (paths as strings) that :func:`parse_pipeline_config` reads back."""
        return json.loads(self.model_dump_json())


# -- loading and error messages ----------------------------------------------------------

def parse_pipeline_config(data: Any, *, source: str = "pipeline") -> PipelineConfig:
    """Validate a dict (parsed YAML) into a :class:`PipelineConfig`; ConfigError on any problem."""
    if isinstance(data, PipelineConfig):
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"The {source!r} config must be a mapping at the top level. Got {type(data).__name__}.")
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML file.

    Relative ``data.path`` and ``model.path`` are resolved against the file's folder.
    YAML syntax errors name the line and column.
    """
    p = Path(path)
    cfg = parse_pipeline_config(load_yaml(p, param="pipeline"), source=str(p))
    base = p.resolve().parent
    data = cfg.data
    model = cfg.model
    if data.path is not None and not data.path.is_absolute():
        data = data.model_copy(update={"path": base / data.path})
    if model.path is not None and not model.path.is_absolute():
        model = model.model_copy(update={"path": base / model.path})
    return cfg.model_copy(update={"data": data, "model": model})


def json_schema(of: str = "pipeline") -> dict[str, Any]:
    """The JSON schema of a YAML file leanlens reads (what ``leanlens schema OF`` prints).

    ``of``: ``"pipeline"`` (pipeline.yaml), ``"train"`` (TrainConfig, ``train --config``),
    ``"compare"`` (CompareConfig, ``compare --config``) or ``"plan"`` (one plan step).
    """
    from .._schema import config_schema
    from ..compare import CompareConfig
    from ..compress.plan import STEP_TYPES
    from ..models.trainer import TrainConfig

    files: dict[str, Any] = {"train": TrainConfig, "compare": CompareConfig}
    if of in files:
        one = config_schema(files[of])
        one["properties"] = {"version": {"const": 1, "default": 1}, **one["properties"]}
        return one
    if of not in ("pipeline", "plan"):
        raise InvalidInputError(f"The schema to print must be one of 'pipeline', 'train', 'compare', 'plan'. "
                                f"Got {of!r} instead.{did_you_mean(of, ('pipeline', 'train', 'compare', 'plan'))}")
    schema = PipelineConfig.model_json_schema()
    schema["title"] = "leanlens pipeline"
    defs = schema["$defs"]
    # The plan steps, CompareConfig and TrainConfig are dataclasses validated by their declared
    # constraints; their schema comes from the same declarations, so every key is typed.
    steps = {name: {"anyOf": [config_schema(cls), {"type": "null"}]} for name, cls in STEP_TYPES.items()}
    defs["PlanSpec"]["properties"]["steps"]["items"] = {
        "type": "object", "properties": steps, "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
        "description": "One step: its name and its settings, e.g. {prune: {kind: structured, amount: 0.5}}.",
    }
    compare = config_schema(CompareConfig)
    defs["CompareSpec"]["properties"]["config"] = {**compare, "description": "Fields of leanlens.CompareConfig."}
    # A method may be given by name alone (`methods: [shapley, ig]`); the loader turns it into a spec.
    methods = defs["ExplainSpec"]["properties"]["methods"]
    methods["items"] = {"anyOf": [{"type": "string", "description": "a method name"}, methods["items"]]}
    if of == "plan":
        return {"title": "leanlens plan", "type": "array", "items": defs["PlanSpec"]["properties"]["steps"]["items"]}
    train = config_schema(TrainConfig)["properties"]
    for key, prop in defs["TrainSpec"]["properties"].items():
        if key in train:
            prop.update({k: v for k, v in train[key].items() if k != "default"})
    return schema


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]")))
        where = _loc_text(loc)
        where = where if len(where) <= 200 else where[:196] + "…"
        if err["type"] == "extra_forbidden":
            valid = _field_names_at(PipelineConfig, loc[:-1])
            hint = did_you_mean(str(loc[-1])[:200], valid) if valid else ""
            valid_txt = f" Valid keys: {', '.join(valid)}." if valid else ""
            lines.append(f"{where}: unknown key {short_repr(loc[-1])}.{hint}{valid_txt}")
        elif err["type"] == "literal_error":
            options = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            lines.append(f"{where}: {err['msg']}; got {short_repr(err['input'])}.{did_you_mean(str(err['input'])[:200], options)}")
        elif err["type"] == "missing":
            lines.append(f"{where}: required key is missing.")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ").rstrip(".")
            lines.append(f"{where}: {msg if len(msg) <= 300 else msg[:296] + '…'}; got {short_repr(err['input'])}.")
    head = f"The {source!r} config is invalid ({len(lines)} problem{'s' if len(lines) != 1 else ''}): "
    more = f" | … and {len(lines) - 10} more" if len(lines) > 10 else ""
    return head + " | ".join(lines[:10]) + more


def _field_names_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping at ``loc`` (walking nested models, lists and dicts)."""
    ann: Any = model
    for part in loc:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if not isinstance(part, str) or part not in ann.model_fields:
                return []
            ann = ann.model_fields[part].annotation
        elif get_origin(ann) in (list, tuple) and isinstance(part, int):
            ann = get_args(ann)[0]
        elif get_origin(ann) is dict:
            ann = get_args(ann)[1]
        else:
            return []
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return list(ann.model_fields)
    return []


def _unwrap(ann: Any) -> Any:
    """``X | None`` → ``X``."""
    args = [a for a in get_args(ann) if a is not type(None)]
    if get_origin(ann) is not None and get_origin(ann) not in (list, tuple, dict) and len(args) == 1:
        return args[0]
    return ann
