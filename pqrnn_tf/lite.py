"""Running pqrnn_tf TFLite models."""
from __future__ import annotations

import functools
import importlib.util
import os

from pqrnn_tf.ops import _libraries
from pqrnn_tf.ops.tflite import tflite_registerer

# The tensorflow-text TFLite ops that the baselines' tokenizers
# (WordVocabLookup, WordPieceTokenizer) convert to.
TFTEXT_CUSTOM_OPS = ("TFText>WhitespaceTokenizeWithOffsetsV2",
                     "FastBertNormalize", "FastWordpieceTokenizeWithOffsets",
                     "RaggedTensorToTensor")


@functools.lru_cache(maxsize=None)
def tftext_registerers() -> tuple:
  """tensorflow-text's TFLite kernel registerers (`SELECT_TFTEXT_OPS`).

  Its registrar extension is loaded by path: importing `tensorflow_text`
  would import TensorFlow, which a LiteRT app does not need. The extension
  needs libtensorflow_framework, which `add_custom_address` loads.
  """
  _libraries.add_custom_address()
  path = os.path.join(_libraries._package_dir("tensorflow_text"),  # pylint: disable=protected-access
                      "core", "pybinds", "tflite_registrar.so")
  spec = importlib.util.spec_from_file_location(
      "tensorflow_text.core.pybinds.tflite_registrar", path)
  registrar = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(registrar)
  return (registrar.AddFastBertNormalize, registrar.AddFastWordpieceTokenize,
          registrar.AddRaggedTensorToTensor, registrar.AddWhitespaceTokenize)


def load_interpreter(model_path: str, num_threads: int = 1,
                     runtime: str = "litert", delegates: bool = True,
                     preserve_all_tensors: bool = False, custom_ops: bool = True):
  """Returns an interpreter for `model_path` with pqrnn_tf's ops registered,
  and the tensorflow-text ops of the baselines' tokenizers.

  Args:
    model_path: a `.tflite` file.
    num_threads: interpreter threads.
    runtime: "litert" (the standalone `ai_edge_litert` runtime, what apps ship)
      or "tf" (TensorFlow's bundled `tf.lite` interpreter).
    delegates: apply the runtime's default delegates (XNNPACK); False gives
      plain builtin kernels (e.g. to read every op's invoked tensor shapes).
    preserve_all_tensors: keep every intermediate tensor readable after an
      invoke (no buffer reuse; slower).
    custom_ops: register the custom ops; False gives the runtime's stock
      `Interpreter`, what portable models need (and all a TF-free install
      can load).

  Returns:
    An `InterpreterWithCustomOps` (a stock `Interpreter` without
    `custom_ops`) with tensors allocated.
  """
  if runtime == "litert":
    from ai_edge_litert import interpreter as interpreter_module  # pylint: disable=g-import-not-at-top
  elif runtime == "tf":
    from tensorflow.lite.python import interpreter as interpreter_module  # pylint: disable=g-import-not-at-top
  else:
    raise ValueError(f"runtime must be 'litert' or 'tf', got {runtime!r}")
  kwargs = {}
  if not delegates:
    kwargs["experimental_op_resolver_type"] = (
        interpreter_module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  if custom_ops:
    interpreter_cls = interpreter_module.InterpreterWithCustomOps
    kwargs["custom_op_registerers"] = [tflite_registerer, *tftext_registerers()]
  else:
    interpreter_cls = interpreter_module.Interpreter
  interpreter = interpreter_cls(
      model_path=model_path, num_threads=num_threads,
      experimental_preserve_all_tensors=preserve_all_tensors, **kwargs)
  interpreter.allocate_tensors()
  return interpreter


def projection_model(**attributes) -> bytes:
  """A TFLite model of the projection op alone: `text` string[batch] ->
  {features, sequence_length}. For tests and benchmarks of the op itself."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf import ops  # pylint: disable=g-import-not-at-top

  class Projection(tf.Module):

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, text):
      features, lengths = ops.sequence_string_projection(text, **attributes)
      return {"features": features, "sequence_length": lengths}

  module = Projection()
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serve.get_concrete_function()], module)
  converter.allow_custom_ops = True
  return converter.convert()
