"""pqrnn_tf/benchmarks/report.py's claims from benchmark rows (no timing)."""
from __future__ import annotations

import pytest

from pqrnn_tf.benchmarks import report


def _row(name: str, p50_us: float) -> dict:
  return {"name": name, "buckets": [{"length": 16, "p50_us": p50_us}]}


@pytest.mark.parametrize("float_name", ["pqrnn_none", "pqrnn_float"])
def test_int8_over_float_claim_finds_the_float_row(float_name):
  # pqrnn-export names the float file "_none"; the benchmark's own help says "_float".
  claims = report.lean_graph_claims([_row("pqrnn_int8", 30.0), _row(float_name, 60.0)], 16)
  ratio = [c for c in claims if "≤" in c["claim"]]
  assert len(ratio) == 1 and ratio[0]["value"] == pytest.approx(0.5) and ratio[0]["met"]
  assert float_name in ratio[0]["claim"]
