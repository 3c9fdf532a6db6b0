"""Smoke test of pqrnn_tf/benchmarks/projection.py: a --quick run writes complete JSON.

No timing assertions: the numbers only have to exist and be positive.
"""
from __future__ import annotations

import json
import math

from absl import flags
from absl.testing import flagsaver

from pqrnn_tf.benchmarks import projection

TOP_LEVEL_KEYS = {"config", "environment", "datasets", "stock_pipeline", "results",
                  "ratios", "best_mode_ratios", "tflite_latency", "goals", "checks"}
RATE_KEYS = ("sentences_per_s", "mb_per_s", "us_per_sentence")


def _positive(x) -> bool:
  return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_quick_run_writes_expected_json(tmp_path):
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(quick=True, output_dir=str(tmp_path)):
    projection.main(["projection"])

  results = json.loads((tmp_path / "projection.json").read_text(encoding="utf-8"))
  assert TOP_LEVEL_KEYS <= set(results)
  assert results["config"]["quick"] is True
  assert "tf.strings.to_hash_bucket_fast" in results["stock_pipeline"]

  datasets = set(results["datasets"])
  assert len(datasets) == 2
  for stats in results["datasets"].values():
    assert all(_positive(stats[k]) for k in ("sentences", "bytes", "tokens"))

  batch_sizes = results["config"]["batch_sizes"]
  expected_rows = {(d, impl, mode, b)
                   for d in datasets
                   for impl in (projection.OURS, projection.STOCK)
                   for mode in (projection.EAGER, projection.FUNCTION)
                   for b in batch_sizes}
  expected_rows |= {(d, projection.TFLITE, projection.LITERT, 1) for d in datasets}
  expected_rows |= {(d, projection.CALL_OVERHEAD, projection.FUNCTION, b)
                    for d in datasets for b in batch_sizes}
  rows = {(r["dataset"], r["impl"], r["mode"], r["batch_size"]): r
          for r in results["results"]}
  assert set(rows) == expected_rows
  for row in rows.values():
    for key in RATE_KEYS + ("sentences_per_cpu_s", "median_call_us_per_sentence"):
      assert _positive(row[key]), (row, key)
    assert len(row["repeats_sentences_per_s"]) == results["config"]["repeats"]

  assert len(results["ratios"]) == len(datasets) * 2 * len(batch_sizes)
  for ratio in results["ratios"]:
    assert _positive(ratio["ours_over_stock"]), ratio
    assert _positive(ratio["ours_over_stock_cpu_time"]), ratio
    assert _positive(ratio["ours_over_stock_median_call"]), ratio
  assert len(results["best_mode_ratios"]) == len(datasets) * len(batch_sizes)
  for ratio in results["best_mode_ratios"]:
    assert _positive(ratio["ours_over_stock"]), ratio

  assert {l["dataset"] for l in results["tflite_latency"]} == datasets
  for latency in results["tflite_latency"]:
    assert latency["invokes"] == projection.QUICK_INVOKES
    for key in ("median_us_per_invoke", "p10_us", "p90_us"):
      assert _positive(latency[key]), (latency, key)

  goals = results["goals"]
  assert _positive(goals["tflite_us_per_fixed_length_sentence"]["value"])
  assert all(_positive(v)
             for v in goals["tf_op_speedup_over_stock"]["per_setting"].values())

  checks = results["checks"]
  assert checks["tflite_equals_tf_op"] is True
  assert checks["stock_shape_equals_ours"] is True
  assert checks["stock_lengths_equal_ours"] is True

  table = (tmp_path / "projection.md").read_text(encoding="utf-8")
  assert table.startswith("| data set | implementation |")
