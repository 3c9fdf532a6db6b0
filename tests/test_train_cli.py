"""pqrnn-train end to end on tiny data (subprocesses, about a minute in all)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 240  # Seconds per CLI run; a run here takes about 15.

CITIES = ["boston", "denver", "dallas", "atlanta", "seattle", "new york", "san diego"]
TEMPLATES = {  # intent -> (words, tag of each word); {a}/{b} are cities.
    "flight": ("show me flights from {a} to {b}", "O O O O B-fromloc O B-toloc"),
    "airfare": ("how much is a ticket from {a} to {b}", "O O O O O O B-fromloc O B-toloc"),
    "ground_service": ("what ground transportation is there in {a}", "O O O O O O B-city"),
}


def make_examples(n: int, seed: int = 0) -> list[dict]:
  """`n` synthetic ATIS-like examples: {"text", "label", "tags"}."""
  rng = random.Random(seed)
  examples = []
  for _ in range(n):
    intent = rng.choice(sorted(TEMPLATES))
    words, tags = TEMPLATES[intent]
    out_words, out_tags = [], []
    for word, tag in zip(words.split(), tags.split()):
      if word in ("{a}", "{b}"):
        city = rng.choice(CITIES).split()
        out_words += city
        out_tags += [tag] + ["I" + tag[1:]] * (len(city) - 1)
      else:
        out_words.append(word)
        out_tags.append(tag)
    examples.append({"text": " ".join(out_words), "label": intent, "tags": out_tags})
  return examples


def write_jsonl(path, examples) -> str:
  with open(path, "w", encoding="utf-8") as f:
    for e in examples:
      f.write(json.dumps(e) + "\n")
  return str(path)


def write_tsv(path, examples) -> str:
  with open(path, "w", encoding="utf-8") as f:
    for e in examples:
      f.write(f"{e['text']}\t{e['label']}\n")
  return str(path)


def run_cli(*args, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
  """Runs `python -m pqrnn_tf.train.cli *args`; output (stdout + stderr) in .stdout."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
  return subprocess.run(
      [sys.executable, "-m", "pqrnn_tf.train.cli", "--preset=pqrnn_small",
       "--batch_size=16", *args],
      cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
      text=True, timeout=timeout, check=False)


def assert_ok(result: subprocess.CompletedProcess) -> str:
  assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-6000:]}"
  return result.stdout


def load_json(path):
  with open(path) as f:
    return json.load(f)


def test_jsonl_slots_metrics_and_resume(tmp_path):
  train = write_jsonl(tmp_path / "train.jsonl", make_examples(96, seed=1))
  dev = write_jsonl(tmp_path / "dev.jsonl", make_examples(24, seed=2))
  test = write_jsonl(tmp_path / "test.jsonl", make_examples(24, seed=3))
  model_dir = tmp_path / "run"
  args = [f"--train_file={train}", f"--eval_file={dev}", f"--test_file={test}",
          f"--model_dir={model_dir}"]
  log = assert_ok(run_cli(*args, "--epochs=1"))
  assert "Resuming" not in log
  assert "Epoch 1: 6 training steps" in log  # 96 examples / 16.

  metrics = load_json(model_dir / METRICS_FILE)
  assert metrics["num_params"] > 1000
  assert 0 < metrics["train_minutes"] < 10
  assert metrics["best_epoch"] == 1
  for split in ("dev", "test"):
    assert metrics[split]["num_examples"] == 24
    for key in HEADLINE_METRICS:
      assert 0.0 <= metrics[split][key] <= 1.0, (split, key, metrics[split])
  config = load_json(model_dir / "config.json")
  assert config["intent_labels"] == sorted(TEMPLATES)
  assert config["tag_labels"][0] == "O" and "B-fromloc" in config["tag_labels"]

  # Same model_dir, one more epoch: continues from the checkpoint of epoch 1.
  log = assert_ok(run_cli(*args, "--epochs=2"))
  assert "Resuming from" in log and "(epoch 1)" in log, log[-4000:]
  assert "Epoch 2: 6 training steps" in log
  assert "Epoch 1: " not in log  # Epoch 1 was not trained again.
  resumed = load_json(model_dir / METRICS_FILE)
  assert resumed["best_epoch"] in (1, 2)
  assert resumed["train_minutes"] > metrics["train_minutes"]  # Summed over both runs.


def test_streamed_tsv_shards_classification_only(tmp_path):
  """TSV has no tags: a model without a slot head, trained from a glob of shards."""
  examples = make_examples(80, seed=4)
  for i in range(2):
    write_tsv(tmp_path / f"train-{i}.tsv", examples[i * 40:(i + 1) * 40])
  dev = write_tsv(tmp_path / "dev.tsv", make_examples(20, seed=5))
  model_dir = tmp_path / "run"
  log = assert_ok(run_cli(f"--train_file={tmp_path}/train-*.tsv", f"--eval_file={dev}",
                          f"--model_dir={model_dir}", "--epochs=1"))
  assert "reads 2 of 2 shards" in log
  assert "Epoch 1: 5 training steps" in log  # 80 streamed examples / 16.
  metrics = load_json(model_dir / METRICS_FILE)
  assert set(metrics) >= {"num_params", "train_minutes", "dev"}
  assert 0.0 <= metrics["dev"]["intent_accuracy"] <= 1.0
  assert "slot_f1" not in metrics["dev"]
  assert load_json(model_dir / "config.json")["tag_labels"] == []
  with open(model_dir / "saved_model" / "keras_metadata.pb", "rb") as f:
    metadata = f.read()
  assert b'"name": "intent"' in metadata and b'"name": "slots"' not in metadata


@pytest.mark.parametrize("streamed", [False, True], ids=["file", "glob"])
def test_malformed_line_names_file_and_line(tmp_path, streamed):
  lines = [f"{e['text']}\t{e['label']}" for e in make_examples(6, seed=6)]
  lines[2] = "too\tmany\tcolumns"
  bad = tmp_path / "train-bad.tsv"
  bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
  write_tsv(tmp_path / "train-good.tsv", make_examples(6, seed=7))
  dev = write_tsv(tmp_path / "dev.tsv", make_examples(4, seed=8))
  train = f"{tmp_path}/train-*.tsv" if streamed else str(bad)
  result = run_cli(f"--train_file={train}", f"--eval_file={dev}",
                   f"--model_dir={tmp_path / 'run'}", "--epochs=1", timeout=120)
  assert result.returncode != 0
  assert f"{bad}:3: expected 1 or 2 tab-separated columns" in result.stdout, \
      result.stdout[-3000:]
  assert not (tmp_path / "run" / METRICS_FILE).exists()
