"""pqrnn-train's preset when --preset is not given: by task, or the resumed run's."""
from __future__ import annotations

import os

import pytest

from pqrnn_tf.data.examples import Example
from pqrnn_tf.models import load_preset
from pqrnn_tf.run_dir import CONFIG_FILE, TrainConfig
from pqrnn_tf.train import cli

CLASSIFICATION = [Example("book a flight", "flight"), Example("what does it cost", "fare")]
JOINT = [Example("fly to boston", "flight", ("O", "O", "B-city")),
         Example("fare to denver", "fare", ("O", "O", "B-city"))]


@pytest.mark.parametrize("family, train, expected", [
    ("pqrnn", CLASSIFICATION, "pqrnn_classifier"),
    ("pqrnn", JOINT, "pqrnn_base"),
    ("lstm", CLASSIFICATION, "lstm_vocab"),  # no classification preset of its own
    ("transformer", JOINT, "transformer_base"),
])
def test_new_run_gets_its_tasks_preset(tmp_path, family, train, expected):
  assert cli.default_preset(family, train, str(tmp_path)) == load_preset(expected)
  assert load_preset("pqrnn_classifier") != load_preset("pqrnn_base")


def test_resumed_run_keeps_the_preset_it_was_saved_with(tmp_path):
  saved = load_preset("pqrnn_small")
  TrainConfig(model=saved, intent_labels=["fare", "flight"]).save(
      os.path.join(tmp_path, CONFIG_FILE))
  # Classification data would pick pqrnn_classifier for a new run.
  assert cli.default_preset("pqrnn", CLASSIFICATION, str(tmp_path)) == saved
  # Another family's run directory is not this run's: check_resume refuses it later.
  assert cli.default_preset("lstm", CLASSIFICATION, str(tmp_path)) == load_preset("lstm_vocab")


def test_unreadable_saved_config_falls_back_to_the_task(tmp_path):
  (tmp_path / CONFIG_FILE).write_text("{not json")
  assert cli.default_preset("pqrnn", JOINT, str(tmp_path)) == load_preset("pqrnn_base")
