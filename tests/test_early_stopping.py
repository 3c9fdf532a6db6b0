"""DevSelection's early stopping and plateau learning-rate decay (no real training)."""
from __future__ import annotations

import pytest
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.models import load_preset
from pqrnn_tf.train import trainer


class _FakeModel:
  def __init__(self):
    self.optimizer = keras.optimizers.Adam(1e-3)
    self.stop_training = False

  def save_weights(self, path):
    del path


def _selection(tmp_path, monkeypatch, dev_scores, patience, decay):
  scores = iter(dev_scores)
  monkeypatch.setattr(trainer.evaluation, "predict", lambda *args, **kwargs: (None, None))
  monkeypatch.setattr(trainer.metrics_lib, "score_examples",
                      lambda *args: {"intent_accuracy": next(scores)})
  (tmp_path / "best").mkdir()
  selection = trainer.DevSelection(str(tmp_path), [Example("hi", "a")], LabelVocab(["a"]),
                                   None, patience, plateau_decay=decay)
  selection.set_model(_FakeModel())
  return selection


def test_each_epoch_without_gain_decays_the_rate_and_patience_stops(tmp_path, monkeypatch):
  selection = _selection(tmp_path, monkeypatch, [0.5, 0.7, 0.6, 0.8, 0.8, 0.7, 0.7],
                         patience=3, decay=0.5)
  rates = []
  for epoch in range(7):
    selection.on_epoch_end(epoch, {})
    rates.append(float(selection.model.optimizer.learning_rate.numpy()))
    if selection.model.stop_training:
      break
  assert rates == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 1.25e-4, 6.25e-5])
  assert selection.model.stop_training and selection.state["best_epoch"] == 3


def test_decay_one_keeps_the_rate(tmp_path, monkeypatch):
  selection = _selection(tmp_path, monkeypatch, [0.5, 0.4], patience=5, decay=1.0)
  for epoch in range(2):
    selection.on_epoch_end(epoch, {})
  assert float(selection.model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


def test_the_decayed_rate_is_checkpointed_with_the_optimizer(tmp_path):
  model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
  optimizer = keras.optimizers.Adam(1e-3)
  model.compile(optimizer=optimizer, loss="mse")
  model.fit(tf.zeros([4, 2]), tf.zeros([4, 1]), verbose=0)
  optimizer.learning_rate.assign(2.5e-4)
  path = tf.train.Checkpoint(optimizer=optimizer, model=model).save(str(tmp_path / "ckpt"))
  restored = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
  restored.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
  restored.fit(tf.zeros([4, 2]), tf.zeros([4, 1]), verbose=0)
  tf.train.Checkpoint(optimizer=restored.optimizer, model=restored).restore(path)
  assert float(restored.optimizer.learning_rate.numpy()) == pytest.approx(2.5e-4)


def test_plateau_decay_is_validated():
  config = trainer.TrainConfig(model=load_preset("pqrnn_small"), intent_labels=["a"],
                               plateau_decay=0.0)
  with pytest.raises(ValueError, match="plateau_decay"):
    config.validate()


@pytest.mark.parametrize("tags, rule", [(None, (3, 0.5)), (("O",), (10, 1.0))])
def test_the_default_rule_depends_on_the_task(tags, rule):
  # Classification peaks early; joint intent + slot models gain slot F1 until
  # late at a constant rate (README, early stopping).
  config = trainer.make_config(load_preset("pqrnn_small"), [Example("hi", "a", tags)])
  assert (config.patience, config.plateau_decay) == rule


def test_a_given_patience_or_decay_overrides_only_itself():
  joint = [Example("hi", "a", ("O",))]
  config = trainer.make_config(load_preset("pqrnn_small"), joint, patience=4)
  assert (config.patience, config.plateau_decay) == (4, 1.0)
  config = trainer.make_config(load_preset("pqrnn_small"), joint, plateau_decay=0.5)
  assert (config.patience, config.plateau_decay) == (10, 0.5)
