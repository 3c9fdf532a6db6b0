"""Locates and loads the compiled op libraries built by setup.py."""
from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
TF_OPS_LIBRARY = os.path.join(_HERE, "_pqrnn_tf_ops.so")
TFLITE_OPS_LIBRARY = os.path.join(_HERE, "_pqrnn_tflite_ops.so")
PROJECTION_LIBRARY = os.path.join(_HERE, "_pqrnn_projection.so")

# tflite::MutableOpResolver::AddCustom(const char*, const TfLiteRegistration*, int, int)
_ADD_CUSTOM_SYMBOL = "_ZN6tflite17MutableOpResolver9AddCustomEPKcPK18TfLiteRegistrationii"


class OpsNotBuiltError(ImportError):
  """The package was installed without its compiled ops."""


#: How to get TensorFlow and the TF op library (setup.py builds it only when
#: TensorFlow is importable at build time).
TRAINING_INSTALL = ("install the training extra with `pip install tensorflow==2.21.0` "
                    "then `pip install --no-build-isolation '<repository>[train]'` "
                    "(or `make setup` in the repository)")


def _require(path: str) -> str:
  if not os.path.exists(path):
    raise OpsNotBuiltError(
        f"{os.path.basename(path)} is missing from {_HERE}. The C++ ops are "
        "compiled at install time: reinstall with "
        "`pip install --no-build-isolation -e .` from the repository root "
        "(see README.md).")
  return path


@functools.lru_cache(maxsize=None)
def tf_ops():
  """The TensorFlow op module (loaded once per process)."""
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise OpsNotBuiltError(f"The TensorFlow ops need TensorFlow ({e}): "
                           f"{TRAINING_INSTALL}.") from None
  if not os.path.exists(TF_OPS_LIBRARY):
    raise OpsNotBuiltError(
        f"{os.path.basename(TF_OPS_LIBRARY)} is missing from {_HERE}: it was not "
        f"compiled, as TensorFlow was not importable when pqrnn_tf was built; "
        f"{TRAINING_INSTALL}.")
  module = tf.load_op_library(TF_OPS_LIBRARY)
  # Registers the ops' gradients (a SavedModel may be loaded, then trained).
  from pqrnn_tf.ops import pooling  # pylint: disable=g-import-not-at-top,unused-import
  return module


@functools.lru_cache(maxsize=None)
def tflite_ops() -> ctypes.CDLL:
  """The TFLite kernel library. RTLD_LOCAL: it exports only C entry points."""
  lib = ctypes.CDLL(_require(TFLITE_OPS_LIBRARY), mode=ctypes.RTLD_LOCAL)
  lib.PqrnnRegisterTfLiteOps.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
  lib.PqrnnRegisterTfLiteOps.restype = None
  return lib


@functools.lru_cache(maxsize=None)
def projection_library() -> ctypes.CDLL:
  """The projection's C API (custom_ops/c/projection_c_api.h), with argument
  types declared. RTLD_LOCAL: it exports only C entry points."""
  lib = ctypes.CDLL(_require(PROJECTION_LIBRARY), mode=ctypes.RTLD_LOCAL)
  c = ctypes
  error = [c.c_char_p, c.c_size_t]
  signatures = {
      "PqrnnProjectionOpName": ([], c.c_char_p),
      "PqrnnProjectionAttributes": ([], c.c_char_p),
      "PqrnnProjectionConfigCreate": ([], c.c_void_p),
      "PqrnnProjectionConfigDestroy": ([c.c_void_p], None),
      "PqrnnProjectionConfigSetInt": ([c.c_void_p, c.c_char_p, c.c_int64] + error, c.c_int),
      "PqrnnProjectionConfigSetBool": ([c.c_void_p, c.c_char_p, c.c_int] + error, c.c_int),
      "PqrnnProjectionConfigSetFloat": ([c.c_void_p, c.c_char_p, c.c_double] + error, c.c_int),
      "PqrnnProjectionConfigSetString": (
          [c.c_void_p, c.c_char_p, c.c_char_p, c.c_size_t] + error, c.c_int),
      "PqrnnProjectorCreate": ([c.c_void_p] + error, c.c_void_p),
      "PqrnnProjectorDestroy": ([c.c_void_p], None),
      "PqrnnProjectorFeatureSize": ([c.c_void_p], c.c_int32),
      "PqrnnTokenizedBatchCreate": ([], c.c_void_p),
      "PqrnnTokenizedBatchDestroy": ([c.c_void_p], None),
      # Arrays go in as bytes (read only) or as ctypes views of numpy
      # buffers (`c_char.from_buffer(array)`, passed by reference): both
      # cost far less per call than numpy's own ctypes interface.
      "PqrnnProjectorTokenize": (
          [c.c_void_p, c.c_char_p, c.c_char_p, c.c_int64, c.c_int, c.c_void_p,
           c.POINTER(c.c_char)], c.c_int32),
      "PqrnnProjectorProject": ([c.c_void_p, c.c_void_p, c.POINTER(c.c_char)], None),
      "PqrnnTokenizedBatchNumTokens": ([c.c_void_p], c.c_int64),
      "PqrnnTokenizedBatchSpans": ([c.c_void_p, c.POINTER(c.c_char)] + error, c.c_int),
  }
  for name, (argtypes, restype) in signatures.items():
    function = getattr(lib, name)
    function.argtypes = argtypes
    function.restype = restype
  return lib


def _package_dir(name: str) -> str | None:
  spec = importlib.util.find_spec(name)
  if spec is None or not spec.submodule_search_locations:
    return None
  return list(spec.submodule_search_locations)[0]


@functools.lru_cache(maxsize=None)
def add_custom_address() -> int:
  """Address of TFLite's exported MutableOpResolver::AddCustom.

  No Python TFLite runtime exports it, so it is taken from a library that
  does: libtensorflow_cc when TensorFlow is already imported (no extra cost),
  else tensorflow-text's much smaller pybinds library.
  """
  tf_dir = _package_dir("tensorflow")
  text_dir = _package_dir("tensorflow_text")
  candidates = []
  if "tensorflow" in sys.modules and tf_dir:
    candidates.append([os.path.join(tf_dir, "libtensorflow_cc.so.2")])
  if tf_dir and text_dir:
    # Its RUNPATH misses libtensorflow_framework, so that is loaded first.
    candidates.append([
        os.path.join(tf_dir, "libtensorflow_framework.so.2"),
        os.path.join(text_dir, "core", "pybinds", "libpybinds_library_common.so"),
    ])
  if tf_dir:
    candidates.append([os.path.join(tf_dir, "libtensorflow_cc.so.2")])
  errors = []
  for chain in candidates:
    try:
      lib = None
      for path in chain:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
      return ctypes.cast(getattr(lib, _ADD_CUSTOM_SYMBOL), ctypes.c_void_p).value
    except (OSError, AttributeError) as e:
      errors.append(f"{chain[-1]}: {e}")
  if not candidates:  # The TensorFlow-free runtime (no train extra).
    raise OSError("this model has pqrnn_tf's custom ops, which need TFLite's "
                  "MutableOpResolver::AddCustom from TensorFlow or tensorflow-text, and "
                  "neither is installed: export the model with pqrnn-export --portable "
                  f"(builtin ops only), or {TRAINING_INSTALL}")
  raise OSError("Could not find tflite::MutableOpResolver::AddCustom in any "
                "installed library; tried: " + "; ".join(errors))
