"""Scoring a teacher exactly like the student (pqrnn_tf.metrics), without torch."""
from __future__ import annotations

from collections.abc import Sequence


from pqrnn_tf import metrics as metrics_lib
from pqrnn_tf.data.examples import Example
from pqrnn_tf.metrics import METRICS_FILE  # noqa: F401  (the teacher run's scores)
from pqrnn_tf.teacher import predictor as predictor_lib

CONFIG_FILE = "config.json"
DEV_KEYS = metrics_lib.HEADLINE_METRICS


def evaluate(predictor: predictor_lib.TeacherPredictor, examples: Sequence[Example],
             batch_size: int = 64) -> dict:
  """Predicts `examples` and scores them like the student (same decoder, same scorer)."""
  from pqrnn_tf.teacher.model_predictor import TeacherModelPredictor  # pylint: disable=g-import-not-at-top
  return metrics_lib.score_examples(examples, *TeacherModelPredictor(
      predictor, batch_size=batch_size).predict_labels([e.text for e in examples]))


def fmt(metrics: dict) -> str:
  return ", ".join(f"{k} {100 * metrics[k]:.2f}" for k in DEV_KEYS if k in metrics)
