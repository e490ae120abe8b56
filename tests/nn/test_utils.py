"""nn.utils: parameters as one flat vector, against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones import nn
from neurones.errors import ShapeError


def test_parameters_to_vector_and_back_match_torch():
    torch = reference_library("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    vector = nn.utils.parameters_to_vector(ours.parameters())
    t_vector = torch.nn.utils.parameters_to_vector(theirs.parameters())
    np.testing.assert_array_equal(vector.data, t_vector.detach().numpy())
    (vector * nr.tensor(np.arange(vector.shape[0], dtype=float))).sum().backward()
    np.testing.assert_array_equal(ours[0].weight.grad.data.ravel(), np.arange(12.0))
    new = np.linspace(-1, 1, vector.shape[0])
    nn.utils.vector_to_parameters(nr.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy())


def test_vector_to_parameters_refuses_a_vector_of_the_wrong_size():
    with pytest.raises(ShapeError, match="does not fit parameters of 6 entries"):
        nn.utils.vector_to_parameters(nr.zeros(5), nn.Linear(2, 2).parameters())
