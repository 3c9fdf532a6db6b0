"""One convention for every console script, run as installed (pqrnn_tf.console):
a missing file, a malformed line and an unknown flag value each print exactly
one line on stderr, `<program>: <problem>` naming the file, line or flag, and
exit with status 2; TensorFlow's start-up lines and absl's INFO lines are not
shown (no TF_CPP_MIN_LOG_LEVEL in the environment)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from pqrnn_tf import cli_errors, console
from tests.test_benchmark_cli import tiny_model  # noqa: F401  (a fixture)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ("missing_file", "malformed_line", "unknown_flag_value")


def launch(program: str, *args: str) -> subprocess.CompletedProcess:
  """Runs `program` as its console script does, in the environment a user has
  (no TF_CPP_MIN_LOG_LEVEL, no CUDA_VISIBLE_DEVICES)."""
  env = {k: v for k, v in os.environ.items()
         if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
  return subprocess.run([sys.executable, "-m", "pqrnn_tf.console", program, *args],
                        cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                        text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model):  # noqa: F811
  """Paths of the inputs: a malformed JSONL file (line 2), a run directory
  whose config.json is malformed (line 3), a texts file that is not UTF-8 on
  line 2, and a model whose intents file repeats a label on line 3."""
  d = tmp_path_factory.mktemp("cli")
  (d / "bad.jsonl").write_text('{"text": "a b", "label": "x"}\n{"text": "c" "label"\n')
  (d / "bad_run").mkdir()
  (d / "bad_run" / "config.json").write_text('{\n  "model": {"model": "pqrnn"},\n  "epochs": ,\n}\n')
  (d / "texts.txt").write_bytes(b"fine\nnot \xff utf-8\n")
  model_dir = d / "bad_labels"
  model_dir.mkdir()
  model = model_dir / "tiny.tflite"
  model.write_bytes(open(tiny_model, "rb").read())
  labels = open(tiny_model[:-len(".tflite")] + ".intents.txt").read().splitlines()
  (model_dir / "tiny.intents.txt").write_text("\n".join(labels[:2] + labels[:1]) + "\n")
  return {"dir": d, "jsonl": d / "bad.jsonl", "run": d / "bad_run", "texts": d / "texts.txt",
          "model": tiny_model, "bad_labels_model": model}


def arguments(program: str, case: str, files: dict) -> tuple[list[str], str]:
  """(command-line arguments, a text the one line must contain)."""
  d, jsonl = files["dir"], files["jsonl"]
  missing = str(d / "missing.jsonl")
  table = {
      "pqrnn-train": {
          "missing_file": ([f"--train_file={missing}", f"--eval_file={missing}",
                            f"--model_dir={d / 'run'}"], "missing.jsonl"),
          "malformed_line": ([f"--train_file={jsonl}", f"--eval_file={jsonl}",
                              f"--model_dir={d / 'run'}"], "bad.jsonl:2"),
          "unknown_flag_value": (["--dataset=atis", "--strategy=fastest",
                                  f"--model_dir={d / 'run'}"], "--strategy"),
      },
      "pqrnn-eval": {
          "missing_file": ([f"--model_dir={d / 'run'}", f"--eval_file={missing}"],
                           "missing.jsonl"),
          "malformed_line": ([f"--model_dir={files['run']}", f"--eval_file={jsonl}"],
                             "bad.jsonl:2"),
          "unknown_flag_value": ([f"--model_dir={files['run']}", "--dataset=imdb"],
                                 "--dataset"),
      },
      "pqrnn-export": {
          "missing_file": ([f"--model_dir={d / 'missing_run'}", f"--output={d / 'm.tflite'}"],
                           "missing_run"),
          "malformed_line": ([f"--model_dir={files['run']}", f"--output={d / 'm.tflite'}"],
                             "config.json:3"),
          "unknown_flag_value": ([f"--model_dir={files['run']}", f"--output={d / 'm.tflite'}",
                                  "--quantization=int4"], "--quantization"),
      },
      "pqrnn-teacher": {
          "missing_file": (["logits", f"--model_dir={d}", f"--input={missing}",
                            f"--output={d / 'l.npz'}"], "missing.jsonl"),
          "malformed_line": (["logits", f"--model_dir={d}", f"--input={jsonl}",
                              f"--output={d / 'l.npz'}"], "bad.jsonl:2"),
          "unknown_flag_value": (["logits", f"--model_dir={d}", "--dataset=atis",
                                  "--split=validation", f"--output={d / 'l.npz'}"], "--split"),
      },
      "pqrnn-augment": {
          "missing_file": ([f"--train_file={missing}", f"--output={d / 'a.jsonl'}"],
                           "missing.jsonl"),
          "malformed_line": ([f"--train_file={jsonl}", f"--output={d / 'a.jsonl'}"],
                             "bad.jsonl:2"),
          "unknown_flag_value": ([f"--train_file={jsonl}", f"--output={d / 'a.jsonl'}",
                                  "--multiplier=many"], "--multiplier"),
      },
      "pqrnn-benchmark": {
          "missing_file": ([f"--models={d / 'missing.tflite'}", f"--output_dir={d / 'b'}"],
                           "missing.tflite"),
          "malformed_line": ([f"--models={files['bad_labels_model']}",
                              f"--output_dir={d / 'b'}", "--nopeak_int8"],
                             "tiny.intents.txt:3"),
          "unknown_flag_value": ([f"--models={files['model']}", f"--output_dir={d / 'b'}",
                                  "--num_invokes=lots"], "--num_invokes"),
      },
      "pqrnn-predict": {
          "missing_file": ([f"--model={d / 'missing.tflite'}", "hello"], "missing.tflite"),
          "malformed_line": ([f"--model={files['model']}", f"--input={files['texts']}"],
                             "texts.txt:2"),
          "unknown_flag_value": ([f"--model={files['model']}", "--format=xml", "hello"],
                                 "--format"),
      },
  }
  return table[program][case]


def test_every_console_script_is_covered():
  with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
    setup = f.read()
  entry_points = dict(re.findall(r'"(pqrnn-[a-z]+)=pqrnn_tf\.console:(\w+)"', setup))
  assert sorted(entry_points) == sorted(console.TOOLS)
  for program, module in console.TOOLS.items():
    assert getattr(console, entry_points[program]).args == (program,), program
    assert os.path.exists(os.path.join(
        REPO, module.replace("pqrnn_tf.export", "export").replace(".", os.sep) + ".py")), module


@pytest.mark.parametrize("program, case", [
    pytest.param(program, case, id=f"{program}-{case}")
    for program in sorted(console.TOOLS) for case in CASES])
def test_user_error_is_one_line_and_exit_2(files, program, case):
  args, named = arguments(program, case, files)
  result = launch(program, *args)
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
  assert lines[0].startswith(f"{program}: ") and named in lines[0], lines


def test_start_up_lines_are_recognized():
  start_up = ["WARNING: All log messages before absl::InitializeLog() is called are written "
              "to STDERR", "I0000 00:00:1796175792.538879   32051 port.cc:153] oneDNN custom "
              "operations are on.", "To enable the following instructions: AVX2 FMA, in other "
              "operations, rebuild TensorFlow with the appropriate compiler flags.",
              "E0000 00:00:1796178351.507473    9396 cuda_platform.cc:52] failed call to "
              "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"]
  assert all(cli_errors.NATIVE_INFO_LINE.match(line) for line in start_up)
  assert not cli_errors.NATIVE_INFO_LINE.match("pqrnn-train: bad.jsonl:2: invalid JSON")
  assert console.asks_for_verbosity(["prog", "--verbosity=0"])
  assert not console.asks_for_verbosity(["prog", "--model_dir=v"])


def test_importing_a_tool_sets_no_environment_variable():
  """Only pqrnn_tf's TF_USE_LEGACY_KERAS (documented where it is set); the
  variables TensorFlow sets for itself when imported are not ours."""
  program = (
      "import os, importlib, json\n"
      "import pqrnn_tf, tensorflow, tf_keras\n"
      "before = dict(os.environ)\n"
      "from pqrnn_tf import console\n"
      "for module in console.TOOLS.values(): importlib.import_module(module)\n"
      "print(json.dumps(sorted(k for k in os.environ if os.environ[k] != before.get(k))))\n")
  result = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=True)
  assert result.stdout.splitlines()[-1] == "[]", result.stdout


@pytest.mark.parametrize("program, data_flags", [
    ("pqrnn-train", ["--dataset", "--train_file", "--eval_file", "--test_file"]),
    ("pqrnn-eval", ["--dataset", "--eval_file"]),
    ("pqrnn-teacher", ["--dataset", "--train_file", "--eval_file", "--test_file"]),
    ("pqrnn-augment", ["--dataset", "--train_file"]),
    ("pqrnn-export", ["--eval_file"]),
])
def test_help_lists_the_data_flags(program, data_flags):
  """The shared data flags are the tool's own in --help."""
  result = launch(program, "--help")
  for flag in data_flags:
    assert flag in result.stdout, (flag, result.stdout[-2000:])
