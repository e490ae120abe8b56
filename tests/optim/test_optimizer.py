"""The Optimizer machinery: parameter groups, zero_grad, closures, versions, state dicts, validation."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import optim
from neurones.errors import InplaceError, ShapeError
from tests.helpers import reference_library
from tests.optim.problems import gradients, starting_point


def float64_params():
    return [nr.tensor(theta, dtype=np.float64, requires_grad=True) for theta in starting_point()]


def feed_gradients(params, t: int) -> None:
    for p, g in zip(params, gradients([p.data for p in params], t)):
        p.grad = nr.tensor(g, dtype=np.float64)


def run(optimizer, params, steps: range) -> None:
    for t in steps:
        feed_gradients(params, t)
        optimizer.step()


# ------------------------------------------------------------------------------------------------ state dicts
OPTIMIZERS = [
    (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adam, {"lr": 0.05, "amsgrad": True}),
    (optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("cls", "options"), OPTIMIZERS, ids=[cls.__name__ for cls, _ in OPTIMIZERS])
def test_continuing_after_load_state_dict_gives_identical_numbers(cls, options):
    params = float64_params()
    optimizer = cls(params, **options)
    run(optimizer, params, range(1, 21))
    saved = optimizer.state_dict()
    resumed_params = [nr.tensor(p.data.copy(), requires_grad=True) for p in params]
    resumed = cls(resumed_params, lr=123.0)  # options come from the state dict
    resumed.load_state_dict(saved)
    run(optimizer, params, range(21, 51))
    run(resumed, resumed_params, range(21, 51))
    for p, q in zip(params, resumed_params):
        np.testing.assert_array_equal(p.data, q.data)
    assert resumed.param_groups[0]["lr"] == options["lr"]


def test_state_dict_structure_and_copies():
    params = float64_params()
    optimizer = optim.Adam([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5}], lr=0.05)
    run(optimizer, params, range(1, 3))
    saved = optimizer.state_dict()
    assert [group["params"] for group in saved["param_groups"]] == [[0], [1]]
    assert [group["lr"] for group in saved["param_groups"]] == [0.05, 0.5]
    assert set(saved["state"]) == {0, 1}
    assert set(saved["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert saved["state"][1]["step"] == 2
    before = saved["state"][0]["exp_avg"].copy()
    run(optimizer, params, range(3, 5))
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)  # the dict holds copies
    assert saved["state"][0]["exp_avg"] is not optimizer.state[params[0]]["exp_avg"]


def test_state_dict_has_the_structure_of_torch():
    torch = reference_library("torch")
    thetas = starting_point()
    ours = optim.SGD([nr.tensor(thetas[0], requires_grad=True), nr.tensor(thetas[1], requires_grad=True)], momentum=0.9)
    theirs = torch.optim.SGD([torch.tensor(thetas[0], requires_grad=True), torch.tensor(thetas[1])], momentum=0.9)
    for p, g in zip(ours.param_groups[0]["params"], gradients(thetas, 1)):
        p.grad = nr.tensor(g)
    for p, g in zip(theirs.param_groups[0]["params"], gradients(thetas, 1)):
        p.grad = torch.from_numpy(g)
    ours.step()
    theirs.step()
    ours_dict, theirs_dict = ours.state_dict(), theirs.state_dict()
    assert ours_dict["state"].keys() == theirs_dict["state"].keys()
    assert ours_dict["state"][1].keys() == theirs_dict["state"][1].keys()
    for key, value in ours_dict["param_groups"][0].items():
        assert theirs_dict["param_groups"][0][key] == value


def test_load_state_dict_casts_to_the_parameter_dtype():
    params = float64_params()
    optimizer = optim.RMSprop(params, momentum=0.5)
    run(optimizer, params, range(1, 3))
    saved = optimizer.state_dict()
    float32_params = [nr.tensor(p.data, dtype=np.float32, requires_grad=True) for p in params]
    restored = optim.RMSprop(float32_params, momentum=0.5)
    restored.load_state_dict(saved)
    buffer = restored.state[float32_params[0]]["momentum_buffer"]
    assert buffer.dtype == np.float32
    np.testing.assert_allclose(buffer, saved["state"][0]["momentum_buffer"], rtol=1e-6)
    assert restored.state[float32_params[0]]["step"] == 2


def test_load_state_dict_validates_groups_and_shapes():
    params = float64_params()
    optimizer = optim.SGD(params, momentum=0.9)
    run(optimizer, params, range(1, 2))
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match=r"1 parameter group\(s\), but the optimizer has 2"):
        optim.SGD([{"params": [params[0]]}, {"params": [params[1]]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 has 2 parameters, but the optimizer's group 0 has 1"):
        optim.SGD([params[0]]).load_state_dict(saved)
    swapped = [nr.tensor(np.zeros(5), requires_grad=True), nr.tensor(np.zeros((3, 4)), requires_grad=True)]
    with pytest.raises(ShapeError, match=r"'momentum_buffer' of parameter 0 has shape \(3, 4\).*\(5,\)"):
        optim.SGD(swapped, momentum=0.9).load_state_dict(saved)


# ---------------------------------------------------------------------------------------------- param groups
def test_param_groups_with_different_learning_rates():
    params = float64_params()
    optimizer = optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": params[1]}], lr=0.01, momentum=0.5)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.01]
    assert optimizer.param_groups[1]["momentum"] == 0.5
    thetas = starting_point()
    feed_gradients(params, 1)
    optimizer.step()
    first = gradients(thetas, 1)
    np.testing.assert_allclose(params[0].data, thetas[0] - 0.1 * first[0], rtol=1e-15)
    np.testing.assert_allclose(params[1].data, thetas[1] - 0.01 * first[1], rtol=1e-15)


def test_add_param_group_takes_the_defaults():
    params = float64_params()
    optimizer = optim.Adam([params[0]], lr=0.05, betas=(0.8, 0.9))
    optimizer.add_param_group({"params": params[1], "lr": 0.5})
    group = optimizer.param_groups[1]
    assert len(group["params"]) == 1 and group["params"][0] is params[1]
    assert group["lr"] == 0.5 and group["betas"] == (0.8, 0.9)
    run(optimizer, params, range(1, 2))
    assert optimizer.state[params[1]]["step"] == 1


def test_named_parameters_are_accepted():
    params = float64_params()
    optimizer = optim.SGD([("weight", params[0]), ("bias", params[1])], lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["weight", "bias"]
    assert optimizer.param_groups[0]["params"][1] is params[1]


def test_adagrad_creates_its_state_with_the_group():
    params = float64_params()
    optimizer = optim.Adagrad(params, initial_accumulator_value=0.25)
    assert optimizer.state[params[0]]["step"] == 0
    np.testing.assert_array_equal(optimizer.state[params[0]]["sum"], np.full((3, 4), 0.25))


def test_constructor_errors():
    p = nr.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}])
    with pytest.warns(UserWarning, match="duplicate"):
        optim.SGD([p, p])


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (optim.SGD, {"lr": -1.0}, "invalid learning rate"),
        (optim.SGD, {"momentum": -0.1}, "Invalid momentum"),
        (optim.SGD, {"weight_decay": -0.1}, "Invalid weight_decay"),
        (optim.SGD, {"nesterov": True}, "Nesterov momentum requires"),
        (optim.SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "Nesterov momentum requires"),
        (optim.Adagrad, {"lr_decay": -1.0}, "Invalid lr_decay"),
        (optim.Adagrad, {"initial_accumulator_value": -1.0}, "Invalid initial_accumulator_value"),
        (optim.Adagrad, {"eps": -1.0}, "Invalid epsilon"),
        (optim.RMSprop, {"alpha": -0.5}, "Invalid alpha"),
        (optim.RMSprop, {"momentum": -0.5}, "Invalid momentum"),
        (optim.Adam, {"betas": (1.0, 0.999)}, "beta parameter at index 0"),
        (optim.Adam, {"betas": (0.9, -0.1)}, "beta parameter at index 1"),
        (optim.Adam, {"betas": (0.9,)}, "pair"),
        (optim.AdamW, {"weight_decay": -1.0}, "Invalid weight_decay"),
        (optim.AdamW, {"eps": -1.0}, "Invalid epsilon"),
    ],
)
def test_hyperparameters_are_validated(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls([nr.tensor(np.zeros(2), requires_grad=True)], **options)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad, optim.RMSprop])
@pytest.mark.parametrize(
    ("lr", "error", "message"),
    [
        (float("nan"), ValueError, "invalid learning rate nan"),
        (float("inf"), ValueError, "invalid learning rate inf"),
        (-0.1, ValueError, "invalid learning rate -0.1"),
        ("0.1", TypeError, r"the learning rate must be a real number, got '0.1' \(str\)"),
        (None, TypeError, "the learning rate must be a real number, got None"),
    ],
)
def test_learning_rates_are_finite_non_negative_numbers(cls, lr, error, message):
    with pytest.raises(error, match=f"{cls.__name__}: {message}"):
        cls([nr.tensor(np.zeros(2), requires_grad=True)], lr=lr)
    with pytest.raises(error, match=message):  # a group's own learning rate too
        cls([{"params": [nr.tensor(np.zeros(2), requires_grad=True)], "lr": lr}], lr=0.1)


def test_torch_defaults():
    p = [nr.tensor(np.zeros(2), requires_grad=True)]
    assert optim.SGD(p).defaults["lr"] == 1e-3
    assert optim.Adagrad(p).defaults == {
        "lr": 1e-2, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10, "maximize": False,
    }  # fmt: skip
    rms = optim.RMSprop(p).defaults
    assert (rms["lr"], rms["alpha"], rms["eps"], rms["momentum"], rms["centered"]) == (1e-2, 0.99, 1e-8, 0, False)
    adam, adamw = optim.Adam(p).defaults, optim.AdamW(p).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 0)
    assert adamw["weight_decay"] == 1e-2 and adamw["decoupled_weight_decay"]


# ------------------------------------------------------------------------------------------- step mechanics
def test_zero_grad_sets_to_none_or_fills_with_zeros():
    params = float64_params()
    optimizer = optim.SGD(params)
    feed_gradients(params, 1)
    grad = params[0].grad
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad is grad
    np.testing.assert_array_equal(grad.data, np.zeros((3, 4)))
    optimizer.zero_grad()
    assert params[0].grad is None and params[1].grad is None
    optimizer.zero_grad(set_to_none=False)  # no gradient to fill: stays None
    assert params[0].grad is None


def test_parameters_without_gradient_are_skipped():
    params = float64_params()
    optimizer = optim.Adam(params, lr=0.1)
    params[0].grad = nr.tensor(np.ones((3, 4)))
    before = params[1].data.copy()
    optimizer.step()
    np.testing.assert_array_equal(params[1].data, before)
    assert params[1] not in optimizer.state
    assert not np.allclose(params[0].data, starting_point()[0])


def test_step_returns_the_closure_loss_computed_with_grad_enabled():
    w = nr.tensor(np.array([1.0, -2.0]), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        assert nr.is_grad_enabled()
        loss = w * w
        loss.backward(np.ones(2))
        return loss

    with nr.no_grad():
        loss = optimizer.step(closure)
    np.testing.assert_array_equal(loss.data, [1.0, 4.0])
    np.testing.assert_allclose(w.data, [0.5, -1.0])  # w − 0.25 · 2w


def test_backward_through_a_graph_that_saved_the_old_parameter_raises():
    w = nr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = nr.tensor(np.array([3.0, 4.0]))
    optimizer = optim.SGD([w], lr=0.1)
    (w * x).backward(np.ones(2))
    stale = w * x  # saves w's array
    optimizer.step()
    with pytest.raises(InplaceError, match="modified in place"):
        stale.backward(np.ones(2))
    optimizer.zero_grad()
    (w * x).backward(np.ones(2))  # a graph built after the step is fine
    np.testing.assert_array_equal(w.grad.data, [3.0, 4.0])


def test_training_with_backward_converges():
    # minimize ½‖w − target‖² with gradients from the engine
    target = np.array([1.0, -3.0, 0.5])
    w = nr.tensor(np.zeros(3), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.3, momentum=0.5)
    for _ in range(60):
        optimizer.zero_grad()
        residual = w - nr.tensor(target)
        (residual * residual * 0.5).backward(np.ones(3))
        optimizer.step()
    np.testing.assert_allclose(w.data, target, atol=1e-8)


def test_repr_lists_the_groups():
    text = repr(optim.SGD([nr.tensor(np.zeros(2), requires_grad=True)], lr=0.5))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text
