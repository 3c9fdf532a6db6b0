"""String in, logits out: the teacher on PyTorch or on ONNX Runtime, tokenization included.

    from pqrnn_tf.teacher.predictor import load_torch, load_onnx
    p = load_torch("runs/teacher", num_threads=1)
    p = load_onnx("runs/teacher/onnx/teacher.int8.onnx", num_threads=1)
    intent_logits, slot_logits = p.predict(["flights from boston to denver"])
    # intent_logits: float32 [1, I]; slot_logits: [float32 [4, S]] (one row per word)

Labels are ``p.intent_labels`` / ``p.tag_labels``. Both loaders set the thread
count they are given (PyTorch: ``torch.set_num_threads``, process-wide). Both
tokenize with the `tokenizers` library (the saved tokenizer.json); the ONNX
path imports neither torch nor `transformers`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from pqrnn_tf.teacher import tokenization as tok_lib


class TeacherPredictor:
  """Base class: tokenization and word alignment; subclasses run the network."""

  def __init__(self, tokenizer: tok_lib.WordTokenizer, intent_labels: Sequence[str], tag_labels: Sequence[str],
               max_length: int) -> None:
    self.tokenizer = tokenizer
    self.intent_labels = list(intent_labels)
    self.tag_labels = list(tag_labels)
    self.max_length = max_length

  def run(self, input_ids: np.ndarray,
          attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intent logits [B, I], sub-word slot logits [B, L, S]), float32."""
    raise NotImplementedError

  def predict_batch(self, texts: Sequence[str]):
    """(intent logits [B, I], per-text word slot logits, the tokenized :class:`Batch`)."""
    batch = tok_lib.encode(self.tokenizer, texts, self.max_length)
    intent, subword = self.run(batch.input_ids, batch.attention_mask)
    return intent, tok_lib.gather_words(batch, subword), batch

  def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Intent logits float32 [B, I]; per text, slot logits float32 [num words, S]."""
    intent, slots, _ = self.predict_batch(texts)
    return intent, slots


class TorchPredictor(TeacherPredictor):
  """PyTorch eager, fp32."""

  def __init__(self, loaded) -> None:
    """`loaded`: a :class:`pqrnn_tf.teacher.model.Loaded`."""
    super().__init__(loaded.tokenizer, loaded.intent_labels, loaded.tag_labels,
                     loaded.max_length)
    self.model = loaded.model

  def run(self, input_ids, attention_mask):
    import torch  # pylint: disable=g-import-not-at-top
    self.model.eval()
    with torch.inference_mode():
      intent, slots = self.model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
    return intent.float().numpy(), slots.float().numpy()


class OnnxPredictor(TeacherPredictor):
  """ONNX Runtime (CPU) on an exported fp32 or int8 model."""

  def __init__(self, session, tokenizer, intent_labels, tag_labels, max_length) -> None:
    super().__init__(tokenizer, intent_labels, tag_labels, max_length)
    self.session = session

  def run(self, input_ids, attention_mask):
    intent, slots = self.session.run(["intent_logits", "slot_logits"],
                                     {"input_ids": input_ids, "attention_mask": attention_mask})
    return intent, slots


def model_subdir(model_dir: str) -> str:
  """The fine-tuned model directory: `model_dir/model`, or `model_dir` itself if it is one."""
  if os.path.isfile(os.path.join(model_dir, tok_lib.LABELS_FILE)):
    return model_dir
  return os.path.join(model_dir, tok_lib.MODEL_SUBDIR)


def load_torch(model_dir: str, num_threads: int = 1) -> TorchPredictor:
  """The fine-tuned teacher in `model_dir` (a `pqrnn-teacher train --model_dir`) on PyTorch."""
  import torch  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.teacher import model as model_lib  # pylint: disable=g-import-not-at-top
  torch.set_num_threads(num_threads)
  return TorchPredictor(model_lib.load(model_subdir(model_dir)))


def _find(directory: str, relative: Sequence[str], what: str) -> str:
  for rel in relative:
    path = os.path.join(directory, rel)
    if os.path.exists(path):
      return path
  raise FileNotFoundError(f"{directory}: no {what} (looked for {list(relative)})")


def load_onnx(onnx_path: str, tokenizer_dir: str | None = None,
              num_threads: int = 1) -> OnnxPredictor:
  """An exported ONNX teacher on ONNX Runtime (one session, `num_threads` intra-op threads).

  `tokenizer_dir` holds the tokenizer and labels.json: the export directory
  (default: the directory of `onnx_path`; `pqrnn-teacher export` writes both
  there) or a teacher `--model_dir`.
  """
  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  tokenizer_dir = tokenizer_dir or os.path.dirname(os.path.abspath(onnx_path))
  labels = tok_lib.read_labels(os.path.dirname(_find(tokenizer_dir, [
      tok_lib.LABELS_FILE, os.path.join(tok_lib.MODEL_SUBDIR, tok_lib.LABELS_FILE)],
      tok_lib.LABELS_FILE)))
  tok_dir = os.path.dirname(_find(tokenizer_dir, [
      tok_lib.TOKENIZER_FILE, os.path.join(tok_lib.ENCODER_SUBDIR, tok_lib.TOKENIZER_FILE),
      os.path.join(tok_lib.MODEL_SUBDIR, tok_lib.ENCODER_SUBDIR, tok_lib.TOKENIZER_FILE)],
      tok_lib.TOKENIZER_FILE))
  options = ort.SessionOptions()
  options.intra_op_num_threads = num_threads
  options.inter_op_num_threads = 1
  options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
  session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
  max_length = int(labels["max_length"])
  return OnnxPredictor(session, tok_lib.WordTokenizer.from_dir(tok_dir, max_length),
                       labels["intent_labels"], labels["tag_labels"], max_length)


def predict_all(predictor: TeacherPredictor, texts: Sequence[str], batch_size: int = 64,
                progress: bool = False) -> tuple[np.ndarray, list[np.ndarray], int]:
  """Batched :meth:`predict` over many texts (length-sorted, so little padding), in input order.

  Returns (intent logits [N, I], per-text slot logits, number of words that got
  zero logits because they had no sub-word within the length limit).
  """
  order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
  intent = np.zeros((len(texts), len(predictor.intent_labels)), dtype=np.float32)
  slots: list[np.ndarray | None] = [None] * len(texts)
  uncovered = 0
  for n, start in enumerate(range(0, len(order), batch_size)):
    idx = order[start:start + batch_size]
    b_intent, b_slots, batch = predictor.predict_batch([texts[i] for i in idx])
    uncovered += batch.num_uncovered_words
    intent[idx] = b_intent
    for i, s in zip(idx, b_slots):
      slots[i] = s
    if progress and (n + 1) % 20 == 0:
      print(f"  {min(start + batch_size, len(texts))}/{len(texts)} texts", flush=True)
  return intent, slots, uncovered


def decode(intent_labels: Sequence[str], tag_labels: Sequence[str], intent_logits: np.ndarray,
           slot_logits: Sequence[np.ndarray]) -> tuple[list[str], list[tuple[str, ...]]]:
  """Argmax labels: intents, and one tag tuple per text."""
  intents = [intent_labels[i] for i in np.argmax(intent_logits, -1).tolist()] \
      if len(intent_logits) else []
  tags = [tuple(tag_labels[j] for j in np.argmax(s, -1).tolist()) for s in slot_logits]
  return intents, tags
