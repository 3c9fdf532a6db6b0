"""Registering the TFLite ops in the ways users do, including without TensorFlow."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pqrnn_tf import lite, ops
from tests import projection_reference as ref
from tests import tflite_helpers as th

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LITERT_ONLY = """
import json, sys
import numpy as np
import pytest
from pqrnn_tf.lite import load_interpreter
runner = load_interpreter(sys.argv[1]).get_signature_runner()
out = runner(text=np.array([b"Hello World", b""], dtype=object))
print(json.dumps({"tensorflow_imported": "tensorflow" in sys.modules,
                  "lengths": out["sequence_length"].tolist(),
                  "features": out["features"].tolist()}))
"""


def test_litert_process_without_tensorflow(tmp_path):
  path = tmp_path / "projection.tflite"
  path.write_bytes(lite.projection_model(feature_size=16))
  result = subprocess.run([sys.executable, "-c", LITERT_ONLY, str(path)],
                          capture_output=True, text=True, cwd=ROOT, check=True)
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out["tensorflow_imported"] is False
  want_f, want_l = ref.project([b"Hello World", b""], feature_size=16)
  assert out["lengths"] == want_l.tolist()
  np.testing.assert_array_equal(np.array(out["features"], np.float32), want_f)


def test_unregistered_op_fails_and_tf_runtime_works(tmp_path):
  """(The converter's registerer is exercised by tests/test_export.py's int8.)"""
  path = tmp_path / "projection.tflite"
  path.write_bytes(lite.projection_model(feature_size=8))
  from ai_edge_litert import interpreter as litert  # pylint: disable=g-import-not-at-top
  with pytest.raises((RuntimeError, ValueError), match=ops.PROJECTION_OP_NAME):
    litert.Interpreter(model_path=str(path)).allocate_tensors()
  # The same callable works for TF's interpreter class.
  interpreter = lite.load_interpreter(str(path), runtime="tf")
  features, lengths = th.run_tflite(interpreter, [b"a b"])
  assert lengths.tolist() == [2] and features.shape == (1, 2, 8)


def test_load_interpreter_rejects_unknown_runtime(tmp_path):
  with pytest.raises(ValueError, match="runtime"):
    lite.load_interpreter(str(tmp_path / "x.tflite"), runtime="tpu")
