"""pqrnn-benchmark on a tiny exported model and a fake teacher: the table,
JSON and plot are written and consistent. No timing thresholds."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pqrnn_tf.benchmarks import buckets, cli, macs, teacher
from pqrnn_tf.metrics import HEADLINE_METRICS

FAKE_FACTORY = f"{__name__}:make_fake_teacher"
EXAMPLE_TARGETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "docs", "benchmark", "targets.json")
FAKE_DIMS = {"num_layers": 2, "hidden": 8, "intermediate": 16}
INTENTS = ["atis_flight", "atis_airfare", "atis_ground_service", "atis_airline", "atis_abbreviation"]
TAGS = ["O", "B-fromloc.city_name", "B-toloc.city_name", "I-toloc.city_name",
        "B-depart_date.day_name", "B-airline_name", "I-fromloc.city_name"]


def make_fake_teacher(teacher_dir: str, deployment: str, num_threads: int) -> teacher.Teacher:
  """A teacher.load() stand-in: "atis_flight" and all-"O" tags for every sentence."""
  del num_threads

  def predict(texts):
    words = max(len(t.split()) for t in texts)
    intent_logits = np.zeros((len(texts), len(INTENTS)), np.float32)
    intent_logits[:, 0] = 1.0
    slot_logits = np.zeros((len(texts), words, len(TAGS)), np.float32)
    slot_logits[..., 0] = 1.0
    return intent_logits, slot_logits

  return teacher.Teacher(
      deployment=deployment, predict=predict, intent_labels=INTENTS, slot_labels=TAGS,
      files=[os.path.join(teacher_dir, f"{deployment}.bin")],
      count_tokens=lambda text: len(text.split()) + 2, runtime="fake", **FAKE_DIMS)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_config) -> str:
  """A tiny untrained pQRNN exported as float TFLite, with its label files."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import converter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top
  model = build_model(tiny_config(), num_intents=len(INTENTS), num_tags=len(TAGS))
  model(tf.constant(["book a flight to boston"]))
  path = tmp_path_factory.mktemp("model") / "tiny.tflite"
  path.write_bytes(converter.convert(model, "none"))
  (path.parent / "tiny.intents.txt").write_text("\n".join(INTENTS) + "\n")
  (path.parent / "tiny.slots.txt").write_text("\n".join(TAGS) + "\n")
  return str(path)


@pytest.fixture(scope="module")
def results(tiny_model, tmp_path_factory):
  out = tmp_path_factory.mktemp("benchmark")
  teacher_dir = tmp_path_factory.mktemp("teacher")
  for deployment, size in zip(teacher.DEPLOYMENTS, (9000, 3000)):
    (teacher_dir / f"{deployment}.bin").write_bytes(b"\0" * size)
  settings = cli.Settings(
      lengths=(4, 8, 40), sentences_per_bucket=5, num_invokes=30, warmup=3,
      throughput_batch=4, throughput_threads=1, throughput_seconds=0.05,
      peak_shape=(2, 32, 4), teacher_factory=FAKE_FACTORY, ratio_bucket=8)
  res = cli.benchmark(cli.parse_models([f"tiny_int8={tiny_model}", tiny_model]),
                      settings, str(out), str(teacher_dir), EXAMPLE_TARGETS)
  cli.write_outputs(res, str(out))
  return res, out


def test_outputs_are_written(results):
  res, out = results
  on_disk = json.loads((out / "benchmark.json").read_text())
  assert [r["name"] for r in on_disk["rows"]] == [
      "tiny_int8", "tiny", "teacher PyTorch fp32", "teacher ONNX int8"]
  assert (out / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  table = (out / "benchmark.md").read_text()
  for row in res["rows"]:
    assert f"| {row['name']} |" in table
  assert "joining" in table  # the 40-token bucket says it is made of joined sentences
  assert on_disk["plot_metric"] == "exact_match"


def test_buckets_have_the_requested_lengths(results):
  res, _ = results
  assert [b["length"] for b in res["buckets"]] == [4, 8, 40]
  for b in res["buckets"]:
    assert len(b["sentences"]) == b["num_real"] + b["num_joined"] == 5
    assert all(len(s.split()) == b["length"] for s in b["sentences"])
  assert res["buckets"][2]["num_joined"] == 5  # no ATIS test sentence has 40 tokens
  for row in res["rows"]:
    assert [b["length"] for b in row["buckets"]] == [4, 8, 40]


def test_latency_memory_and_accuracy_are_consistent(results):
  res, _ = results
  for row in res["rows"]:
    for b in row["buckets"]:
      assert 0 < b["p50_us"] <= b["p90_us"] <= b["p99_us"], (row["name"], b)
      assert b["invokes"] == 30
    assert row["rss_peak_kb"] >= row["rss_runtime_kb"] > 0
    assert row["rss_model_kb"] == row["rss_peak_kb"] - row["rss_runtime_kb"]
    assert row["throughput"]["sentences_per_s"] > 0
    acc = row["accuracy"]
    assert acc["num_examples"] == 893
    assert all(0 <= acc[k] <= 1 for k in HEADLINE_METRICS)
  fake = res["rows"][2]["accuracy"]  # always "atis_flight", all "O"
  assert 0.5 < fake["intent_accuracy"] < 1 and fake["slot_f1"] == 0


def test_macs(results):
  res, _ = results
  peak = res["peak_int8"]
  assert peak["macs"] == peak["analytic_macs"] == 2 * 4 * 32 * 32
  assert peak["gmacs"] > 0
  # The tiny model per token: bottleneck 64x32, two bidirectional QRNN layers
  # (kernel width 2: a [2*32] window -> 3 gates x 16 units, both directions),
  # attention score 32x1 and slot head 32x7; once: the intent head 32x5.
  per_token = 64 * 32 + 2 * 2 * (2 * 32) * (3 * 16) + 32 + 32 * 7
  for b in res["rows"][0]["buckets"]:
    assert b["macs"] == 32 * 5 + per_token * b["length"], b
    assert not b["macs_uncounted_ops"]
  for row in res["rows"][2:]:
    for b in row["buckets"]:
      want = macs.transformer_macs(seq_len=b["length"] + 2, num_intents=len(INTENTS),
                                   num_tags=len(TAGS), **FAKE_DIMS)
      assert b["macs"] == want
      assert b["gmacs_at_p50"] == pytest.approx(b["macs"] / (b["p50_us"] * 1e3))


def test_ratios_and_targets(results):
  res, _ = results
  assert res["reference"] == "tiny_int8"
  ratios = {r["name"]: r for r in res["ratios"]}
  assert ratios["tiny_int8"]["p50_over_reference"] == 1
  assert ratios["tiny"]["bytes_over_reference"] == 1  # the same file twice
  assert ratios["teacher PyTorch fp32"]["bytes_over_reference"] == pytest.approx(
      9000 / os.path.getsize(res["rows"][0]["path"]))
  # The example targets file's four teacher targets, each measured.
  teacher_claims = [c for c in res["claims"] if "teacher" in c["claim"]]
  assert len(teacher_claims) == 4 and all(c["met"] is not None for c in teacher_claims)
  assert res["targets"] == json.loads(open(EXAMPLE_TARGETS, encoding="utf-8").read())
  assert res["targets_file"] == EXAMPLE_TARGETS


def test_op_macs_of_matmuls_and_convolutions():
  assert macs.op_macs("FULLY_CONNECTED", [[2, 5, 8], [3, 8], [3]], [[2, 5, 3]]) == 2 * 5 * 3 * 8
  assert macs.op_macs("BATCH_MATMUL", [[2, 4, 6], [2, 6, 5]], [[2, 4, 5]]) == 2 * 4 * 5 * 6
  # The same product with the lhs stored transposed ([K, M]).
  assert macs.op_macs("BATCH_MATMUL", [[2, 6, 4], [2, 6, 5]], [[2, 4, 5]]) == 2 * 4 * 5 * 6
  assert macs.op_macs("CONV_2D", [[1, 8, 8, 3], [16, 3, 3, 3]], [[1, 8, 8, 16]]) == 64 * 16 * 27
  assert macs.op_macs("DEPTHWISE_CONV_2D", [[1, 8, 8, 4], [1, 3, 3, 4]],
                      [[1, 8, 8, 4]]) == 64 * 4 * 9
  assert macs.op_macs("ADD", [[4], [4]], [[4]]) is None


def test_joined_sentences_are_whole_sentences():
  texts = ["a b c", "d e", "f g h i", "j"]
  [bucket] = buckets.make_buckets(texts, [9], per_bucket=3, seed=1)
  assert bucket.num_real == 0 and bucket.num_joined == 3
  for s in bucket.sentences:
    assert len(s.split()) == 9
    rest = s
    while rest:  # it splits into whole input sentences
      rest = next(rest[len(t):].lstrip() for t in texts if rest.startswith(t))


def test_missing_teacher_fails_with_a_clear_message(tmp_path):
  with pytest.raises(teacher.TeacherUnavailable, match="^teacher predictors not available: "):
    teacher.check_available(str(tmp_path / "missing"), "onnx_int8")
