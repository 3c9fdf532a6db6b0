"""Learning works end to end: a tiny pQRNN learns a separable joint toy set,
in its Keras model (pqrnn-train's test scores) and in its int8 export
(pqrnn-export, then TflitePredictor), and fails when learning breaks.

The toy set: each intent has its own verbs, each slot type its own values, so
a model that learns anything scores near 100%.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

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


def run_tool(tool, *args):
  result = subprocess.run([sys.executable, "-m", "pqrnn_tf.console", tool, *args],
                          capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, f"{tool} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
  return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp("learning")
  test_rows = toy_examples(100, seed=2)
  for name, rows in (("train", toy_examples(300, seed=0)), ("dev", toy_examples(60, seed=1)),
                     ("test", test_rows)):
    write(root / f"{name}.jsonl", rows)
  run_tool("pqrnn-train", f"--train_file={root / 'train.jsonl'}",
           f"--eval_file={root / 'dev.jsonl'}", f"--test_file={root / 'test.jsonl'}",
           "--preset=pqrnn_small", "--epochs=6", f"--model_dir={root / 'run'}")
  return root, test_rows


def test_keras_model_learns_the_toy(trained):
  root, _ = trained
  metrics = json.loads((root / "run" / "metrics.json").read_text())
  test = metrics["test"]
  assert test["intent_accuracy"] >= 0.95, metrics
  assert test["slot_f1"] >= 0.9, metrics


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
