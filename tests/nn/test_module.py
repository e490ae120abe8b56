"""Module and Parameter: registration by assignment, traversal, modes, state dicts, dtype casts, copies, repr."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones import nn
from neurones.errors import DTypeError, StateDictError


class Block(nn.Module):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=seed)
        self.scale = nn.Parameter(np.full(4, 2.0, dtype=np.float32))
        self.register_buffer("count", nr.tensor(np.zeros(1, dtype=np.float32)))
        self.register_buffer("steps", nr.tensor(np.array(0, dtype=np.int64)))
        self.register_buffer("scratch", nr.zeros(2), persistent=False)
        self.note = "a plain attribute"

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.first = Block(seed)
        self.second = Block(seed + 1)
        self.head = nn.Linear(4, 2, rng=seed + 2)

    def forward(self, x):
        return self.head(self.first(x) + self.second(x))


PARAMETER_NAMES = [  # a module's own parameters come before its children's, as in PyTorch
    "first.scale",
    "first.fc.weight",
    "first.fc.bias",
    "second.scale",
    "second.fc.weight",
    "second.fc.bias",
    "head.weight",
    "head.bias",
]


# ------------------------------------------------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_requiring_grad_that_shares_a_tensors_array():
    t = nr.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, nr.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is t.data
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter([1.0]).dtype == np.float32
    assert nn.Parameter().shape == (0,)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_parameter_of_integers_cannot_require_grad():
    with pytest.raises(DTypeError):
        nn.Parameter(np.arange(3))
    assert nn.Parameter(np.arange(3), requires_grad=False).dtype == np.int64


def test_parameter_receives_gradients():
    p = nn.Parameter(np.array([1.0, -2.0]))
    (p * p).backward(np.ones(2))
    np.testing.assert_allclose(p.grad.data, [2.0, -4.0])


def test_empty_parameter_refuses_integer_dtypes():
    from neurones.nn.parameter import empty_parameter

    assert empty_parameter((2, 3), "float64").dtype == np.float64
    with pytest.raises(DTypeError, match="floating"):
        empty_parameter((2,), np.int32)


# ----------------------------------------------------------------------------------------------- registration
def test_assignment_registers_parameters_buffers_and_submodules():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    assert list(block._parameters) == ["scale"]
    assert list(block._modules) == ["fc"]
    assert [name for name, _ in block.named_buffers()] == ["count", "steps", "scratch"]
    assert block.note == "a plain attribute" and "note" not in block._parameters
    assert isinstance(block.fc, nn.Linear) and block.scale is block._parameters["scale"]
    assert "scale" in dir(block) and "fc" in dir(block)


def test_parameters_follow_registration_order_depth_first():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == PARAMETER_NAMES
    assert len(list(net.parameters())) == 8
    assert [name for name, _ in net.named_parameters(recurse=False)] == []
    assert [name for name, _ in net.first.named_parameters(prefix="first")] == PARAMETER_NAMES[:3]


def test_named_modules_children_and_get_submodule():
    net = Net()
    assert [name for name, _ in net.named_modules()] == ["", "first", "first.fc", "second", "second.fc", "head"]
    assert [name for name, _ in net.named_children()] == ["first", "second", "head"]
    assert list(net.children()) == [net.first, net.second, net.head]
    assert len(list(net.modules())) == 6
    assert net.get_submodule("second.fc") is net.second.fc
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="third"):
        net.get_submodule("third.fc")


def test_shared_parameters_and_modules_are_yielded_once():
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]
    assert len(list(model.named_modules(remove_duplicate=False))) == 4
    tied = nn.Linear(2, 2, rng=1)
    tied.other = nn.Linear(2, 2, rng=2)
    tied.other.weight = tied.weight
    assert [name for name, _ in tied.named_parameters()] == ["weight", "bias", "other.bias"]
    assert list(tied.state_dict()) == ["weight", "bias", "other.weight", "other.bias"]
    # The unnamed walks (parameters, buffers, modules: the fast path of zero_grad) agree with the named ones.
    for module in (model, tied, Net()):
        assert [id(p) for p in module.parameters()] == [id(p) for _, p in module.named_parameters()]
        assert [id(b) for b in module.buffers()] == [id(b) for _, b in module.named_buffers()]
        assert [id(m) for m in module.modules()] == [id(m) for _, m in module.named_modules()]
    assert len(list(nn.BatchNorm1d(3).buffers())) == 3
    assert len(list(model.parameters(recurse=False))) == 0


def test_reassignment_moves_names_between_registries():
    block = Block()
    block.scale = None
    assert block.scale is None and len(list(block.parameters())) == 2
    with pytest.raises(TypeError, match="Parameter or None"):
        block.scale = nr.ones(4)
    block.fc = nn.Parameter(np.ones(2, dtype=np.float32))  # a submodule replaced by a parameter
    assert "fc" not in block._modules and block.fc.shape == (2,)
    block.count = nr.ones(1)
    assert block._buffers["count"].data[0] == 1.0
    with pytest.raises(TypeError, match="buffer"):
        block.count = 3.0
    block.note = nn.ReLU()
    assert "note" in block._modules and "note" not in block.__dict__
    with pytest.raises(TypeError, match="Module or None"):
        block.note = 1
    del block.note, block.count, block.fc
    assert not hasattr(block, "note") and "count" not in block._buffers and "fc" not in block._parameters
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        block.missing


def test_registration_errors():
    class Early(nn.Module):
        def __init__(self) -> None:
            self.weight = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match=r"before Module\.__init__"):
        Early()
    module = nn.Module()
    with pytest.raises(KeyError, match=r"\."):
        module.register_buffer("a.b", nr.ones(1))
    with pytest.raises(KeyError, match="empty"):
        module.register_parameter("", None)
    with pytest.raises(TypeError, match="Tensor or None"):
        module.register_buffer("b", np.ones(1))
    with pytest.raises(TypeError, match="Parameter or None"):
        module.register_parameter("w", nr.ones(1))
    module.plain = 1
    with pytest.raises(KeyError, match="already exists"):
        module.register_buffer("plain", nr.ones(1))
    with pytest.raises(TypeError, match="not a Module"):
        module.add_module("x", nr.ones(1))
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        module(nr.ones(1))


def test_call_runs_forward():
    block = Block()
    x = nr.tensor(np.ones((5, 3), dtype=np.float32))
    expected = (x.data @ block.fc.weight.data.T + block.fc.bias.data) * 2.0
    np.testing.assert_allclose(block(x).data, expected, rtol=1e-6)


# ----------------------------------------------------------------------------------------------------- modes
def test_train_and_eval_propagate_to_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.second.train(False)
    assert net.training and not net.second.training and not net.second.fc.training and net.first.training
    with pytest.raises(ValueError, match="boolean"):
        net.train(1)


def test_zero_grad_and_requires_grad():
    block = Block()
    block(nr.tensor(np.ones((2, 3), dtype=np.float32))).backward(np.ones((2, 4), dtype=np.float32))
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(shared, nn.ReLU(), shared)  # a shared module is reset once, without error
    model(nr.tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in model.parameters())
    assert block.requires_grad_(False) is block
    assert not any(p.requires_grad for p in block.parameters())


def test_apply_visits_children_then_self():
    net = Net()
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Block", "Linear", "Block", "Linear", "Net"]

    def zero_linear_biases(module):
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)

    net.apply(zero_linear_biases)
    assert all(np.all(m.bias.data == 0) for m in net.modules() if isinstance(m, nn.Linear))


# ------------------------------------------------------------------------------------------------ state dict
def test_state_dict_holds_copies_of_parameters_and_persistent_buffers():
    net = Net()
    state = net.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == [
        "first.scale",
        "first.count",
        "first.steps",
        "first.fc.weight",
        "first.fc.bias",
        "second.scale",
        "second.count",
        "second.steps",
        "second.fc.weight",
        "second.fc.bias",
        "head.weight",
        "head.bias",
    ]
    assert all(type(v) is np.ndarray for v in state.values())
    np.testing.assert_array_equal(state["head.weight"], net.head.weight.data)
    state["head.weight"][:] = 7.0
    assert not np.any(net.head.weight.data == 7.0)
    assert state["first.steps"].dtype == np.int64
    kept = net.state_dict(keep_vars=True)
    assert kept["head.weight"] is net.head.weight
    assert next(iter(net.state_dict(prefix="model."))) == "model.first.scale"


def test_state_dict_round_trip_keeps_the_parameter_objects():
    source, target = Net(seed=0), Net(seed=10)
    weight = target.head.weight
    source.first.count.data[:] = 5.0
    result = target.load_state_dict(source.state_dict())
    assert result == nn.IncompatibleKeys([], []) and result.missing_keys == []
    assert target.head.weight is weight
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert target.first.count.data[0] == 5.0
    x = nr.tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_load_state_dict_accepts_tensors_and_casts_to_the_model_dtype():
    model = nn.Linear(2, 3, rng=0)
    weight = nr.tensor(np.arange(6.0).reshape(3, 2))  # float64 source into a float32 model
    model.load_state_dict({"weight": weight, "bias": [1.0, 2.0, 3.0]})
    assert model.weight.dtype == np.float32
    np.testing.assert_array_equal(model.weight.data, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(model.bias.data, [1.0, 2.0, 3.0])


def test_load_state_dict_bumps_versions_so_stale_graphs_are_detected():
    model = nn.Linear(2, 2, rng=0)
    before = model.weight._version
    model.load_state_dict(model.state_dict())
    assert model.weight._version > before


def test_strict_load_reports_missing_unexpected_and_mismatched_keys_together():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    before = model.state_dict()
    state = model.state_dict()
    del state["2.bias"]
    state["2.extra"] = np.zeros(1)
    state["0.weight"] = np.zeros((3, 3))
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "2.bias".' in message
    assert 'Unexpected key(s) in state_dict: "2.extra".' in message
    assert (
        "size mismatch for 0.weight: copying a param with shape (3, 3) from checkpoint, "
        "the shape in current model is (4, 3)." in message
    )
    assert isinstance(info.value, RuntimeError)
    for name, value in model.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(value, before[name])


def test_non_strict_load_returns_the_incompatible_keys_but_still_refuses_shape_mismatches():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1))
    state = {"0.weight": np.ones((4, 3)), "9.weight": np.ones(2)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "1.weight", "1.bias"]
    assert result.unexpected_keys == ["9.weight"]
    np.testing.assert_array_equal(model[0].weight.data, np.ones((4, 3)))
    with pytest.raises(StateDictError, match=r"size mismatch for 0\.bias"):
        model.load_state_dict({"0.bias": np.ones(3)}, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([("0.bias", np.ones(4))])


def test_state_dict_keys_match_pytorch_and_torch_checkpoints_load():
    torch = reference_library("torch")
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    # float32 products summed in different orders: an absolute tolerance for outputs that nearly cancel.
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(nr.tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------------------------------- dtype
def test_to_casts_floating_tensors_in_place_of_their_data():
    block = Block()
    params_before = list(block.parameters())
    block(nr.tensor(np.ones((2, 3), dtype=np.float32))).backward(np.ones((2, 4), dtype=np.float32))
    assert block.to(np.float64) is block
    assert all(a is b for a, b in zip(block.parameters(), params_before, strict=True))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in block.parameters())
    assert block.count.dtype == np.float64 and block.scratch.dtype == np.float64
    assert block.steps.dtype == np.int64
    out = block(nr.tensor(np.ones((2, 3))))
    assert out.dtype == np.float64
    block.float()
    assert all(p.dtype == np.float32 for p in block.parameters())
    block.to("float64")
    assert block.fc.weight.dtype == np.float64
    block.half()
    assert block.fc.weight.dtype == np.float16
    block.double().to(nr.zeros(1))  # a tensor argument gives its dtype
    assert block.fc.weight.dtype == np.float32


def test_to_accepts_the_cpu_and_refuses_other_devices_and_integer_dtypes():
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.to(device="cpu", dtype="float64").weight.dtype == np.float64
    with pytest.raises(ValueError, match="CPU"):
        model.to("cuda")
    with pytest.raises(DTypeError, match="floating"):
        model.to(np.int32)


# ----------------------------------------------------------------------------------------------- copies, repr
def test_deepcopy_and_pickle_give_independent_trainable_modules():
    for clone in (copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))):
        original = Block()
        twin = clone(original)
        assert twin.fc.weight is not original.fc.weight
        np.testing.assert_array_equal(twin.fc.weight.data, original.fc.weight.data)
        twin(nr.tensor(np.ones((1, 3), dtype=np.float32))).backward(np.ones((1, 4), dtype=np.float32))
        assert twin.fc.weight.grad is not None and original.fc.weight.grad is None
        twin.fc.weight.data[:] = 0.0
        assert not np.all(original.fc.weight.data == 0.0)
        assert twin.note == original.note and twin.scratch.shape == (2,)


def test_repr_nests_children_with_their_extra_repr():
    net = nn.Sequential(OrderedDict([("body", nn.Sequential(nn.Linear(3, 4), nn.ReLU())), ("out", nn.Linear(4, 1))]))
    assert repr(net) == (
        "Sequential(\n"
        "  (body): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): ReLU()\n"
        "  )\n"
        "  (out): Linear(in_features=4, out_features=1, bias=True)\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"
