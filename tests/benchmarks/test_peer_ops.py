"""The peer-suite harness: a small suite in the peer's format, whose verdicts are known, scored by the harness."""

from __future__ import annotations

import textwrap

from benchmarks import peer_ops
from tests.helpers import reference_library

SUITE = textwrap.dedent(
    """
    import unittest
    import numpy as np
    import torch
    from tinygrad.helpers import getenv
    from tinygrad import Tensor, Device, dtypes

    def helper_test_op(shps, torch_fxn, tinygrad_fxn=None, **kwargs):
      raise AssertionError("replaced by the harness")

    class TestOps(unittest.TestCase):
      def helper_test_exception(self, *args, **kwargs):
        raise AssertionError("replaced by the harness")

      def test_agrees(self):
        helper_test_op([(3, 4)], lambda x: x.relu().sum(axis=1), Tensor.relu)
        helper_test_op([(3, 4), (4, 2)], lambda x, y: torch.nn.functional.gelu(x @ y))
        helper_test_op([(5,)], torch.sigmoid)
        helper_test_op(None, lambda x, y: x / y, forward_only=True, vals=[[5, 6, -7], [2]])

      def test_disagrees(self):
        helper_test_op([(3,)], lambda x: torch.special.i0(x))  # a name neurones does not have
        helper_test_op(None, lambda x, y: torch.maximum(x, y), vals=[[1.0, 2.0], [1.0, 2.0]])  # ties: a convention

      def test_out_of_scope(self):
        helper_test_op([(3,)], lambda x: x.no_such_method())  # PyTorch itself fails

      def test_exceptions(self):
        self.helper_test_exception([(2, 3), (4, 5)], lambda x, y: x @ y, expected=RuntimeError)
        self.helper_test_exception([(2, 3)], lambda x: x.sum(dim=4), expected=IndexError)
    """
)


def test_the_harness_scores_a_known_suite(tmp_path):
    reference_library("torch")
    path = tmp_path / "test_ops.py"
    path.write_text(SUITE)
    tally = peer_ops.run_suite(path)
    by_test = {}
    for outcome in tally.outcomes:
        by_test.setdefault(outcome.test, []).append(outcome)
    assert [o.agrees for o in by_test["test_agrees"]] == [True, True, True, True]
    assert [(o.in_scope, o.agrees) for o in by_test["test_disagrees"]] == [(True, False), (True, False)]
    assert "AttributeError" in by_test["test_disagrees"][0].reason
    assert by_test["test_disagrees"][1].reason == "gradient 0: values differ"  # ties go to the first operand here
    assert [o.in_scope for o in by_test["test_out_of_scope"]] == [False]
    assert [o.agrees for o in by_test["test_exceptions"]] == [True, True]
    summary = peer_ops.summarize(tally, show=5)
    assert summary.startswith("9 cases, 8 in scope, 6 agree (75.0%), 2 disagree")
