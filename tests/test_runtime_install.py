"""`pip install <repository>` gives a TensorFlow-free runtime.

A fresh venv gets the repository installed the way a user installs it
(non-editable, with pip's build isolation, from a copy of the working tree so
no build files land in the checkout): it must hold no TensorFlow, build the
TFLite kernel and projection libraries but not the TF op library, run
`pqrnn-predict` from another folder, compute the projection as the main
venv does, and predict with a portable model exactly as the main venv does.

The venv is cached under build/ keyed on setup.py and pyproject.toml (what
decides its dependencies); the package alone is reinstalled when a source
file changes. The first run downloads the runtime's wheels (about 170 MB of
venv) and compiles the C++ libraries: a minute or two.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What `pip install` of the repository reads.
SOURCE_ITEMS = ("setup.py", "pyproject.toml", "pqrnn_tf", "export", "custom_ops")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info")
TRAINING_PACKAGES = ("tensorflow", "tensorflow-text", "tf-keras", "keras",
                     "tensorflow-model-optimization", "tensorboard")


def _digest(paths: list[Path]) -> str:
  digest = hashlib.sha256()
  for path in paths:
    digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
  return digest.hexdigest()[:16]


def _source_files() -> list[Path]:
  files = []
  for item in SOURCE_ITEMS:
    path = ROOT / item
    candidates = [path] if path.is_file() else sorted(path.rglob("*"))
    files += [p for p in candidates if p.is_file() and "__pycache__" not in p.parts
              and not p.name.endswith((".so", ".pyc"))]
  return files


def _pip(python: Path, *args: str) -> None:
  proc = subprocess.run([str(python), "-m", "pip", "install", "-q",
                         "--disable-pip-version-check", *args],
                        capture_output=True, text=True, timeout=1200, check=False)
  assert proc.returncode == 0, f"pip install {' '.join(args)}:\n{proc.stderr[-4000:]}"


def copy_sources(directory: Path) -> Path:
  """A copy in `directory` of what pip reads from the working tree (no build
  files, so an install never writes into the checkout); returns its root."""
  copy = directory / "pqrnn_tf_source"
  copy.mkdir()
  for item in SOURCE_ITEMS:
    if (ROOT / item).is_dir():
      shutil.copytree(ROOT / item, copy / item, ignore=IGNORED)
    else:
      shutil.copy2(ROOT / item, copy / item)
  return copy


@pytest.fixture(scope="module")
def venv() -> Path:
  """The runtime venv, with the working tree's package installed."""
  build = ROOT / "build"
  build.mkdir(exist_ok=True)
  key = _digest([ROOT / "setup.py", ROOT / "pyproject.toml"])
  path = build / f"runtime_venv_{key}"
  python = path / "bin" / "python"
  with open(build / f"runtime_venv_{key}.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it
    stamp = path / ".pqrnn-sources"
    sources = _digest(_source_files())
    if stamp.exists() and stamp.read_text() == sources:
      return path
    with tempfile.TemporaryDirectory() as tmp:
      copy = copy_sources(Path(tmp))
      if not python.exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
        _pip(python, str(copy))
      else:  # Dependencies are those of setup.py: unchanged.
        _pip(python, "--no-deps", "--force-reinstall", str(copy))
    stamp.write_text(sources)
  return path


def run_in(venv_path: Path, *args: str, cwd: Path, stdin: bytes = b"",
           script: str | None = None) -> subprocess.CompletedProcess:
  """Runs a console script (or, with script=None, `python`) of the venv."""
  command = [str(venv_path / "bin" / (script or "python")), *args]
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
  return subprocess.run(command, input=stdin, capture_output=True, cwd=cwd, env=env,
                        timeout=300, check=False)


def test_no_tensorflow_in_the_runtime(venv, tmp_path):
  proc = run_in(venv, "-c", "import tensorflow", cwd=tmp_path)
  assert proc.returncode != 0 and b"No module named 'tensorflow'" in proc.stderr
  listed = run_in(venv, "-m", "pip", "list", "--format=json", cwd=tmp_path)
  installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
  assert not installed & set(TRAINING_PACKAGES), installed
  assert {"pqrnn-tf", "ai-edge-litert", "numpy", "absl-py"} <= installed


def test_runtime_libraries_are_built_and_the_tf_op_is_not(venv, tmp_path):
  code = ("import os, pqrnn_tf.ops as o; d = os.path.dirname(o.__file__); "
          "print(sorted(f for f in os.listdir(d) if f.endswith('.so')))\n"
          "from pqrnn_tf.ops import _libraries\n"
          "try:\n  _libraries.tf_ops()\nexcept ImportError as e:\n  print(e)\n")
  proc = run_in(venv, "-c", code, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr.decode()
  libraries, message = proc.stdout.decode().splitlines()
  assert libraries == str(["_pqrnn_projection.so", "_pqrnn_tflite_ops.so"])
  assert "install the training extra" in message and "--no-build-isolation" in message


def test_every_runtime_module_imports_without_tensorflow(venv, tmp_path):
  """Every module of pqrnn_tf.inference, and the console scripts' entry
  points, import in the runtime (where TensorFlow cannot be imported)."""
  code = ("import importlib, os, pkgutil, sys, pqrnn_tf.inference as p\n"
          "names = [m.name for m in pkgutil.iter_modules(p.__path__, 'pqrnn_tf.inference.')]\n"
          "for name in names + ['pqrnn_tf.console']:\n  importlib.import_module(name)\n"
          "print(len(names), sorted({'tensorflow', 'tf_keras', 'tensorflow_text'} & set(sys.modules)))")
  proc = run_in(venv, "-c", code, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr.decode()[-3000:]
  count, heavy = proc.stdout.decode().split(" ", 1)
  assert int(count) >= 10 and heavy.strip() == "[]"


def test_predict_help_runs_from_another_folder(venv, tmp_path):
  proc = run_in(venv, "--help", cwd=tmp_path, script="pqrnn-predict")
  # absl exits 1 after --help; what matters is that the tool loaded.
  assert b"--model: A .tflite file" in proc.stdout, proc.stderr.decode()[-2000:]
  assert b"Traceback" not in proc.stderr


def test_projection_equals_the_main_venv(venv, tmp_path):
  settings = tmp_path / "settings.json"
  settings.write_text(json.dumps({"feature_size": 24, "char_ngram_size": 3, "add_bos": True,
                                  "separators": "-", "max_repeated_chars": 2}))
  texts = "\n".join(["Book a flight to Zürich", "", "東京 tower-top", "caf\udcc3 ok"])
  data = texts.encode("utf-8", "surrogateescape") + b"\n"
  runtime = run_in(venv, "-m", "pqrnn_tf.inference.conformance", str(settings),
                   cwd=tmp_path, stdin=data)
  main = subprocess.run([sys.executable, "-m", "pqrnn_tf.inference.conformance", str(settings)],
                        input=data, capture_output=True, cwd=ROOT, check=False, timeout=300)
  assert runtime.returncode == 0 and main.returncode == 0, runtime.stderr + main.stderr
  assert runtime.stdout == main.stdout and runtime.stdout.count(b"\n") == 4


@pytest.fixture(scope="module")
def portable_model(tmp_path_factory, tiny_config) -> Path:
  """An untrained tiny pQRNN exported as a portable model (float), as
  `pqrnn-export --portable` writes it, with TensorFlow in this process."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import metadata as export_metadata  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import portable as portable_export  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top

  tf.keras.utils.set_random_seed(5)
  intents = ["flight", "airfare", "ground_service"]
  tags = ["O", "B-fromloc", "I-fromloc", "B-toloc", "I-toloc"]
  config = tiny_config(projection={"max_tokens": 40, "add_eos": True})
  flatbuffer, settings = portable_export.convert_portable(
      build_model(config, len(intents), len(tags)), quantization="none")
  path = tmp_path_factory.mktemp("portable") / "tiny_portable.tflite"
  path.write_bytes(export_metadata.add_metadata(
      flatbuffer, name="tiny", version="1", description="untrained", intent_labels=intents,
      slot_labels=tags, signature_key=portable.signature_key(settings["buckets"][0]),
      files={portable.SETTINGS_FILE: json.dumps(settings, indent=1)}))
  return path


def test_portable_model_predicts_as_in_the_main_venv(venv, portable_model, tmp_path):
  texts = ["show me flights from Boston to Denver", "", "Zürich 🛫 → SFO, first class",
           " ".join(["word"] * 45), "東京から大阪まで", "İSTANBUL ΣΟΦΙΑ"]
  data = "".join(t + "\n" for t in texts).encode()
  args = [f"--model={portable_model}", "--top_k=2"]
  runtime = run_in(venv, *args, cwd=tmp_path, stdin=data, script="pqrnn-predict")
  main = subprocess.run([sys.executable, "-m", "pqrnn_tf.console", "pqrnn-predict", *args],
                        input=data, capture_output=True, cwd=ROOT, check=False, timeout=300)
  assert runtime.returncode == 0, runtime.stderr.decode()[-3000:]
  assert main.returncode == 0, main.stderr.decode()[-3000:]
  lines = runtime.stdout.decode().splitlines()
  assert len(lines) == len(texts) and all(json.loads(line)["intent"] for line in lines)
  assert runtime.stdout == main.stdout


def test_a_custom_op_model_is_one_line_naming_the_way_out(venv, tiny_config, tmp_path):
  """A model with the custom ops cannot run without TensorFlow or
  tensorflow-text: one line that says to export it portable or install the
  training extra."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import converter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import build_model  # pylint: disable=g-import-not-at-top
  model = build_model(tiny_config(), num_intents=3, num_tags=3)
  model(tf.constant(["book a flight"]))
  path = tmp_path / "custom.tflite"
  path.write_bytes(converter.convert(model, "none"))
  (tmp_path / "custom.intents.txt").write_text("a\nb\nc\n")
  (tmp_path / "custom.slots.txt").write_text("O\nB-x\nI-x\n")
  proc = run_in(venv, f"--model={path}", cwd=tmp_path, stdin=b"hello\n", script="pqrnn-predict")
  lines = proc.stderr.decode().splitlines()
  assert proc.returncode == 2 and len(lines) == 1, proc.stderr.decode()[-3000:]
  assert "pqrnn-export --portable" in lines[0] and "install the training extra" in lines[0]
