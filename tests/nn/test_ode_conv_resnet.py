"""ODEConvResNet (the CIFAR-10 model of seed 003): shapes, the smooth and i.i.d. kernel laws, gradients, batch
normalization in training and evaluation, state dicts, and PyTorch's forward on the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones.analysis.neural_ode import roughness
from neurones.nn import ODEConvBlock, ODEConvResNet
from neurones.nn.ode_conv_resnet import kernel_std


def images(n: int, dtype=np.float32, seed: int = 0) -> nr.Tensor:
    return nr.tensor(np.random.default_rng(seed).standard_normal((n, 3, 32, 32)).astype(dtype))


def test_shapes_through_the_network():
    model = ODEConvResNet(3, rng=0)
    x = images(4)
    stem = model.stem_relu(model.stem_bn(model.stem_conv(x)))
    assert stem.shape == (4, 16, 10, 10)
    h = stem
    for block in model.blocks:
        h = block(h)
        assert h.shape == (4, 16, 10, 10)
    assert model.pool(h).shape == (4, 16, 2, 2)
    out = model(x)
    assert out.shape == (4, 10) and out.dtype == np.float32
    assert model.fc.weight.shape == (10, 64)
    assert len(model.blocks) == 3 and all(block.step == pytest.approx(1 / 3) for block in model.blocks)
    first, second = model.stacked_kernels()
    assert first.shape == second.shape == (3, 16, 16, 3, 3)
    first[0] += 1.0  # a copy: the model is untouched
    assert not np.shares_memory(first, model.blocks[0].conv1.weight.data)
    assert model.blocks[0].conv1.bias.shape == (16,) and model.stem_conv.bias is None  # the authors keep biases
    assert model.stem_conv.stride == (3, 3) and model.stem_conv.padding == (1, 1)


def test_block_is_euler_step_of_its_branch():
    block = ODEConvBlock(4, depth=8, rng=1)
    x = nr.tensor(np.random.default_rng(2).standard_normal((3, 4, 5, 5)).astype(np.float32))
    np.testing.assert_array_equal(block(x).data, x.data)  # the zeroed second normalization: the branch starts at 0
    with nr.no_grad():
        block.bn2.weight.copy_(np.random.default_rng(3).standard_normal(4).astype(np.float32))
    branch = block.bn2(block.conv2(block.activation(block.bn1(block.conv1(x)))))
    np.testing.assert_allclose(block(x).data, x.data + branch.data / 8, rtol=1e-6, atol=1e-6)


def test_constant_init_repeats_one_kernel_in_every_block():
    model = ODEConvResNet(6, "constant", rng=3)
    for name in ("conv1", "conv2"):  # biases repeated too, as in the authors' smooth init
        biases = np.stack([getattr(block, name).bias.data for block in model.blocks])
        np.testing.assert_array_equal(biases, np.broadcast_to(biases[0], biases.shape))
    for kernels in model.stacked_kernels():
        assert roughness(kernels) == 0.0
        np.testing.assert_array_equal(kernels, np.broadcast_to(kernels[0], kernels.shape))
        assert np.std(kernels[0]) == pytest.approx(1 / math.sqrt(3 * 144), rel=0.08)
    first, second = model.stacked_kernels()
    assert not np.allclose(first[0], second[0])  # the two convolutions are two draws


def test_iid_init_draws_every_block_afresh():
    model = ODEConvResNet(6, "iid", rng=3)
    std = 1 / math.sqrt(3 * 144)
    for kernels in model.stacked_kernels():
        steps = np.linalg.norm(np.diff(kernels, axis=0).reshape(5, -1), axis=1)
        # Z_{k+1} − Z_k has 2304 i.i.d. N(0, 2 std²) entries: its norm is about √(2·2304)·std
        np.testing.assert_allclose(steps, math.sqrt(2 * 2304) * std, rtol=0.08)
        assert np.std(kernels) == pytest.approx(std, rel=0.05)


def test_gp_init_is_smooth_in_depth():
    std = kernel_std("he", 144)
    assert std == pytest.approx(math.sqrt(2 / 144))
    rough = {}
    for depth in (16, 64):
        model = ODEConvResNet(depth, "gp", weight_scale="he", bandwidth=0.5, rng=4)
        first, _ = model.stacked_kernels()
        rough[depth] = roughness(first)
        assert np.std(first) == pytest.approx(std, rel=0.35)  # one GP draw: a few effective samples per entry
        assert rough[depth] > 0
    iid = roughness(ODEConvResNet(16, "iid", weight_scale="he", rng=4).stacked_kernels()[0])
    # a C^∞ function sampled at spacing 1/L moves by O(1/L) between neighbours; i.i.d. draws move by O(1)
    assert rough[16] < iid / 5
    assert rough[64] == pytest.approx(rough[16] / 4, rel=0.5)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="depth must be at least 1"):
        ODEConvResNet(0)
    with pytest.raises(ValueError, match="init must be one of"):
        ODEConvResNet(2, "smooth")
    with pytest.raises(ValueError, match="activation must be one of"):
        ODEConvResNet(2, activation="softplus")
    with pytest.raises(ValueError, match="weight_scale must be one of"):
        ODEConvResNet(2, weight_scale="xavier")


def test_gradients_of_the_composed_model():
    model = ODEConvResNet(2, "gp", channels=2, dtype=np.float64, rng=5)
    x = images(3, np.float64, seed=6).requires_grad_()
    assert nr.gradcheck(lambda inp: model(inp), [x], directions=3)
    small = [model.blocks[1].conv1.weight, model.blocks[0].bn2.weight, model.stem_bn.bias]
    x.requires_grad_(False)
    assert nr.gradcheck(lambda *params: model(x), small)
    assert nr.gradcheck(lambda w: model(x), [model.fc.weight], directions=3)


def test_batch_norm_in_training_and_evaluation():
    model = ODEConvResNet(2, rng=7)
    x = images(8, seed=8)
    bn = model.blocks[1].bn2
    assert model.training and bn.num_batches_tracked.item() == 0
    full = model(x).data
    assert bn.num_batches_tracked.item() == 1 and not np.allclose(bn.running_mean.data, 0)
    # in training, an example's output depends on the rest of its batch (batch statistics)
    assert not np.allclose(model(x[:4]).data, full[:4], atol=1e-4)
    model.eval()
    running = bn.running_mean.data.copy()
    alone = model(x[:1]).data
    np.testing.assert_allclose(model(x).data[:1], alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.data, running)
    assert bn.num_batches_tracked.item() == 2


def test_state_dict_round_trip():
    source = ODEConvResNet(3, "gp", rng=9)
    source(images(6, seed=10))  # move the running statistics away from their initial values
    state = source.state_dict()
    assert {"stem_conv.weight", "blocks.2.conv2.weight", "blocks.0.bn1.running_var", "fc.bias"} <= set(state)
    target = ODEConvResNet(3, "iid", rng=11)
    target.load_state_dict(state)
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    source.eval()
    target.eval()
    x = images(2, seed=12)
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_matches_pytorch_on_the_same_weights():
    torch = reference_library("torch")
    tnn = torch.nn

    class TorchBlock(tnn.Module):
        def __init__(self, depth):
            super().__init__()
            self.conv1 = tnn.Conv2d(16, 16, 3, padding=1)
            self.bn1 = tnn.BatchNorm2d(16)
            self.conv2 = tnn.Conv2d(16, 16, 3, padding=1)
            self.bn2 = tnn.BatchNorm2d(16)
            self.depth = depth

        def forward(self, x):
            return x + self.bn2(self.conv2(tnn.functional.gelu(self.bn1(self.conv1(x))))) / self.depth

    class TorchModel(tnn.Module):
        def __init__(self, depth):
            super().__init__()
            self.stem_conv = tnn.Conv2d(3, 16, 5, stride=3, padding=1, bias=False)
            self.stem_bn = tnn.BatchNorm2d(16)
            self.blocks = tnn.ModuleList(TorchBlock(depth) for _ in range(depth))
            self.fc = tnn.Linear(64, 10)

        def forward(self, x):
            h = torch.relu(self.stem_bn(self.stem_conv(x)))
            for block in self.blocks:
                h = block(h)
            return self.fc(tnn.functional.avg_pool2d(h, 4).flatten(1))

    model = ODEConvResNet(3, "gp", rng=13)
    with nr.no_grad():  # a non-zero branch, so that the comparison covers the blocks
        for block in model.blocks:
            block.bn2.weight.copy_(np.random.default_rng(4).uniform(0.5, 1.5, 16).astype(np.float32))
    reference = TorchModel(3)
    reference.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in model.state_dict().items()})
    x = images(5, seed=14)
    for _ in range(2):  # training mode, twice: batch statistics, then running statistics updated the same way
        np.testing.assert_allclose(model(x).data, reference(torch.from_numpy(x.data)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    model.eval()
    reference.eval()
    np.testing.assert_allclose(model(x).data, reference(torch.from_numpy(x.data)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
