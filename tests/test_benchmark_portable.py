"""pqrnn-benchmark on one tiny pQRNN exported both ways: the string-in model
and the portable one (builtin ops, projection features in). The portable model
gets an invoke row and a projection + invoke row; every TFLite row reports its
ops and what XNNPACK replaced. No timing thresholds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
INTENTS = ["atis_flight", "atis_airfare", "atis_ground_service", "atis_airline"]
TAGS = ["O", "B-fromloc.city_name", "B-toloc.city_name", "I-toloc.city_name",
        "B-depart_date.day_name"]
LENGTHS = (8, 16)


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_config) -> dict[str, Path]:
  """An untrained tiny pQRNN (float) exported string-in and portable."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import converter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import metadata as export_metadata  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import portable as portable_export  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top
  tf.keras.utils.set_random_seed(5)
  model = build_model(tiny_config(projection={"max_tokens": 40, "add_bos": True}),
                      num_intents=len(INTENTS), num_tags=len(TAGS))
  model(tf.constant(["book a flight to boston"]))
  out = tmp_path_factory.mktemp("models")
  string_in = out / "tiny_string.tflite"
  string_in.write_bytes(converter.convert(model, "none"))
  (out / "tiny_string.intents.txt").write_text("\n".join(INTENTS) + "\n")
  (out / "tiny_string.slots.txt").write_text("\n".join(TAGS) + "\n")
  flatbuffer, settings = portable_export.convert_portable(model, quantization="none")
  portable_path = out / "tiny_portable.tflite"  # labels inside, as pqrnn-export writes them
  portable_path.write_bytes(export_metadata.add_metadata(
      flatbuffer, name="tiny_portable", version="1", description="untrained",
      intent_labels=INTENTS, slot_labels=TAGS,
      signature_key=portable.signature_key(settings["buckets"][0]),
      files={portable.SETTINGS_FILE: json.dumps(settings)}))
  return {"tiny_string": string_in, "tiny_portable": portable_path}


@pytest.fixture(scope="module")
def results(models, tmp_path_factory) -> tuple[dict, str]:
  out = tmp_path_factory.mktemp("benchmark")
  proc = subprocess.run(
      [sys.executable, "-m", "pqrnn_tf.benchmarks.cli",
       "--models=" + ",".join(f"{n}={p}" for n, p in models.items()),
       f"--output_dir={out}", f"--buckets={','.join(map(str, LENGTHS))}",
       "--sentences_per_bucket=3", "--num_invokes=30", "--warmup=3", "--nothroughput",
       "--noprofile_ops", "--nopeak_int8", "--reference=tiny_string", "--ratio_bucket=16",
       "--targets=docs/benchmark/targets.json"],
      cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return json.loads((out / "benchmark.json").read_text()), (out / "benchmark.md").read_text()


def test_portable_model_has_two_timed_rows(results):
  res, table = results
  rows = {r["name"]: r for r in res["rows"]}
  assert list(rows) == ["tiny_string", "tiny_portable", "tiny_portable+projection"]
  assert rows["tiny_string"]["timing"] == "string in -> outputs"
  assert rows["tiny_portable"]["timing"] == "invoke"
  assert rows["tiny_portable+projection"]["timing"] == "projection + invoke"
  assert "stock interpreter" in rows["tiny_portable"]["runtime"]
  for name, row in rows.items():
    assert [b["length"] for b in row["buckets"]] == list(LENGTHS), name
    for b in row["buckets"]:
      assert b["invokes"] == 30 and 0 < b["p50_us"] <= b["p90_us"] <= b["p99_us"], (name, b)
    assert f"| {name} |" in table
  # The projection is extra work on every call: its fastest call is slower.
  for alone, projected in zip(rows["tiny_portable"]["buckets"],
                              rows["tiny_portable+projection"]["buckets"]):
    assert projected["min_us"] > alone["min_us"], (alone, projected)
  ratios = {r["name"]: r for r in res["ratios"]}
  for name in ("tiny_portable", "tiny_portable+projection"):
    want = rows[name]["buckets"][1]["p50_us"] / rows["tiny_string"]["buckets"][1]["p50_us"]
    assert ratios[name]["p50_over_reference"] == pytest.approx(want)
  claims = [c["claim"] for c in res["claims"]]
  assert any("tiny_portable (invoke) ≤ 1.0x tiny_string" in c for c in claims), claims
  assert any("tiny_portable+projection (projection + invoke) ≤ 1.5x" in c for c in claims)


def test_portable_rows_are_padded_to_their_buckets(results, models):
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference.projection import Projector  # pylint: disable=g-import-not-at-top
  res, _ = results
  settings = portable.read_settings(models["tiny_portable"].read_bytes())
  projector = Projector(**settings["projection"])
  row = next(r for r in res["rows"] if r["name"] == "tiny_portable")
  for bucket, timed in zip(res["buckets"], row["buckets"]):
    _, lengths = projector.project(bucket["sentences"])
    # 8 and 16 tokens + BOS: 9 and 17 rows, so buckets 16 and 32.
    assert timed["padded_to"] == sorted({portable.bucket_for(int(n), settings["buckets"])
                                         for n in lengths}) == [16 if bucket["length"] == 8
                                                                else 32]


def test_op_counts(results, models):
  from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  res, table = results
  rows = {r["name"]: r for r in res["rows"]}
  # The undelegated interpreter's own node list of its main subgraph.
  plain = lite.load_interpreter(str(models["tiny_string"]), delegates=False)
  ops = rows["tiny_string"]["ops"]
  assert ops["timed_subgraph"] == 0
  assert ops["subgraphs"][0]["ops"] == len(plain._get_ops_details())  # pylint: disable=protected-access
  assert "PqrnnSequenceStringProjection" in ops["subgraphs"][0]["ops_by_type"]
  settings = portable.read_settings(models["tiny_portable"].read_bytes())
  ops = rows["tiny_portable"]["ops"]
  assert [g["signature"] for g in ops["subgraphs"]] == [
      portable.signature_key(b) for b in settings["buckets"]]
  assert ops["total"] == sum(g["ops"] for g in ops["subgraphs"])
  # A 16-token sentence has 17 rows (BOS): the 32-row bucket runs it.
  assert ops["subgraphs"][ops["timed_subgraph"]]["signature"] == "bucket_32"
  bare = Interpreter(model_path=str(models["tiny_portable"]),
                     experimental_op_resolver_type=lite_resolver_without_delegates())
  assert ops["subgraphs"][0]["ops"] == len(bare._get_ops_details())  # pylint: disable=protected-access
  assert rows["tiny_portable+projection"]["ops"] == ops
  assert "## Ops and XNNPACK delegation" in table


def lite_resolver_without_delegates():
  from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top
  return interpreter.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


def test_xnnpack_delegation_agrees_two_ways(results):
  """TFLite's own log line and the partitions' boundary tensors in the graph
  give the same number of replaced nodes in the main subgraph."""
  res, _ = results
  for row in res["rows"]:
    ops = row["ops"]
    xnnpack = ops["xnnpack"]
    assert xnnpack["log"] is not None, row["name"]  # this LiteRT build has its symbols
    by_subgraph = {entry["subgraph"]: entry for entry in xnnpack["log"]}
    main = by_subgraph[0]
    assert main["delegate"] == "TfLiteXNNPackDelegate"
    assert main["nodes"] == ops["subgraphs"][0]["ops"]
    assert 0 < main["replaced"] <= main["nodes"]
    parts = xnnpack["main_replaced_by_graph"]
    assert len(parts) == xnnpack["main_partitions"] >= 1 and min(parts) >= 1
    assert sum(parts) == main["replaced"], row["name"]
    for graph in ops["subgraphs"]:
      assert 0 <= graph["xnnpack_replaced"] <= graph["ops"]
  portable_ops = next(r for r in res["rows"] if r["name"] == "tiny_portable")["ops"]
  # Builtin ops only: XNNPACK takes part of every bucket.
  assert all(g["xnnpack_replaced"] > 0 for g in portable_ops["subgraphs"])


def test_portable_accuracy_is_scored_like_the_string_in_model(results):
  res, _ = results
  rows = {r["name"]: r for r in res["rows"]}
  for name in rows:
    assert rows[name]["accuracy"]["num_examples"] == 893
  assert rows["tiny_portable"]["accuracy"] == rows["tiny_portable+projection"]["accuracy"]
  # The same float weights both ways: the same intents to rounding.
  assert np.isclose(rows["tiny_portable"]["accuracy"]["intent_accuracy"],
                    rows["tiny_string"]["accuracy"]["intent_accuracy"], atol=0.01)


def test_agreement_with_the_string_in_model(results):
  res, table = results
  rows = {r["name"]: r for r in res["rows"]}
  assert "agreement_with_reference" not in rows["tiny_string"]
  a = rows["tiny_portable"]["agreement_with_reference"]
  assert rows["tiny_portable+projection"]["agreement_with_reference"] == a
  assert a["sentences"] == 893 and a["words"] > 893
  assert a["intent"] >= 0.98 and a["word_tags"] >= 0.98  # the same float weights
  assert a["sentence"] <= a["intent"]
  # Accuracy can differ only on the sentences where the intents differ.
  mine, theirs = rows["tiny_portable"]["accuracy"], rows["tiny_string"]["accuracy"]
  assert abs(mine["intent_accuracy"] - theirs["intent_accuracy"]) <= 1 - a["intent"] + 1e-9
  assert "## Agreement with tiny_string" in table


def test_unusable_portable_settings_are_refused_in_one_line(tmp_path):
  """A model whose packed settings name an unknown spec version fails before
  any timing, naming the file."""
  import zipfile  # pylint: disable=g-import-not-at-top
  bad = tmp_path / "future.tflite"
  with zipfile.ZipFile(bad, "w") as archive:
    archive.writestr("pqrnn_portable.json", json.dumps({"spec_version": 99}))
  out = tmp_path / "out"
  proc = subprocess.run(
      [sys.executable, "-m", "pqrnn_tf.benchmarks.cli", f"--models={bad}", f"--output_dir={out}",
       "--nopeak_int8", "--nothroughput"],
      cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert lines[-1].startswith("pqrnn-benchmark: ") and str(bad) in lines[-1], lines[-3:]
  assert "version 99" in lines[-1] and "Traceback" not in proc.stderr
  assert "benchmarking" not in proc.stdout
