"""A `Predictor` for the teacher (PyTorch or ONNX, `pqrnn_tf.teacher.predictor`):
the same `Prediction`s, decoding and scoring as the student's."""
from __future__ import annotations

import numpy as np

from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.inference.decoding import softmax
from pqrnn_tf.inference.predictor import Predictor
from pqrnn_tf.inference.signature import INTENT_PROBS, SEQUENCE_LENGTH, SLOT_PROBS
from pqrnn_tf.teacher.predictor import TeacherPredictor


class TeacherModelPredictor(Predictor):
  """Runs a teacher (`load_torch` / `load_onnx`); one row per whitespace word
  (the teacher tags each word by its first sub-word).

  Args:
    teacher: a loaded `TeacherPredictor`.
    batch_size: texts per call.
    top_k: intents listed in `Prediction.top_k`.
  """

  def __init__(self, teacher: TeacherPredictor, batch_size: int = 64, top_k: int = 3):
    self.teacher = teacher
    self.tokenization = Tokenization.words()
    self.intent_labels = teacher.intent_labels
    self.slot_labels = teacher.tag_labels or None
    self.batch_size = batch_size
    self.top_k = top_k

  def _invoke(self, batch: list[str]) -> dict[str, np.ndarray]:
    intent, slots, _ = self.teacher.predict_batch(batch)
    result = {INTENT_PROBS: softmax(np.asarray(intent, np.float64))}
    if self.slot_labels is not None:
      lengths = np.array([len(s) for s in slots], np.int32)
      padded = np.zeros((len(batch), max(lengths.max(initial=0), 1), len(self.slot_labels)))
      for i, rows in enumerate(slots):
        padded[i, :len(rows)] = softmax(np.asarray(rows, np.float64)) if len(rows) else 0
      result[SLOT_PROBS], result[SEQUENCE_LENGTH] = padded, lengths
    return result
