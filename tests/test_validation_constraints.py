"""The constraints vocabulary of leanlens._validation and its use by configs."""

import numpy as np
import pytest

from leanlens._validation import (
    POSITIVE,
    SEED,
    Each,
    InstanceOf,
    Interval,
    Options,
    check_param,
    check_params,
    describe,
)
from leanlens.compress import Distill, LowRank, Prune, Quantize
from leanlens.errors import ConfigError, InvalidInputError


@pytest.mark.parametrize(
    ("constraint", "good", "bad", "words"),
    [
        (Interval(int, 1), [1, 7, np.int64(3)], [0, 1.0, True, "2", None], "an int ≥ 1"),
        (Interval(int, 1, 10), [1, 10], [0, 11], "an int in [1, 10]"),
        (Interval(float, 0, 1, closed="left"), [0, 0.5, 0.999], [1, 1.0, -0.1, float("nan"), True],
         "a number in [0, 1)"),
        (Interval(float, 0, 1, closed="right"), [1, 0.1], [0, 1.1], "a number in (0, 1]"),
        (Interval(float, None, 5, closed="neither"), [-3, 4.9], [5, float("-inf")], "a number < 5"),
        (POSITIVE, [1e-9, 3], [0, -1, float("inf")], "a positive number"),
        (Options(("a", "b")), ["a", "b"], ["c", 1, ["a"]], "one of 'a', 'b'"),
        (InstanceOf(bool), [True, False, np.bool_(True)], [0, 1, "true"], "true or false"),
        (Each(Interval(int, 1), min_len=1), [[1], (2, 3)], [[], [0], "1", 1], "a non-empty list, each an int ≥ 1"),
    ],
)
def test_constraints_accept_refuse_and_say(constraint, good, bad, words):
    for v in good:
        assert constraint.accepts(v), v
    for v in bad:
        assert not constraint.accepts(v), v
    assert str(constraint) == words


def test_message_shape_names_owner_rule_and_value():
    with pytest.raises(InvalidInputError) as exc:
        check_param(5, Interval(int, 14), param="budget", owner="KernelShap")
    assert str(exc.value) == "The 'budget' parameter of KernelShap must be an int ≥ 14. Got 5 instead."
    with pytest.raises(ConfigError, match=r"must be None or an int in \[0, 4294967295\]. Got 'x' \(str\)"):
        check_param("x", SEED, param="random_state", error=ConfigError)
    with pytest.raises(InvalidInputError, match="Did you mean 'cosine'"):
        check_param("cosin", Options(("cosine", "step")), param="schedule")
    assert describe([None, Interval(int, 1), Options(("auto",))]) == "None, an int ≥ 1 or one of 'auto'"


def test_check_params_reads_mappings_and_attributes():
    spec = {"n": Interval(int, 1), "mode": [None, Options(("x",))]}
    check_params({"n": 2}, spec, owner="f()")
    with pytest.raises(InvalidInputError, match="'n' parameter of f"):
        check_params({"n": 0, "mode": "x"}, spec, owner="f()")


def test_prune_unknown_key_names_the_step_not_the_kind():
    with pytest.raises(ConfigError, match=r"^prune: unknown key 'amout'. Did you mean 'amount'\?"):
        Prune.from_dict({"amout": 0.5})
    assert Prune.from_dict({"kind": "unstructured", "criterion": "l1"}).kind == "unstructured"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: Prune(amount=1.0), "The 'amount' parameter of Prune must be a number in [0, 1). Got 1.0 instead."),
        (lambda: Prune(kind="unstructured", criterion="taylor"), "'criterion' parameter of Prune(kind='unstructured')"),
        (lambda: Prune(round_to=0), "'round_to' parameter of Prune must be None or an int ≥ 1"),
        (lambda: Quantize(ops=("MatMul", "Gem")), "'Gem' is not one of 'MatMul', 'Gemm', 'Conv'. Did you mean 'Gemm'?"),
        (lambda: Quantize(per_channel=1), "'per_channel' parameter of Quantize must be true or false"),
        (lambda: LowRank(energy=0.0), "'energy' parameter of LowRank must be None or a number in (0, 1]"),
        (lambda: Distill(hidden=(8, 0)), "'hidden' parameter of Distill must be a list of at most 64 items, each an int in [1, 65536]"),
    ],
)
def test_step_configs_use_the_declared_constraints(make, fragment):
    with pytest.raises(ConfigError) as exc:
        make()
    assert fragment in str(exc.value)


def test_upper_bounds_are_one_argument_away():
    spec = Interval(int, 1, 10_000)
    assert spec.accepts(10_000) and not spec.accepts(10_001)
    with pytest.raises(InvalidInputError, match=r"an int in \[1, 10000\]. Got 10001"):
        check_param(10_001, spec, param="epochs")
