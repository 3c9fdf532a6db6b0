"""The per-sentence token limit: in the op, the presets, the training data and the decoder."""
import json
import os
import subprocess
import sys

import tensorflow as tf

from pqrnn_tf.data import readers
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.data.tokens import DEFAULT_MAX_TOKENS, Tokenization
from pqrnn_tf.layers import Projection
from pqrnn_tf.models import SLOTS_OUTPUT, ModelConfig, load_preset
from pqrnn_tf.train.data import make_dataset

INTENTS = LabelVocab(["flight", "fare"])
TAGS = LabelVocab(["O", "B-city"], fallback="O")


def test_projection_layer_limits_tokens_by_default():
  features = Projection(feature_size=8)(tf.constant(["a " * (DEFAULT_MAX_TOKENS + 40)]))
  assert features.shape[1] == DEFAULT_MAX_TOKENS
  assert Projection().get_config()["max_tokens"] == DEFAULT_MAX_TOKENS


def test_pqrnn_presets_record_the_limit():
  for name in ("pqrnn_base", "pqrnn_small"):
    config = load_preset(name)
    assert config.projection["max_tokens"] == DEFAULT_MAX_TOKENS
    assert config.tokenization.max_tokens == DEFAULT_MAX_TOKENS
  assert ModelConfig.from_dict({"model": "pqrnn"}).tokenization.max_tokens == DEFAULT_MAX_TOKENS
  assert ModelConfig.from_dict(
      {"model": "pqrnn", "projection": {"max_tokens": 0}}).tokenization.max_tokens == 0


def test_slot_targets_stop_at_the_limit():
  long = Example(" ".join(["boston"] * 30), "flight", ("B-city",) * 30)
  short = Example("fares", "fare", ("O",))
  text, targets = next(iter(make_dataset([long, short], INTENTS, TAGS, 2,
                                         tokenization=Tokenization(max_tokens=8))))
  assert targets[SLOTS_OUTPUT].shape == (2, 8)
  assert targets[SLOTS_OUTPUT].numpy()[0].tolist() == [1] * 8


def test_words_past_the_limit_are_tagged_outside():
  assert Tokenization(max_tokens=2).word_tags("a b c d", ["B-city", "B-city"]) == [
      "B-city", "B-city", "O", "O"]


def test_training_on_a_one_megabyte_line_stays_bounded(tmp_path):
  """pqrnn-train on a file with one 1 MB line (143k tokens): peak RSS < 2 GB
  (it passed 17 GB before the limit)."""
  train = readers.read_atis("train")[:64]
  path = tmp_path / "train.tsv"
  with open(path, "w", encoding="utf-8") as f:
    for e in train:
      f.write(f"{e.text}\t{e.intent}\n")
    f.write("flight " * 142_857 + f"\t{train[0].intent}\n")  # 999,999 characters
  dev = tmp_path / "dev.jsonl"
  readers.write_jsonl(readers.read_atis("dev")[:32], dev)
  # VmHWM, the peak RSS of this process's own memory: ru_maxrss would also
  # count the pytest parent's memory at fork time (Linux keeps it across exec).
  script = (
      "import sys\n"
      "from pqrnn_tf.train import cli\n"
      "sys.argv = ['pqrnn-train'] + sys.argv[1:]\n"
      "try:\n"
      "  cli.run()\n"
      "finally:\n"
      "  peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
      "  print('MAXRSS_KB', peak.split()[1], flush=True)\n")
  result = subprocess.run(
      [sys.executable, "-c", script, f"--train_file={path}", f"--eval_file={dev}",
       "--preset=pqrnn_small", f"--model_dir={tmp_path / 'run'}", "--epochs=1"],
      capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  rss_kb = int(result.stdout.split("MAXRSS_KB")[1].split()[0])
  print(f"peak RSS {rss_kb / 1024:.0f} MB")
  assert rss_kb < 2 * 1024 * 1024, f"peak RSS {rss_kb / 1024:.0f} MB"
