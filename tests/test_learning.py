"""Learning works end to end: a tiny pQRNN learns a separable joint toy set,
in its Keras model (pqrnn-train's test scores) and in its int8 export
(pqrnn-export, then TflitePredictor); a student taught by teacher logits alone
learns the teacher's answers; quantization-aware training keeps the float
model's scores; two MultiWorkerMirroredStrategy workers learn the toy too.
Each test fails when the learning it covers breaks.

The toy set: each intent has its own verbs, each slot type its own values, so
a model that learns anything scores near 100%.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE

INTENTS = {"flight": ["fly", "travel", "go"], "fare": ["price", "cost", "fare"],
           "weather": ["weather", "forecast", "rain"]}
SLOTS = {"city": ["boston", "denver", "paris", "tokyo"], "day": ["monday", "friday", "sunday"]}
FILLERS = ["please", "i", "want", "to", "the", "a", "me", "show"]


def toy_examples(count: int, seed: int) -> list[dict]:
  rng = random.Random(seed)
  rows = []
  for _ in range(count):
    intent = rng.choice(sorted(INTENTS))
    words, tags = [], []
    for _ in range(rng.randint(1, 3)):
      words.append(rng.choice(FILLERS)); tags.append("O")
    words.append(rng.choice(INTENTS[intent])); tags.append("O")
    for slot in rng.sample(sorted(SLOTS), rng.randint(1, 2)):
      words.append(rng.choice(FILLERS)); tags.append("O")
      words.append(rng.choice(SLOTS[slot])); tags.append(f"B-{slot}")
    rows.append({"text": " ".join(words), "label": intent, "tags": tags})
  return rows


def spans(words: list[str], tags: list[str]) -> set[tuple[str, int, int]]:
  """(type, start, end) character spans of B- tags (the toy has one-word slots)."""
  out, start = set(), 0
  for word, tag in zip(words, tags):
    if tag.startswith("B-"):
      out.add((tag[2:], start, start + len(word)))
    start += len(word) + 1
  return out


def write(path, rows):
  path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_splits(root, **relabel) -> None:
  """train/dev/test.jsonl of the toy in `root` (dev and test relabeled by
  `relabel_rows(rows, **relabel)` when given)."""
  for name, count, seed in (("train", 300, 0), ("dev", 60, 1), ("test", 100, 2)):
    rows = toy_examples(count, seed)
    if relabel and name != "train":
      rows = relabel_rows(rows, **relabel)
    write(root / f"{name}.jsonl", rows)


def split_flags(root) -> list[str]:
  return [f"--{flag}={root / name}.jsonl" for flag, name in
          (("train_file", "train"), ("eval_file", "dev"), ("test_file", "test"))]


def scores_on_test(model_dir) -> dict:
  return json.loads((model_dir / METRICS_FILE).read_text())["test"]


def run_tool(tool, *args):
  result = subprocess.run([sys.executable, "-m", "pqrnn_tf.console", tool, *args],
                          capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, f"{tool} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
  return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """The float run, followed by one quantization-aware epoch (export and the
float scores use the float model; `qat` scores the other)."""
  root = tmp_path_factory.mktemp("learning")
  write_splits(root)
  run_tool("pqrnn-train", *split_flags(root), "--preset=pqrnn_small", "--epochs=6",
           "--qat_epochs=1", f"--model_dir={root / 'run'}")
  return root, toy_examples(100, seed=2)


def test_keras_model_learns_the_toy(trained):
  root, _ = trained
  test = scores_on_test(root / "run")
  assert test["intent_accuracy"] >= 0.95, test
  assert test["slot_f1"] >= 0.9, test


def test_int8_export_learns_the_toy(trained):
  from pqrnn_tf.inference import TflitePredictor  # pylint: disable=g-import-not-at-top
  root, test_rows = trained
  model = root / "int8.tflite"
  run_tool("pqrnn-export", f"--model_dir={root / 'run'}", f"--output={model}",
           "--quantization=int8")
  predictions = TflitePredictor(str(model)).predict([r["text"] for r in test_rows])
  correct = sum(p.intent == r["label"] for p, r in zip(predictions, test_rows))
  gold = [spans(r["text"].split(), r["tags"]) for r in test_rows]
  found = [{(s.type, s.start, s.end) for s in p.slots} for p in predictions]
  hits = sum(len(g & f) for g, f in zip(gold, found))
  precision = hits / max(1, sum(map(len, found)))
  recall = hits / max(1, sum(map(len, gold)))
  f1 = 2 * precision * recall / max(1e-9, precision + recall)
  assert correct / len(test_rows) >= 0.95, correct
  assert f1 >= 0.9, (precision, recall)


def test_quantization_aware_model_keeps_the_float_scores(trained):
  """The QAT model scores within 1 point of the float model on the test split,
  and what was scored is the trained QAT model: a fresh fake-quantized copy of
  the float model (what a run without its QAT weights holds) would score as
  well on this toy, so its weights must differ from that copy's."""
  from pqrnn_tf import run_dir  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import qat  # pylint: disable=g-import-not-at-top
  root, _ = trained
  metrics = json.loads((root / "run" / METRICS_FILE).read_text())
  for key in HEADLINE_METRICS:
    assert abs(metrics["qat"]["test"][key] - metrics["test"][key]) <= 0.01, (
        key, metrics["qat"]["test"], metrics["test"])
  float_model, _ = run_dir.load_trained(str(root / "run"))
  trained_qat = run_dir.qat_model_of(float_model, str(root / "run"))  # As metrics.json's.
  fresh_qat = qat.quantize_model(float_model)
  assert [w.name for w in trained_qat.weights] == [w.name for w in fresh_qat.weights]
  changed = [a.name for a, b in zip(trained_qat.weights, fresh_qat.weights)
             if not np.array_equal(a.numpy(), b.numpy())]
  assert changed, "the QAT model's weights are those of a fresh copy of the float model"


# The rule teacher answers differently from the gold labels: it names each
# intent's next one and swaps the two slot types. A student that matches it
# learned from its soft labels, not from the gold ones.
TEACHER_INTENT = {"flight": "fare", "fare": "weather", "weather": "flight"}
TEACHER_TAG = {"O": "O", "B-city": "B-day", "B-day": "B-city"}
TEACHER_CONFIDENCE = 4.0  # The logit of the rule's answer (the others 0): p = 0.96 of 3.


def relabel_rows(rows, intent_map, tag_map) -> list[dict]:
  return [dict(r, label=intent_map[r["label"]], tags=[tag_map[t] for t in r["tags"]])
          for r in rows]


def write_rule_teacher(path, rows) -> None:
  """Teacher logits of `rows`' texts in the documented format
  (docs/teacher_logits.md), written with numpy alone: TEACHER_CONFIDENCE for
  the rule's answer, 0 for the other labels."""
  intent_labels, tag_labels = sorted(TEACHER_INTENT), sorted(TEACHER_TAG)
  intent_logits = np.zeros((len(rows), len(intent_labels)), np.float32)
  slot_rows = []
  for i, r in enumerate(rows):
    intent_logits[i, intent_labels.index(TEACHER_INTENT[r["label"]])] = TEACHER_CONFIDENCE
    for tag in r["tags"]:
      slot_rows.append(np.zeros(len(tag_labels), np.float32))
      slot_rows[-1][tag_labels.index(TEACHER_TAG[tag])] = TEACHER_CONFIDENCE
  lengths = [len(r["text"].split()) for r in rows]
  np.savez(path, texts=np.array([r["text"] for r in rows], dtype=np.str_),
           intent_labels=np.array(intent_labels, dtype=np.str_),
           tag_labels=np.array(tag_labels, dtype=np.str_),
           intent_logits=intent_logits, slot_logits=np.stack(slot_rows),
           token_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
           meta=np.array(json.dumps({"format_version": 1, "teacher": "toy rule"})))


def test_student_learns_the_teacher_from_soft_labels_alone(tmp_path):
  """--hard_weight=0: only the teacher's soft labels teach. Dev and test are
  labeled with the teacher's answers, so the test scores are the student's
  agreement with the teacher's argmax."""
  write_splits(tmp_path, intent_map=TEACHER_INTENT, tag_map=TEACHER_TAG)
  teacher = tmp_path / "teacher.npz"
  write_rule_teacher(teacher, toy_examples(300, seed=0))
  run_tool("pqrnn-train", *split_flags(tmp_path), "--preset=pqrnn_small", "--epochs=6",
           f"--teacher_logits={teacher}", "--hard_weight=0",
           f"--model_dir={tmp_path / 'run'}")
  test = scores_on_test(tmp_path / "run")
  assert test["intent_accuracy"] >= 0.95, test
  assert test["slot_f1"] >= 0.95, test


def test_two_workers_learn_the_toy(tmp_path):
  """Two MultiWorkerMirroredStrategy workers, each streaming its half of 4
  training shards, learn the toy as one process does (test (a)'s thresholds:
  the same global batch and number of steps)."""
  from tests.test_distributed import run_local_workers  # pylint: disable=g-import-not-at-top
  write_splits(tmp_path)
  train = toy_examples(300, seed=0)
  for shard in range(4):
    write(tmp_path / f"train-{shard}.jsonl", train[shard::4])
  flags = [f"--train_file={tmp_path}/train-*.jsonl"] + split_flags(tmp_path)[1:]
  command = [sys.executable, "-m", "pqrnn_tf.console", "pqrnn-train", *flags,
             "--preset=pqrnn_small", "--epochs=6", "--strategy=multi_worker",
             f"--model_dir={tmp_path / 'run'}"]
  report = run_local_workers(command, tmp_path)
  test = scores_on_test(tmp_path / "run")
  assert test["intent_accuracy"] >= 0.95, (test, report[-2000:])
  assert test["slot_f1"] >= 0.9, (test, report[-2000:])
