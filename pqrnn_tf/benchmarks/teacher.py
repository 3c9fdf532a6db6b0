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
import json
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
    predict: list[str] -> (intent logits [B, I], per sentence slot logits
      [words, T] (an array [B, W, T] or a list of [W_i, T] arrays)).
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
  """Adapts pqrnn_tf.teacher's predictors (PyTorch eager, ONNX Runtime)."""
  try:
    from pqrnn_tf.teacher import export as export_lib  # pylint: disable=g-import-not-at-top
    from pqrnn_tf.teacher import model as model_lib  # pylint: disable=g-import-not-at-top
    from pqrnn_tf.teacher import predictor as predictor_lib  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise TeacherUnavailable(f"teacher predictors not available: cannot import "
                             f"pqrnn_tf.teacher ({e})") from e
  model_dir = predictor_lib.model_subdir(teacher_dir)
  encoder_dir = os.path.join(model_dir, model_lib.ENCODER_SUBDIR)
  if deployment == "torch_fp32":
    import torch  # pylint: disable=g-import-not-at-top
    predictor = predictor_lib.load_torch(teacher_dir, num_threads=num_threads)
    # The weights the deployment loads; tokenizer files are not counted (the
    # TFLite models need none), which favours the teacher in size ratios.
    files = [os.path.join(encoder_dir, "model.safetensors"),
             os.path.join(model_dir, model_lib.HEADS_FILE)]
    runtime = f"PyTorch {torch.__version__} eager fp32"
  else:
    import onnxruntime  # pylint: disable=g-import-not-at-top
    onnx_path = os.path.join(teacher_dir, "onnx", export_lib.INT8_FILE)
    if not os.path.isfile(onnx_path):
      raise TeacherUnavailable(f"teacher predictors not available: no {onnx_path} (run "
                               f"`pqrnn-teacher export --model_dir={teacher_dir}`)")
    predictor = predictor_lib.load_onnx(onnx_path, num_threads=num_threads)
    files = [onnx_path]
    runtime = f"ONNX Runtime {onnxruntime.__version__} dynamic int8"
  with open(os.path.join(encoder_dir, "config.json"), encoding="utf-8") as f:
    config = json.load(f)

  def count_tokens(text: str) -> int:
    return int(model_lib.encode(predictor.tokenizer, [text], predictor.max_length)
               .input_ids.shape[1])

  return Teacher(deployment=deployment, predict=predictor.predict,
                 intent_labels=predictor.intent_labels, slot_labels=predictor.tag_labels,
                 files=files, num_layers=int(config["num_hidden_layers"]),
                 hidden=int(config["hidden_size"]),
                 intermediate=int(config["intermediate_size"]),
                 count_tokens=count_tokens, runtime=runtime)


#: The module each deployment's runtime lives in.
RUNTIME_MODULES = {"torch_fp32": ("torch", "transformers"),
                   "onnx_int8": ("onnxruntime", "transformers")}
# The teacher's own code (its predictor module imports torch for both).
TEACHER_MODULES = ("pqrnn_tf.teacher.predictor", "pqrnn_tf.teacher.export")


def import_runtime(deployment: str, factory: str | None = None) -> None:
  """Imports the deployment's runtime (and the teacher code) without loading a
  model, so that the runtime's memory can be told apart from the model's."""
  modules = ([factory.partition(":")[0]] if factory
             else [*RUNTIME_MODULES[deployment], *TEACHER_MODULES])
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
  if deployment == "onnx_int8" and not os.path.isdir(os.path.join(teacher_dir, "onnx")):
    raise TeacherUnavailable(f"teacher predictors not available: no {teacher_dir}/onnx/ "
                             f"(run `pqrnn-teacher export --model_dir={teacher_dir}`)")
  for name in (*RUNTIME_MODULES[deployment], "pqrnn_tf.teacher"):
    if importlib.util.find_spec(name) is None:
      raise TeacherUnavailable(f"teacher predictors not available: {name} is not "
                               f"installed (needed for the {deployment} deployment)")
