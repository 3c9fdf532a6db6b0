"""Raw strings in, `Prediction`s out, from an exported `.tflite` model.

    from pqrnn_tf.inference import TflitePredictor
    predictor = TflitePredictor("out/atis_int8.tflite")
    [p] = predictor.predict(["flights from boston to denver"])
    p.intent, p.top_k, [(s.type, s.text, s.start, s.end) for s in p.slots]

Nothing here imports TensorFlow (with the default LiteRT runtime). A portable
model (`pqrnn-export --portable`) needs only `ai-edge-litert`, numpy and the
projection library: the predictor projects each text itself and runs the
model's smallest length bucket that holds it, in the stock interpreter. A
string-in model also needs the custom-op library and the TensorFlow wheels
it borrows TFLite's op registration from.
"""
from __future__ import annotations

import abc
import os
import threading
from typing import Sequence

import numpy as np

from pqrnn_tf import lite, metrics
from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.data.examples import LabelVocab
from pqrnn_tf.inference import decoding, tokens
from pqrnn_tf.inference import labels as labels_lib
from pqrnn_tf.inference import portable
from pqrnn_tf.inference.projection import Projector
from pqrnn_tf.inference.signature import (INPUT_NAME, INTENT_PROBS, SEQUENCE_LENGTH,
                                          SIGNATURE_KEY, SLOT_PROBS)

RUNTIMES = ("litert", "tf")


class ModelError(ValueError):
  """The file is not a model this predictor can run, or its labels do not fit."""


class TokenizationMismatchError(ValueError):
  """The model read a different number of tokens than `token_spans` found."""


class Predictor(abc.ABC):
  """Texts in, one `Prediction` per text out.

  A subclass runs one batch of texts in `_invoke` and sets `tokenization` (how
  its model cuts texts into rows), `intent_labels`, `slot_labels` (None
  without a slot head), `batch_size` and `top_k`; decoding is shared.
  """
  tokenization: Tokenization
  intent_labels: Sequence[str]
  slot_labels: Sequence[str] | None
  batch_size: int
  top_k: int
  # A model exported with a fixed batch size runs that many texts per call.
  _fixed_batch: int | None = None

  def predict(self, texts: Sequence[str]) -> list[decoding.Prediction]:
    """Predicts intent, tagged tokens and slot spans of each text.

    Texts are run `batch_size` at a time. Every string is answered: one
    without tokens (empty or whitespace only) gets the model's prior intent
    distribution and no tokens or slots.

    Args:
      texts: raw strings.

    Returns:
      One `Prediction` per text, in order.

    Raises:
      TypeError: a text is not a `str`.
      TokenizationMismatchError: the model read a different number of rows
        than `self.tokenization` predicts (which would misplace slots).
    """
    texts = list(texts)
    for text in texts:
      if not isinstance(text, str):
        raise TypeError(f"texts must be str, got {type(text).__name__}: {text!r}")
    predictions: list[decoding.Prediction] = []
    step = self._fixed_batch or self.batch_size
    # BOS / EOS rows carry no text: slot rows of text tokens start after BOS.
    first_row = int(self.tokenization.add_bos)
    for begin in range(0, len(texts), step):
      batch = texts[begin:begin + step]
      spans = [tokens.token_spans(text, self.tokenization) for text in batch]
      out = self._invoke(batch)
      slot_probs = None
      if self.slot_labels is not None:
        self._check_lengths(batch, spans, out[SEQUENCE_LENGTH])
        slot_probs = out[SLOT_PROBS][:, first_row:]
      predictions.extend(decoding.to_predictions(
          batch, out[INTENT_PROBS], slot_probs, spans, self.intent_labels,
          self.slot_labels, self.top_k))
    return predictions

  def predict_labels(self, texts: Sequence[str]
                     ) -> tuple[list[str], list[tuple[str, ...]] | None]:
    """(intent, word tags or None) of each text, for scoring against labeled
    examples (`pqrnn_tf.metrics.score_examples`): each word (`text.split()`)
    gets its first token's tag (`decoding.word_tags`)."""
    predictions = self.predict(texts)
    tags = None
    if self.slot_labels is not None:
      tags = [tuple(decoding.word_tags(p, self.tokenization)) for p in predictions]
    return [p.intent for p in predictions], tags

  @abc.abstractmethod
  def _invoke(self, batch: list[str]) -> dict[str, np.ndarray]:
    """{INTENT_PROBS, and with a slot head SLOT_PROBS and SEQUENCE_LENGTH} of `batch`."""

  def _check_lengths(self, batch: list[str], spans: list[list[tuple[int, int]]],
                     lengths: np.ndarray) -> None:
    extra = int(self.tokenization.add_bos) + int(self.tokenization.add_eos)
    for text, text_spans, length in zip(batch, spans, lengths):
      if int(length) != len(text_spans) + extra:
        raise TokenizationMismatchError(
            f"the model read {int(length)} rows for {text!r}, its tokenization "
            f"({self.tokenization}) gives {len(text_spans)} tokens + {extra} BOS/EOS: "
            f"its slots cannot be placed in the text")


class TflitePredictor(Predictor):
  """Runs an exported pqrnn_tf model in LiteRT (or TF's `tf.lite`).

  Safe to call from several threads at once: each thread runs its own
  interpreter (a TFLite interpreter must not be invoked concurrently), made on
  its first call.

  Labels come from inside the model (TFLite Metadata) if it has them, else
  from the `<stem>.intents.txt` / `<stem>.slots.txt` files beside it.
  """

  # Interpreters are built one at a time: the first build in a process loads
  # the op libraries (functools.lru_cache does not stop two threads from both
  # running the loader).
  _build_lock = threading.Lock()

  def __init__(self, model_path: str | os.PathLike, runtime: str = "litert",
               batch_size: int = 32, top_k: int = 3, num_threads: int = 1,
               labels: tuple[LabelVocab, LabelVocab | None] | None = None):
    """Loads the model and its labels.

    Args:
      model_path: a `.tflite` file written by `pqrnn-export`.
      runtime: "litert" (`ai_edge_litert`) or "tf" (TensorFlow's `tf.lite`,
        which imports TensorFlow).
      batch_size: texts per invoke (a model exported with a fixed batch size,
        e.g. 1 for LSTMs, uses its own).
      top_k: how many intents each `Prediction.top_k` lists.
      num_threads: threads of each interpreter.
      labels: (intents, slot tags) to use instead of the model's own (e.g. to
        verify an export before its label files are in place).

    Raises:
      FileNotFoundError: no such model file, or no labels for it.
      ModelError: the file is not a TFLite model with pqrnn_tf's signature, or
        its labels do not match its outputs.
    """
    if runtime not in RUNTIMES:
      raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    self.model_path = os.fspath(model_path)
    self.runtime = runtime
    self.batch_size = batch_size
    self.top_k = top_k
    self.num_threads = num_threads
    if not os.path.isfile(self.model_path):
      raise FileNotFoundError(f"{self.model_path}: no such model file")
    with open(self.model_path, "rb") as f:
      content = f.read()
    try:
      #: The settings of a portable model (`pqrnn_tf.inference.portable`), else None.
      self.portable = portable.read_settings(content, self.model_path)
    except portable.PortableModelError as e:
      raise ModelError(str(e)) from None
    self._local = threading.local()
    if self.portable:
      outputs = self._init_portable()
    else:
      outputs = self._init_string_in(content)
    intent_vocab, tag_vocab = labels or labels_lib.model_labels(self.model_path)
    self.intent_labels = intent_vocab.labels
    self.slot_labels = tag_vocab.labels if (tag_vocab is not None and self.has_slots) else None
    self._check_labels(outputs)

  def _init_string_in(self, content: bytes) -> dict:
    """Checks a string-in model's signature; returns its output details."""
    # The first interpreter is built here, so a bad file fails now.
    signatures = self._interpreter().get_signature_list()
    if SIGNATURE_KEY not in signatures:
      if any(key.startswith(portable.SIGNATURE_PREFIX) for key in signatures):
        raise ModelError(f"{self.model_path}: a portable model without its settings "
                         f"({portable.SETTINGS_FILE} is not packed in it); export it "
                         f"again with pqrnn-export --portable")
      raise ModelError(f"{self.model_path}: no {SIGNATURE_KEY!r} signature (it has "
                       f"{sorted(signatures)}): not a pqrnn-export model")
    runner = self._runner(SIGNATURE_KEY)
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    if INPUT_NAME not in inputs or INTENT_PROBS not in outputs:
      raise ModelError(f"{self.model_path}: signature {SIGNATURE_KEY!r} has inputs "
                       f"{sorted(inputs)} and outputs {sorted(outputs)}; expected input "
                       f"{INPUT_NAME!r} and output {INTENT_PROBS!r} (a pqrnn-export model)")
    self.has_slots = SLOT_PROBS in outputs and SEQUENCE_LENGTH in outputs
    batch = int(inputs[INPUT_NAME]["shape_signature"][0])
    # -1: any batch size; otherwise the exported (fixed) one.
    self._fixed_batch = batch if batch > 0 else None
    # A model without the projection op (a baseline) reads whitespace words.
    self.tokenization = tokens.model_tokenization(content) or Tokenization.words()
    return outputs

  def _init_portable(self) -> dict:
    """Checks a portable model's bucket signatures and sets up its projection;
    returns the output details of its first bucket."""
    projection = self.portable["projection"]
    self._buckets = list(self.portable["buckets"])
    feature_size = int(projection["feature_size"])
    outputs = None
    for length in self._buckets:
      key = portable.signature_key(length)
      runner = self._runner(key)
      inputs = runner.get_input_details()
      expected = {portable.FEATURES: [1, length, feature_size], portable.LENGTHS: [1]}
      shapes = {name: list(inputs[name]["shape_signature"]) for name in inputs}
      if shapes != expected or INTENT_PROBS not in runner.get_output_details():
        raise ModelError(f"{self.model_path}: signature {key!r} takes {shapes}, expected "
                         f"{expected} and an {INTENT_PROBS!r} output (a portable "
                         f"pqrnn-export model)")
      outputs = outputs or runner.get_output_details()
    self.has_slots = SLOT_PROBS in outputs
    self.tokenization = Tokenization.from_projection(projection)
    try:
      self._projector = Projector.from_settings(
          projection, where=f"{self.model_path}: {portable.SETTINGS_FILE}: projection")
    except UserError as e:
      raise ModelError(str(e)) from None
    return outputs

  def _check_labels(self, outputs: dict) -> None:
    num_intents = int(outputs[INTENT_PROBS]["shape_signature"][-1])
    if num_intents != len(self.intent_labels):
      raise ModelError(f"{self.model_path}: {len(self.intent_labels)} intent labels for "
                       f"{num_intents} intent outputs")
    if not self.has_slots:
      return
    if self.slot_labels is None:
      raise ModelError(f"{self.model_path}: the model tags slots but has no slot labels")
    num_tags = int(outputs[SLOT_PROBS]["shape_signature"][-1])
    if num_tags != len(self.slot_labels):
      raise ModelError(f"{self.model_path}: {len(self.slot_labels)} slot labels for "
                       f"{num_tags} slot outputs")
    for tag in self.slot_labels:
      try:
        metrics.get_chunks([tag])  # a malformed tag would only fail mid-predict
      except ValueError as e:
        raise ModelError(f"{self.model_path}: slot labels: {e}") from None

  def _interpreter(self):
    """This thread's interpreter (built on the thread's first call)."""
    interpreter = getattr(self._local, "interpreter", None)
    if interpreter is None:
      with self._build_lock:
        try:
          interpreter = lite.load_interpreter(
              self.model_path, num_threads=self.num_threads, runtime=self.runtime,
              custom_ops=not self.portable)
        except (ValueError, RuntimeError) as e:
          first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
          raise ModelError(f"{self.model_path}: not a runnable TFLite model: "
                           f"{first_line}") from None
      self._local.interpreter, self._local.runners = interpreter, {}
    return interpreter

  def _runner(self, key: str):
    """This thread's runner of signature `key`."""
    interpreter = self._interpreter()
    runners = self._local.runners
    if key not in runners:
      try:
        runners[key] = interpreter.get_signature_runner(key)
      except ValueError as e:
        raise ModelError(f"{self.model_path}: {e}") from None
    return runners[key]

  def _invoke(self, batch: list[str]) -> dict[str, np.ndarray]:
    """Runs one batch in this thread."""
    if self.portable:
      return self._invoke_portable(batch)
    padded = batch
    if self._fixed_batch is not None and len(batch) < self._fixed_batch:
      padded = batch + [batch[0]] * (self._fixed_batch - len(batch))
    out = self._runner(SIGNATURE_KEY)(
        **{INPUT_NAME: np.array([t.encode("utf-8") for t in padded], dtype=object)})
    # The runner's arrays are views of the interpreter's buffers: copy before
    # the next invoke overwrites them.
    return {name: np.array(value[:len(batch)]) for name, value in out.items()}

  def _invoke_portable(self, batch: list[str]) -> dict[str, np.ndarray]:
    """Projects `batch`, then runs each text in its smallest length bucket
    (what an app does); the outputs are stacked as a string-in model's."""
    features, lengths = self._projector.project(batch)
    intents, slots = [], []
    for row, length in zip(features, lengths.tolist()):
      bucket = portable.bucket_for(length, self._buckets)
      padded, rows = portable.bucket_input(row, length, bucket)
      out = self._runner(portable.signature_key(bucket))(**{
          portable.FEATURES: padded, portable.LENGTHS: rows})
      intents.append(np.array(out[INTENT_PROBS][0]))
      if self.has_slots:
        slots.append(np.array(out[SLOT_PROBS][0, :features.shape[1]]))
    result = {INTENT_PROBS: np.stack(intents), SEQUENCE_LENGTH: lengths}
    if self.has_slots:
      result[SLOT_PROBS] = np.stack(
          [np.pad(s, [(0, features.shape[1] - len(s)), (0, 0)]) for s in slots])
    return result
