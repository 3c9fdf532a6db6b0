"""Runs an exported model on labeled data and compares it with the Keras model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pqrnn_tf import lite
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT
from pqrnn_tf.train import evaluation

from pqrnn_tf.export.converter import INPUT_NAME, INTENT_PROBS, SLOT_PROBS
# Label files are read TF-free, for predictors; re-exported here.
from pqrnn_tf.inference.labels import label_paths, load_labels  # noqa: F401


def tflite_score(model_path: str, examples: Sequence[Example],
                 runtime: str = "litert") -> dict:
  """Metrics of an exported model (labels from its files) on `examples`."""
  intents, tags = load_labels(model_path)
  return evaluation.score(examples, *tflite_predict(model_path, examples, intents,
                                                    tags, runtime=runtime))


def tflite_predict(model_path: str, examples: Sequence[Example], intents: LabelVocab,
                   tags: LabelVocab | None, runtime: str = "litert"):
  """Predictions of the TFLite model, one sentence per invoke (as on a phone)."""
  runner = lite.load_interpreter(model_path, runtime=runtime).get_signature_runner()
  pred_intents, pred_tags = [], ([] if tags is not None else None)
  for example in examples:
    out = runner(**{INPUT_NAME: np.array([example.text.encode("utf-8")], dtype=object)})
    outputs = {INTENT_OUTPUT: out[INTENT_PROBS]}
    if SLOT_PROBS in out:
      outputs[SLOTS_OUTPUT] = out[SLOT_PROBS]
    i, t = evaluation.decode_predictions(outputs, [example], intents, tags)
    pred_intents.extend(i)
    if pred_tags is not None and t is not None:
      pred_tags.extend(t)
  return pred_intents, pred_tags


def compare(keras_model, model_path: str, examples: Sequence[Example],
            intents: LabelVocab, tags: LabelVocab | None) -> dict:
  """Agreement with the Keras model, and both models' metrics."""
  k_intents, k_tags = evaluation.predict(keras_model, examples, intents, tags)
  t_intents, t_tags = tflite_predict(model_path, examples, intents, tags)
  report = {
      "num_examples": len(examples),
      "intent_agreement": float(np.mean([a == b for a, b in zip(k_intents, t_intents)])),
      "keras": evaluation.score(examples, k_intents, k_tags),
      "tflite": evaluation.score(examples, t_intents, t_tags),
  }
  if k_tags is not None and t_tags is not None:
    same = [a == b for ks, ts in zip(k_tags, t_tags) for a, b in zip(ks, ts)]
    report["tag_agreement"] = float(np.mean(same))
  report["delta"] = {k: report["tflite"][k] - report["keras"][k]
                     for k in ("intent_accuracy", "slot_f1", "exact_match")
                     if k in report["keras"]}
  return report
