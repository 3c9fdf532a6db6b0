"""Label lists of an exported model: inside it (TFLite Metadata) or beside it.

`pqrnn-export` writes `<stem>.intents.txt` and `<stem>.slots.txt` (one label
per line, in output order) beside `<stem>.tflite`; a model may also carry the
same lists inside itself (`pqrnn_tf.inference.metadata`).
"""
from __future__ import annotations

import os

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.examples import OUTSIDE_TAG, LabelVocab
from pqrnn_tf.inference import metadata


def label_paths(model_path: str) -> dict[str, str]:
  """The files pqrnn-export writes beside `model_path`: labels and report."""
  stem = model_path[:-len(".tflite")] if model_path.endswith(".tflite") else model_path
  return {"intents": stem + ".intents.txt", "slots": stem + ".slots.txt",
          "report": stem + ".export.json"}


def load_labels(model_path: str) -> tuple[LabelVocab, LabelVocab | None]:
  """The intent and (if any) slot vocabularies written beside `model_path`."""
  paths = label_paths(model_path)
  if not os.path.exists(paths["intents"]):
    raise FileNotFoundError(f"{paths['intents']} is missing: the label files "
                            f"pqrnn-export writes beside the model are needed")
  intents = LabelVocab(read_label_file(paths["intents"]))
  tags = None
  if os.path.exists(paths["slots"]):
    tags = LabelVocab(read_label_file(paths["slots"]), fallback=OUTSIDE_TAG)
  return intents, tags


def read_label_file(path: str) -> list[str]:
  """The labels of a label file; a UserError naming the line of a repeated label."""
  with open(path, encoding="utf-8") as f:
    labels = metadata.parse_label_file(f.read())
  first = {}
  for line, label in enumerate(labels, 1):
    if label in first:
      raise UserError(f"{path}:{line}: label {label!r} repeats line {first[label]}")
    first[label] = line
  return labels


def model_labels(model_path: str) -> tuple[LabelVocab, LabelVocab | None]:
  """The labels inside the model (TFLite Metadata) if any, else the files beside it.

  Args:
    model_path: a `.tflite` file.

  Returns:
    `(intent vocab, slot tag vocab or None)`.

  Raises:
    FileNotFoundError: the model has no labels inside and none beside it.
  """
  inside = metadata.read_labels(model_path)
  if inside is not None:
    return inside
  try:
    return load_labels(model_path)
  except FileNotFoundError as e:
    raise FileNotFoundError(f"no labels inside the model (TFLite Metadata), and {e}") from None
