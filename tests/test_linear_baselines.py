"""pqrnn_tf/benchmarks/linear_baselines.py and the accuracy benchmark's table, on tiny data."""
from __future__ import annotations

import importlib.util

import pytest

from pqrnn_tf.benchmarks import accuracy, linear_baselines
from pqrnn_tf.data.examples import Example

WORDS = {"food": ["pizza", "bread", "soup", "rice"], "sport": ["ball", "goal", "team", "run"]}


def _split(n: int, offset: int) -> list[Example]:
  return [Example(f"{WORDS[label][i % 4]} and {WORDS[label][(i + offset) % 4]} please", label)
          for i in range(n) for label in WORDS]


@pytest.mark.parametrize("name", linear_baselines.BASELINES)
def test_baseline_learns_a_separable_task_and_picks_its_setting_on_dev(name):
  if name == "fasttext" and importlib.util.find_spec("fasttext") is None:
    pytest.skip("fasttext not installed (PyPI fasttext-numpy2, in requirements.txt)")
  splits = {"train": _split(40, 1), "dev": _split(8, 2), "test": _split(8, 3)}
  result = linear_baselines.run_baseline(name, splits)
  assert result["test"] == 1.0 and result["dev"] == 1.0
  assert result["setting"]


def test_markdown_has_slot_columns_only_when_a_row_has_slots():
  row = {"seeds": 1, "num_params": None, "intent_accuracy": accuracy.spread([90.0]),
         "train_minutes": {"mean": 0.1}, "setting": ["C=1"]}
  assert "slot F1" not in accuracy.markdown({"tfidf_logreg": row})
  pqrnn = dict(row, num_params=1e6, slot_f1=accuracy.spread([95.0]),
               exact_match=accuracy.spread([85.0]))
  del pqrnn["setting"]
  table = accuracy.markdown({"pqrnn_base": pqrnn, "tfidf_logreg": row})
  assert "slot F1" in table and "| tfidf_logreg (C=1) | 1 | – | 90.00 (90.00–90.00) | – | – |" in table
