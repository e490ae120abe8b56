"""The MNIST-1D reference models: architecture, parameter counts, seeding, and outputs equal to PyTorch's."""

from __future__ import annotations

import numpy as np
from tests.helpers import reference_library

import neurones as nr
from neurones.nn.reference import mnist1d_cnn, mnist1d_mlp


def _count(model) -> int:
    return sum(p.data.size for p in model.parameters())


def test_parameter_counts_and_output_shapes():
    # MLP: 40·100 + 100, 100·100 + 100, 100·10 + 10.  CNN: 1·25·5 + 25, 2 × (25·25·3 + 25), 125·10 + 10.
    assert _count(mnist1d_mlp(rng=0)) == 4100 + 10100 + 1010
    assert _count(mnist1d_cnn(rng=0)) == 150 + 2 * 1900 + 1260
    x = nr.tensor(np.random.default_rng(0).standard_normal((7, 40)).astype(np.float32))
    for model in (mnist1d_mlp(rng=0), mnist1d_cnn(rng=0)):
        out = model(x)
        assert out.shape == (7, 10) and out.dtype == np.float32


def test_the_seed_fixes_the_initial_weights():
    for build in (mnist1d_mlp, mnist1d_cnn):
        same = [build(rng=3).state_dict(), build(rng=3).state_dict()]
        other = build(rng=4).state_dict()
        for name in same[0]:
            assert np.array_equal(same[0][name], same[1][name])
        assert not all(np.array_equal(same[0][name], other[name]) for name in other)


def _copy_into_torch(model, torch_modules):
    torch = reference_library("torch")
    ours = [m for m in model.modules() if hasattr(m, "weight")]
    assert len(ours) == len(torch_modules)
    with torch.no_grad():
        for mine, theirs in zip(ours, torch_modules):
            theirs.weight.copy_(torch.from_numpy(mine.weight.data))
            theirs.bias.copy_(torch.from_numpy(mine.bias.data))


def test_outputs_match_the_pytorch_reference_code():
    torch = reference_library("torch")
    x = np.random.default_rng(1).standard_normal((5, 40)).astype(np.float32)
    tx = torch.from_numpy(x)

    mlp = mnist1d_mlp(rng=0)
    linears = [torch.nn.Linear(40, 100), torch.nn.Linear(100, 100), torch.nn.Linear(100, 10)]
    _copy_into_torch(mlp, linears)
    h = torch.relu(linears[0](tx))
    h = h + torch.relu(linears[1](h))
    np.testing.assert_allclose(mlp(nr.tensor(x)).data, linears[2](h).detach().numpy(), rtol=1e-5, atol=1e-6)

    cnn = mnist1d_cnn(rng=0)
    convs = [torch.nn.Conv1d(1, 25, 5, stride=2, padding=1), torch.nn.Conv1d(25, 25, 3, stride=2, padding=1),
             torch.nn.Conv1d(25, 25, 3, stride=2, padding=1), torch.nn.Linear(125, 10)]
    _copy_into_torch(cnn, convs)
    h = tx.view(-1, 1, 40)
    for conv in convs[:3]:
        h = torch.relu(conv(h))
    expected = convs[3](h.view(h.shape[0], -1)).detach().numpy()
    np.testing.assert_allclose(cnn(nr.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
