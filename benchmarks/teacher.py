"""The teacher's deployments (PyTorch fp32, ONNX Runtime int8) behind one
small interface, so that they are timed and scored like the TFLite models.

A `Teacher` is string in, logits out: `predict(texts)` returns intent logits
[batch, intents] and per-word slot logits [batch, words, tags] (tokenization
included), plus what the report needs: label lists, the files that make up
the deployment (for its size) and the encoder's dimensions (for MACs).
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
from typing import Callable, Sequence

import numpy as np

from . import macs

#: Deployments of a `pqrnn-teacher` model_dir, in report order.
DEPLOYMENTS = ("torch_fp32", "onnx_int8")
DISPLAY_NAMES = {"torch_fp32": "teacher PyTorch fp32", "onnx_int8": "teacher ONNX int8"}


class TeacherUnavailable(RuntimeError):
  """The teacher's predictors cannot be loaded here."""


@dataclasses.dataclass
class Teacher:
  """One deployment of the teacher, adapted to the benchmark.

  Attributes:
    deployment: one of DEPLOYMENTS.
    predict: list[str] -> (intent logits [B, I], slot logits [B, W, T]).
    intent_labels / slot_labels: label of each logit, in order.
    files: the files the deployment loads (their total size is its size).
    num_layers / hidden / intermediate: encoder dimensions, for MACs.
    count_tokens: str -> the encoder's sequence length for that sentence
      (word pieces plus special tokens).
    runtime: e.g. "torch 2.5.1", for the report.
  """

  deployment: str
  predict: Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
  intent_labels: Sequence[str]
  slot_labels: Sequence[str]
  files: Sequence[str]
  num_layers: int
  hidden: int
  intermediate: int
  count_tokens: Callable[[str], int]
  runtime: str = ""

  @property
  def bytes(self) -> int:
    return sum(os.path.getsize(f) for f in self.files)

  def macs(self, text: str) -> int:
    """Analytic MACs of one sentence (encoder + heads)."""
    return macs.transformer_macs(
        self.num_layers, self.hidden, self.intermediate, self.count_tokens(text),
        num_intents=len(self.intent_labels), num_tags=len(self.slot_labels))


def load(teacher_dir: str, deployment: str, num_threads: int,
         factory: str | None = None) -> Teacher:
  """The `deployment` of the `pqrnn-teacher` model in `teacher_dir`.

  Args:
    teacher_dir: a `pqrnn-teacher` model_dir (ONNX files under `onnx/`).
    deployment: one of DEPLOYMENTS.
    num_threads: intra-op threads of the runtime.
    factory: "module:function" with load()'s signature, used instead of the
      real teacher (tests use a fake).

  Raises:
    TeacherUnavailable: the teacher package or its model files are missing.
  """
  if deployment not in DEPLOYMENTS:
    raise ValueError(f"deployment must be one of {DEPLOYMENTS}, got {deployment!r}")
  if factory:
    module_name, _, function = factory.partition(":")
    return getattr(importlib.import_module(module_name), function)(
        teacher_dir, deployment, num_threads)
  return _load_pqrnn_teacher(teacher_dir, deployment, num_threads)


def _load_pqrnn_teacher(teacher_dir: str, deployment: str, num_threads: int) -> Teacher:
  try:
    importlib.import_module("pqrnn_tf.teacher")
  except ImportError as e:
    raise TeacherUnavailable(
        f"teacher predictors not available: cannot import pqrnn_tf.teacher ({e}); "
        f"the benchmark times the teacher through its predictors") from e
  raise TeacherUnavailable(
      f"teacher predictors not available: this version of the benchmark does not "
      f"know pqrnn_tf.teacher's predictor API yet (model_dir {teacher_dir!r}, "
      f"deployment {deployment!r})")


#: The module each deployment's runtime lives in.
RUNTIME_MODULES = {"torch_fp32": "torch", "onnx_int8": "onnxruntime"}


def import_runtime(deployment: str, factory: str | None = None) -> None:
  """Imports the deployment's runtime (and the teacher code) without loading a
  model, so that the runtime's memory can be told apart from the model's."""
  modules = ([factory.partition(":")[0]] if factory
             else [RUNTIME_MODULES[deployment], "pqrnn_tf.teacher"])
  for name in modules:
    try:
      importlib.import_module(name)
    except ImportError as e:
      raise TeacherUnavailable(f"teacher predictors not available: cannot import "
                               f"{name} ({e})") from e


def check_available(teacher_dir: str, deployment: str, factory: str | None = None) -> None:
  """Raises TeacherUnavailable if `load` cannot work, without importing the
  runtime (the benchmark checks before it starts timing)."""
  if deployment not in DEPLOYMENTS:
    raise ValueError(f"teacher deployment must be one of {DEPLOYMENTS}, got {deployment!r}")
  if not os.path.isdir(teacher_dir):
    raise TeacherUnavailable(f"teacher predictors not available: {teacher_dir} is not "
                             f"a directory")
  if factory:
    return
  for name in (RUNTIME_MODULES[deployment], "pqrnn_tf.teacher"):
    if importlib.util.find_spec(name) is None:
      raise TeacherUnavailable(f"teacher predictors not available: {name} is not "
                               f"installed (needed for the {deployment} deployment)")
