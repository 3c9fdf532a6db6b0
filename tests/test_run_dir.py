"""A run directory is never damaged by a later command (in-process, tiny model)."""
import fcntl
import json
import os

import pytest

from pqrnn_tf.data.examples import Example
from pqrnn_tf.train import trainer
from tests.file_snapshots import files_of



def examples(intents, tag="B-city"):
  words = ["boston", "denver", "dallas", "atlanta"]
  return [Example(f"flights to {w}", intent, ("O", "O", tag))
          for intent in intents for w in words]


TRAIN = examples(["flight", "fare", "ground"])
DEV = TRAIN[::3]


def make(model, train=TRAIN, **kwargs):
  return trainer.make_config(model, train, epochs=1, batch_size=8, **kwargs)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, trainable_config):
  model_dir = str(tmp_path_factory.mktemp("run"))
  trainer.train(make(trainable_config()), model_dir, TRAIN, DEV, verbose=0)
  return model_dir


@pytest.mark.parametrize("changed, key", [
    (dict(train=examples(["flight", "fare", "ground", "city"])), "intent_labels"),
    (dict(train=examples(["flight", "fare", "meal"])), "intent_labels"),  # same count
    (dict(train=examples(["flight", "fare", "ground"], tag="B-town")), "tag_labels"),
    (dict(model={"encoder": {"units": 12}}), "model.encoder.units"),
    (dict(seed=3), "seed"),
])
def test_resume_with_other_settings_is_refused_and_changes_nothing(run_dir, changed, key,
                                                                  trainable_config):
  before = files_of(run_dir)
  changed = dict(changed)
  config = make(trainable_config(**changed.pop("model", {})), **changed)
  with pytest.raises(trainer.RunDirError, match=key):
    trainer.train(config, run_dir, TRAIN, DEV, verbose=0)
  assert files_of(run_dir) == before
  trainer.load_trained(run_dir)  # Still loads.


def test_resume_with_the_same_settings_is_allowed(run_dir, trainable_config):
  trainer.train(make(trainable_config()), run_dir, TRAIN, DEV, verbose=0)


def test_concurrent_runs_are_refused(run_dir, trainable_config):
  with open(os.path.join(run_dir, trainer.LOCK_FILE), "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # Another process's run.
    try:
      with pytest.raises(trainer.RunDirError, match="in use"):
        trainer.train(make(trainable_config()), run_dir, TRAIN, DEV, verbose=0)
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


def test_leftover_temporary_directories_are_removed_on_resume(run_dir, trainable_config):
  leftover = os.path.join(run_dir, "saved_model_temp")
  os.makedirs(os.path.join(leftover, "variables"))
  trainer.train(make(trainable_config()), run_dir, TRAIN, DEV, verbose=0)
  assert not os.path.exists(leftover)


def test_evaluation_report_does_not_replace_the_training_metrics(run_dir):
  model, config = trainer.load_trained(run_dir)
  trainer.evaluate_and_save(model, config, run_dir, {"dev": DEV, "test": DEV})
  with open(os.path.join(run_dir, trainer.METRICS_FILE), "rb") as f:
    training_metrics = f.read()
  report = trainer.evaluate_and_save(model, config, run_dir, {"eval": DEV},
                                     report_file=trainer.EVAL_FILE)
  with open(os.path.join(run_dir, trainer.METRICS_FILE), "rb") as f:
    assert f.read() == training_metrics
  with open(os.path.join(run_dir, trainer.EVAL_FILE)) as f:
    assert json.load(f)["eval"] == report["eval"]


def test_config_saved_before_plateau_decay_loads_as_constant_rate(tmp_path):
  from pqrnn_tf import run_dir
  from pqrnn_tf.models import load_preset
  config = run_dir.TrainConfig(model=load_preset("pqrnn_small"), intent_labels=["a"])
  config.save(str(tmp_path / "config.json"))
  data = json.loads((tmp_path / "config.json").read_text())
  del data["plateau_decay"]
  (tmp_path / "config.json").write_text(json.dumps(data))
  assert run_dir.TrainConfig.load(str(tmp_path / "config.json")).plateau_decay == 1.0


def test_tensorboard_logs_hold_each_epochs_dev_metrics(run_dir):
  """model_dir/logs has the dev scores next to the losses, one per epoch."""
  import glob  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tags = set()
  for path in glob.glob(os.path.join(run_dir, "logs", "**", "events.*"), recursive=True):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  assert {"epoch_dev_intent_accuracy", "epoch_dev_slot_f1", "epoch_dev_exact_match"} <= tags, tags


def test_a_run_resumes_with_the_early_stopping_it_was_saved_with(tmp_path):
  """A run started with another rule (e.g. before the task defaults) resumes
  without flags: an early-stopping setting not given keeps the saved value."""
  from pqrnn_tf.models import load_preset
  model_dir = str(tmp_path)
  make(load_preset("pqrnn_small"), patience=3, plateau_decay=0.5).save(
      os.path.join(model_dir, trainer.CONFIG_FILE))
  resumed = make(load_preset("pqrnn_small"), resume_dir=model_dir)
  trainer.check_resume(resumed, model_dir)
  assert (resumed.patience, resumed.plateau_decay) == (3, 0.5)
  changed = make(load_preset("pqrnn_small"), resume_dir=model_dir, patience=12)
  assert (changed.patience, changed.plateau_decay) == (12, 0.5)
  fresh = make(load_preset("pqrnn_small"), resume_dir=str(tmp_path / "new"))
  assert (fresh.patience, fresh.plateau_decay) == (10, 1.0)
