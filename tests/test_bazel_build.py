"""`bazel build //custom_ops/...` works offline, and its op libraries are right.

Builds the Bazel targets (WORKSPACE, custom_ops/*/BUILD; TensorFlow from this
Python's wheel through third_party/tensorflow/local_tensorflow.bzl) with
Debian's Bazel (bazel-bootstrap 4.2.3), then loads the Bazel-built
_pqrnn_tf_ops.so and _pqrnn_tflite_ops.so in place of setup.py's and checks
the TF op and a TFLite model (LiteRT) against the golden vectors.

Bazel is installed with apt-get when missing and this is root (about 25 s);
elsewhere the test fails unless PQRNN_SKIP_BAZEL=1 says to skip it. The build
takes 1.5-3 minutes on 2 cores (mostly compiling against TensorFlow's headers).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_aarch64_golden import CALL_INDEX, GOLDEN, golden_features

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"tf": "custom_ops/tf/_pqrnn_tf_ops.so",
           "tflite": "custom_ops/tflite/_pqrnn_tflite_ops.so"}
# --max_idle_secs: the server is not left running for hours after the test.
BAZEL = ["bazel", "--max_idle_secs=30"]

# Runs in a fresh process with the Bazel-built libraries in place of
# setup.py's: every golden input as one batch, for each golden setting that
# needs no second invocation (batching is then invisible: rows depend only on
# their own sentence). Writes the outputs to the .npz file argv[3].
CHECK_SCRIPT = """
import sys
import pqrnn_tf
from pqrnn_tf.ops import _libraries
_libraries.TF_OPS_LIBRARY, _libraries.TFLITE_OPS_LIBRARY, out_path = sys.argv[1:4]
import json, tempfile
import numpy as np
import tensorflow as tf
from pqrnn_tf import lite, ops

golden = json.loads(sys.stdin.read())
texts = [bytes.fromhex(case["input_hex"]) for case in golden["cases"]]
outputs = {}
for setting, attrs in golden["settings"].items():
  if "call_index" in attrs:
    continue
  attrs = dict(attrs, feature_size=golden["feature_size"])
  features, lengths = ops.sequence_string_projection(tf.constant(texts), **attrs)
  outputs[f"tf/{setting}/features"] = features.numpy()
  outputs[f"tf/{setting}/lengths"] = lengths.numpy()
  with tempfile.NamedTemporaryFile(suffix=".tflite") as model:
    model.write(lite.projection_model(**attrs))
    model.flush()
    interpreter = lite.load_interpreter(model.name, runtime="litert")
    out = interpreter.get_signature_runner()(text=np.array(texts, dtype=object))
  outputs[f"tflite/{setting}/features"] = out["features"]
  outputs[f"tflite/{setting}/lengths"] = out["sequence_length"]
np.savez(out_path, **outputs)
"""


def ensure_bazel() -> None:
  if shutil.which("bazel"):
    return
  if os.environ.get("PQRNN_SKIP_BAZEL") == "1":
    pytest.skip("bazel is not installed; skipped because PQRNN_SKIP_BAZEL=1")
  if os.geteuid() != 0 or shutil.which("apt-get") is None:
    pytest.fail("bazel is not installed and this is not root with apt-get: install Debian's "
                "bazel-bootstrap, or set PQRNN_SKIP_BAZEL=1 to skip")
  start = time.monotonic()
  env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
  for command in (["apt-get", "update", "-q"],
                  ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                   "bazel-bootstrap"]):
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    if proc.returncode != 0:
      pytest.fail(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
  print(f"installed bazel-bootstrap in {time.monotonic() - start:.1f} s")


@pytest.fixture(scope="module")
def bazel_libraries() -> dict[str, str]:
  """kind ("tf", "tflite") -> path of the library `bazel build` made."""
  ensure_bazel()
  # The repository rule imports TensorFlow from the Python running the tests.
  env = dict(os.environ, PYTHON_BIN_PATH=sys.executable)
  start = time.monotonic()
  proc = subprocess.run(BAZEL + ["build", "--jobs=2", "//custom_ops/..."], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=1800, check=False)
  print(f"bazel build //custom_ops/...: {time.monotonic() - start:.1f} s")
  if proc.returncode != 0:
    pytest.fail(f"bazel build //custom_ops/... exited {proc.returncode}:\n{proc.stderr[-8000:]}")
  bazel_bin = subprocess.run(BAZEL + ["info", "bazel-bin"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300,
                             check=True).stdout.strip()
  libraries = {kind: os.path.join(bazel_bin, target) for kind, target in TARGETS.items()}
  for path in libraries.values():
    assert os.path.isfile(path), f"bazel build reported success but {path} is missing"
  return libraries


@pytest.fixture(scope="module")
def bazel_outputs(bazel_libraries, tmp_path_factory) -> dict[str, np.ndarray]:
  out_path = tmp_path_factory.mktemp("bazel") / "outputs.npz"
  proc = subprocess.run(
      [sys.executable, "-c", CHECK_SCRIPT, bazel_libraries["tf"], bazel_libraries["tflite"],
       str(out_path)],
      input=(ROOT / "tests" / "golden_projection.json").read_text(encoding="utf-8"),
      cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, f"loading the Bazel-built libraries failed:\n{proc.stderr[-8000:]}"
  with np.load(out_path) as outputs:
    return dict(outputs)


def test_bazel_tflite_library_exports_only_entry_points(bazel_libraries):
  # As setup.py's: -fvisibility=hidden, so the core's symbols cannot clash
  # with another library's in the app's process.
  nm = shutil.which("nm")
  if nm is None:
    pytest.fail("nm (binutils) is needed to list the library's symbols")
  symbols = subprocess.run([nm, "-D", "--defined-only", bazel_libraries["tflite"]],
                           capture_output=True, text=True, check=True).stdout
  ours = sorted(line.split()[-1] for line in symbols.splitlines() if "pqrnn" in line.lower())
  assert "PqrnnRegisterTfLiteOps" in ours
  assert all(s == "PqrnnRegisterTfLiteOps" or "Register" in s for s in ours), ours


@pytest.mark.parametrize("kind", ["tf", "tflite"])
def test_bazel_libraries_match_golden_vectors(bazel_outputs, kind):
  settings = [s for s, attrs in GOLDEN["settings"].items() if CALL_INDEX not in attrs]
  assert settings
  for setting in settings:
    features = bazel_outputs[f"{kind}/{setting}/features"]
    lengths = bazel_outputs[f"{kind}/{setting}/lengths"]
    for b, case in enumerate(GOLDEN["cases"]):
      expected = golden_features(case["results"][setting])
      where = f"Bazel-built {kind} library: {case['name']} / {setting}"
      assert lengths[b] == len(expected), where
      np.testing.assert_array_equal(features[b, :len(expected)].view(np.uint32),
                                    expected.view(np.uint32), err_msg=where)
      assert not features[b, len(expected):].any(), f"{where}: padding rows are not zero"
