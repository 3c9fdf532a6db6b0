"""Runs an exported model on labeled data and compares it with the Keras model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from pqrnn_tf import metrics
from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.keras_predictor import KerasPredictor
from pqrnn_tf.inference.predictor import TflitePredictor
# Label files are read TF-free, for predictors; re-exported here.
from pqrnn_tf.inference.labels import label_paths, load_labels  # noqa: F401


def tflite_score(model_path: str, examples: Sequence[Example],
                 runtime: str = "litert") -> dict:
  """Metrics of an exported model (its own labels) on `examples`."""
  return metrics.score_examples(examples, *tflite_predict(model_path, examples,
                                                          runtime=runtime))


def tflite_predict(model_path: str, examples: Sequence[Example],
                   intents: LabelVocab | None = None, tags: LabelVocab | None = None,
                   runtime: str = "litert"):
  """(intents, word tags or None) of the TFLite model, one sentence per invoke
  (as on a phone), decoded by `TflitePredictor`; `intents` / `tags` replace
  the model's own labels."""
  predictor = TflitePredictor(model_path, runtime=runtime, batch_size=1,
                              labels=(intents, tags) if intents is not None else None)
  return predictor.predict_labels([e.text for e in examples])


def compare(keras_model, model_path: str, examples: Sequence[Example],
            intents: LabelVocab, tags: LabelVocab | None) -> dict:
  """Agreement with the Keras model, and both models' metrics."""
  k_intents, k_tags = KerasPredictor(keras_model, intents, tags, batch_size=256).predict_labels(
      [e.text for e in examples])
  t_intents, t_tags = tflite_predict(model_path, examples, intents, tags)
  report = {
      "num_examples": len(examples),
      "intent_agreement": float(np.mean([a == b for a, b in zip(k_intents, t_intents)])),
      "keras": metrics.score_examples(examples, k_intents, k_tags),
      "tflite": metrics.score_examples(examples, t_intents, t_tags),
  }
  if k_tags is not None and t_tags is not None:
    same = [a == b for ks, ts in zip(k_tags, t_tags) for a, b in zip(ks, ts)]
    report["tag_agreement"] = float(np.mean(same))
  report["delta"] = {k: report["tflite"][k] - report["keras"][k]
                     for k in metrics.HEADLINE_METRICS
                     if k in report["keras"]}
  return report
