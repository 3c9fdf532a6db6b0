"""Distillation: the loss against a NumPy reference, teacher alignment, the data
pipeline, and a tiny end-to-end run with a quantization-aware stage."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.metrics import HEADLINE_METRICS
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT
from pqrnn_tf.train import distillation, trainer
from pqrnn_tf.train.data import make_dataset

INTENTS = LabelVocab(["flight", "fare", "greet"])
TAGS = LabelVocab(["O", "B-city", "I-city"], fallback="O")
TRAIN = [Example("flights to boston", "flight", ["O", "O", "B-city"]),
         Example("fare to new york", "fare", ["O", "O", "B-city", "I-city"]),
         Example("hi", "greet", ["O"])]


def _softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def write_teacher(path, texts, intent_labels, tag_labels, seed=0):
  """A teacher logits file as docs/teacher_logits.md specifies, with random logits."""
  rng = np.random.default_rng(seed)
  lengths = [len(t.split()) for t in texts]
  np.savez(path, texts=np.array(texts, dtype=np.str_),
           intent_labels=np.array(intent_labels, dtype=np.str_),
           tag_labels=np.array(tag_labels, dtype=np.str_),
           intent_logits=rng.normal(size=(len(texts), len(intent_labels))).astype(np.float32),
           slot_logits=rng.normal(size=(sum(lengths), len(tag_labels))).astype(np.float32),
           token_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
           meta=np.array(json.dumps({"format_version": 1, "teacher": "random"})))
  return np.load(path)


@pytest.mark.parametrize("hard_weight", [0.0, 0.3, 1.0])
def test_loss_matches_numpy_reference(hard_weight):
  rng = np.random.default_rng(0)
  temperature, n, c = 2.5, 6, 4
  logits = rng.normal(size=(n, c)).astype(np.float32)
  teacher = _softmax(rng.normal(size=(n, c)) / temperature).astype(np.float32)
  gold = np.array([0, 3, -1, 2, -1, 1])
  loss = distillation.DistillationLoss(temperature, hard_weight, reduction="none")
  got = loss(np.concatenate([gold[:, None], teacher], 1).astype(np.float32), logits).numpy()
  log_p = np.log(_softmax(logits))
  hard = np.where(gold >= 0, -log_p[np.arange(n), np.maximum(gold, 0)], 0.0)
  soft = -(teacher * np.log(_softmax(logits / temperature))).sum(-1) * temperature ** 2
  np.testing.assert_allclose(got, hard_weight * hard + (1 - hard_weight) * soft, rtol=1e-5)


def test_soft_targets_renormalize_and_temperature_flattens():
  logits = np.array([[2.0, 0.0, -np.inf]])
  sharp, flat = (distillation.soft_targets(logits, t) for t in (1.0, 4.0))
  np.testing.assert_allclose(sharp.sum(), 1.0, rtol=1e-6)
  assert sharp[0, 2] == 0 and flat[0, 0] < sharp[0, 0]
  np.testing.assert_allclose(distillation.soft_targets(logits, 2.0, scale=2.0), sharp)


def test_teacher_targets_map_labels_by_name_and_add_teacher_only_texts(tmp_path):
  texts = [e.text for e in TRAIN] + ["flights to denver"]
  # The teacher orders labels differently and knows an intent the student lacks.
  data = write_teacher(tmp_path / "t.npz", texts, ["greet", "other", "flight", "fare"],
                       ["I-city", "O", "B-city"])
  config = distillation.DistillConfig(teacher_logits=(str(tmp_path / "t.npz"),),
                                      temperature=1.0)
  targets = distillation.teacher_targets(TRAIN, config, INTENTS, TAGS)
  assert [e.text for e in targets.examples] == texts
  assert targets.examples[3].intent is None and targets.examples[3].tags is None
  expected = _softmax(data["intent_logits"][:, [2, 3, 0]])  # flight, fare, greet.
  np.testing.assert_allclose(targets.intent_probs, expected, rtol=1e-5)
  rows = data["slot_logits"][data["token_offsets"][1]:data["token_offsets"][2]]
  np.testing.assert_allclose(targets.slot_probs[1], _softmax(rows[:, [1, 2, 0]]), rtol=1e-5)


def test_missing_teacher_rows_name_the_fix(tmp_path):
  write_teacher(tmp_path / "t.npz", [TRAIN[0].text], ["flight"], ["O"])
  config = distillation.DistillConfig(teacher_logits=(str(tmp_path / "t.npz"),))
  with pytest.raises(ValueError, match="2 of 3 training texts have no teacher logits"):
    distillation.teacher_targets(TRAIN, config, INTENTS, TAGS)


def test_dataset_packs_gold_and_teacher_targets(tmp_path):
  write_teacher(tmp_path / "t.npz", [e.text for e in TRAIN] + ["to boston"],
                list(INTENTS.labels), list(TAGS.labels))
  config = distillation.DistillConfig(teacher_logits=(str(tmp_path / "t.npz"),))
  targets = distillation.teacher_targets(TRAIN, config, INTENTS, TAGS)
  batch = next(iter(make_dataset(targets.examples, INTENTS, TAGS, 4, teacher=targets)))
  texts, y = batch
  intent, slots = y[INTENT_OUTPUT].numpy(), y[SLOTS_OUTPUT].numpy()
  assert intent.shape == (4, 1 + 3) and slots.shape == (4, 4, 1 + 3)
  np.testing.assert_array_equal(intent[:, 0], [0, 1, 2, -1])
  np.testing.assert_allclose(intent[:, 1:], targets.intent_probs)
  np.testing.assert_array_equal(slots[1, :, 0], [0, 0, 1, 2])
  np.testing.assert_array_equal(slots[3, :2, 0], [-1, -1])  # No gold tags.
  np.testing.assert_allclose(slots[1, :, 1:], targets.slot_probs[1])
  np.testing.assert_allclose(slots[2, :1, 1:], targets.slot_probs[2])
  assert not slots[2, 1:].any()  # Padding.


def test_distill_then_quantization_aware_training(tmp_path, trainable_config):
  pytest.importorskip("tensorflow_model_optimization")
  dev = TRAIN
  write_teacher(tmp_path / "t.npz", [e.text for e in TRAIN] + ["fare to boston"],
                list(INTENTS.labels), list(TAGS.labels))
  config = trainer.make_config(
      trainable_config(), TRAIN, epochs=2, batch_size=2, qat_epochs=1,
      distill={"teacher_logits": [str(tmp_path / "t.npz")], "temperature": 2.0,
               "hard_weight": 0.5})
  model_dir = str(tmp_path / "run")
  model = trainer.train(config, model_dir, TRAIN, dev, verbose=0)
  assert os.path.exists(os.path.join(model_dir, trainer.QAT_DIR, trainer.BEST_WEIGHTS + ".index"))
  metrics = trainer.evaluate_and_save(model, config, model_dir, {"dev": dev})
  assert set(metrics["qat"]["dev"]) >= set(HEADLINE_METRICS)
  qat_model, loaded = trainer.load_qat(model_dir)
  assert trainer.distill_config(loaded).temperature == 2.0
  assert any("quant" in w.name for w in qat_model.weights)
  out = qat_model(tf.constant([e.text for e in dev]), training=False)
  assert out[SLOTS_OUTPUT].shape[:2] == (3, 4)
  # Export loads the run without importing training (where the distillation
  # loss the SavedModel was compiled with lives).
  code = ("import sys; from pqrnn_tf import run_dir; run_dir.load_trained(sys.argv[1]); "
          "assert 'pqrnn_tf.train' not in sys.modules")
  r = subprocess.run([sys.executable, "-c", code, model_dir], capture_output=True, text=True,
                     timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
