"""pqrnn_tf/benchmarks/report.py's claims from benchmark rows and a targets
file (no timing)."""
from __future__ import annotations

import json
import os

import pytest

from pqrnn_tf.benchmarks import report

EXAMPLE_TARGETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "docs", "benchmark", "targets.json")


def _row(name: str, p50_us: float, kind: str = "tflite", **extra) -> dict:
  return {"name": name, "kind": kind, "bytes": 1000,
          "buckets": [{"length": 16, "p50_us": p50_us}], **extra}


def _rows() -> list[dict]:
  """A reference, its float export, a portable pair, an LSTM and both teachers."""
  return [_row("pqrnn_int8", 30.0, profile={"ops": 40}), _row("pqrnn_none", 60.0),
          _row("port", 33.0, timing="invoke"), _row("port+p", 50.0, timing="projection + invoke"),
          _row("lstm_int8", 90.0),
          _row("t_torch", 3000.0, kind="teacher", deployment="torch_fp32", bytes=90000),
          _row("t_onnx", 200.0, kind="teacher", deployment="onnx_int8", bytes=20000)]


@pytest.mark.parametrize("float_name", ["pqrnn_none", "pqrnn_float"])
def test_int8_over_float_claim_finds_the_float_row(float_name):
  # pqrnn-export names the float file "_none"; the benchmark's own help says "_float".
  claims = report.lean_graph_claims([_row("pqrnn_int8", 30.0), _row(float_name, 60.0)], 16,
                                    {"int8_over_float_p50": 0.6})
  ratio = [c for c in claims if "≤" in c["claim"]]
  assert len(ratio) == 1 and ratio[0]["value"] == pytest.approx(0.5) and ratio[0]["met"]
  assert float_name in ratio[0]["claim"]


def test_no_targets_no_claims():
  assert report.claims(_rows(), "pqrnn_int8", 16, {}) == []


def test_each_example_target_is_checked_with_its_threshold():
  targets = report.load_targets(EXAMPLE_TARGETS)
  by_text = {c["claim"]: c for c in report.claims(_rows(), "pqrnn_int8", 16, targets)}
  want = {  # claim -> (value, met), from the rows above and the example's thresholds
      "16-token p50: pqrnn_int8 ≥ 50x faster than the teacher's torch_fp32": (100.0, True),
      "16-token p50: pqrnn_int8 ≥ 10x faster than the teacher's onnx_int8": (200 / 30, False),
      "file: pqrnn_int8 ≥ 60x smaller than the teacher's torch_fp32": (90.0, True),
      "file: pqrnn_int8 ≥ 15x smaller than the teacher's onnx_int8": (20.0, True),
      "pqrnn_int8 faster than lstm_int8 at equal or better exact match": (3.0, None),
      "pqrnn_int8: at most 44 ops": (40, True),
      "16-token p50: pqrnn_int8 ≤ 0.6x pqrnn_none": (0.5, True),
      "16-token p50: port (invoke) ≤ 1.0x pqrnn_int8": (1.1, False),
      "16-token p50: port+p (projection + invoke) ≤ 1.5x pqrnn_int8": (50 / 30, False)}
  assert set(by_text) == set(want)
  for text, (value, met) in want.items():
    assert by_text[text]["value"] == pytest.approx(value) and by_text[text]["met"] is met, text


def test_a_threshold_comes_from_the_file():
  claims = report.claims(_rows(), "pqrnn_int8", 16, {"max_ops": 39})
  assert [(c["claim"], c["met"]) for c in claims] == [("pqrnn_int8: at most 39 ops", False)]


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", ["one JSON object"]),
    ('{"max_ops": 4.5}', ["max_ops", "integer"]),
    ('{"fastest": 1}', ["unknown target", "fastest"]),
    ('{"teacher_p50_over_reference": {"gpu": 3}}', ["teacher_p50_over_reference", "gpu"]),
    ('{"int8_linear_r2": -1}', ["int8_linear_r2", "positive"]),
    ('{"faster_than_lstm": "yes"}', ["faster_than_lstm", "boolean"]),
    ('{"max_ops": 44,\n  oops}', ["line 2", "not JSON"]),
])
def test_a_bad_targets_file_names_the_file_and_the_problem(tmp_path, text, words):
  path = tmp_path / "targets.json"
  path.write_text(text)
  with pytest.raises(ValueError) as raised:
    report.load_targets(str(path))
  message = str(raised.value)
  assert message.startswith(f"{path}: ") and "\n" not in message
  assert all(w in message for w in words), message


def test_the_example_file_holds_every_target():
  with open(EXAMPLE_TARGETS, encoding="utf-8") as f:
    assert set(json.load(f)) == set(report.TARGET_KEYS)


def test_ratios_to_the_reference_keep_the_digits_a_target_needs():
  """A portable model at 1.04x its reference must not read "1.0x" beside a
  ≤ 1.0x target: ratios below 10x get two decimals, in both tables."""
  path = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmark", "portable",
                      "benchmark.json")
  with open(path) as f:
    results = json.load(f)
  text = "\n".join(report.summary_table(results)) + report.markdown(results)
  for entry in results["ratios"]:  # each ratio is in the summary and the ratio table
    shown = f"| {entry['p50_over_reference']:.2f}x |"
    assert text.count(shown) >= 2, (entry["name"], shown)
