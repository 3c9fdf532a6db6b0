"""pqrnn_tf.benchmarks.training_speed's settings: --epochs, --batch_size and
--learning_rate reach every pqrnn-train run and name its directory (runs with
other settings never share one, and the default runs keep their old names);
--xla adds its TF_XLA_FLAGS without losing others and is refused outside
profile mode in one line; --baseline_code runs the baseline from another
checkout, named by its commit."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Prints, as JSON, the run directory and pqrnn-train command of one run for
#: the flags given (the benchmark's own flag definitions, parsed as its CLI does).
_COMMAND_OF_FLAGS = """
import json, sys
from absl import flags
from pqrnn_tf.benchmarks import training_speed
training_speed.define_flags()
flags.FLAGS(["training_speed"] + sys.argv[1:])
print(json.dumps({
    "run_dir": training_speed.run_dir("atis", "pqrnn_base", "fast", 2),
    "command": training_speed.train_command("atis", "pqrnn_base", "fast", 2),
    "baseline_run_dir": training_speed.run_dir("atis", "pqrnn_base", "baseline", 2),
    "baseline_path": training_speed.launcher("baseline")[1].get("PYTHONPATH", ""),
    "fast_path": training_speed.launcher("fast")[1].get("PYTHONPATH", "")}))
"""


def _command_of(*flag_args: str) -> dict:
  out = subprocess.run([sys.executable, "-c", _COMMAND_OF_FLAGS, "--runs_dir=r", *flag_args],
                       cwd=ROOT, capture_output=True, text=True, check=True).stdout
  return json.loads(out.splitlines()[-1])


def test_training_settings_reach_the_run_and_name_its_directory():
  plain = _command_of()
  assert plain["run_dir"] == os.path.join("r", "atis_pqrnn_base_fast_s2")
  assert not [a for a in plain["command"] if a.startswith(("--epochs", "--batch_size",
                                                           "--learning_rate"))]
  assert _command_of("--epochs=10")["run_dir"] == os.path.join("r",
                                                               "atis_pqrnn_base_e10_fast_s2")
  tuned = _command_of("--epochs=10", "--batch_size=64", "--learning_rate=0.002")
  assert tuned["run_dir"] == os.path.join("r", "atis_pqrnn_base_e10_b64_lr0.002_fast_s2")
  assert tuned["command"][1:3] == ["-m", "pqrnn_tf.train.cli"]
  assert set(tuned["command"][3:]) == {
      "--dataset=atis", "--preset=pqrnn_base", "--seed=2", "--loop=fast",
      f"--model_dir={tuned['run_dir']}", "--epochs=10", "--batch_size=64",
      "--learning_rate=0.002"}


def test_baseline_code_runs_the_baseline_and_names_it_by_commit():
  commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
  plain = _command_of()
  assert plain["baseline_run_dir"] == os.path.join("r", "atis_pqrnn_base_baseline_s2")
  other = _command_of(f"--baseline_code={ROOT}")
  assert other["baseline_run_dir"] == os.path.join("r", f"atis_pqrnn_base_baseline@{commit}_s2")
  assert other["baseline_path"].split(os.pathsep)[0] == ROOT
  assert other["run_dir"] == plain["run_dir"] and other["fast_path"] == plain["fast_path"]


def test_a_baseline_of_other_code_is_the_ratios_reference():
  """The table of runs from --baseline_code renders from its JSON alone (the
  results pages do that, with no flags parsed)."""
  from pqrnn_tf.benchmarks import training_speed  # pylint: disable=g-import-not-at-top
  def run(loop, seconds):
    return {"loop": loop, "seed": 0, "wall_seconds": seconds, "dev": {}, "test": {}}
  runs = [run("baseline@abc1234", 300.0), run("fast", 100.0)]
  summary = training_speed.summarize(runs, ["baseline@abc1234", "fast"])
  assert summary["fast"]["speedup_over_baseline"]["wall_seconds"] == 3.0
  table = training_speed.markdown(runs, ["baseline@abc1234", "fast"])
  assert "| baseline@abc1234 | 0 |" in table and "time to metrics.json x3.00" in table


def test_the_profile_table_renders_from_its_json():
  from pqrnn_tf.benchmarks import training_speed  # pylint: disable=g-import-not-at-top
  def loop(name, cpu):
    return {"loop": name, "batches": 140, "padding_factor": 1.07,
            "sentences_per_cpu_second": 4478 / cpu,
            "phases": {"step (+ optimizer)": {"cpu_seconds": cpu, "wall_seconds": cpu + 1}},
            "top_ops_ms": [["_MklMatMul", 1988.94, 2520]] if name == "fast" else []}
  table = training_speed.profile_markdown([loop("baseline", 10.0), loop("fast", 5.0)])
  assert "| phase | baseline | fast |" in table
  assert "| step (+ optimizer) | 10.00 / 11.00 | 5.00 / 6.00 |" in table
  assert "| sentences per cpu second | 448 | 896 |" in table
  assert "| _MklMatMul | 1988.9 | 2520 |" in table and "baseline: top" not in table


def _checkout(path) -> str:
  """A git checkout at `path` whose pqrnn_tf says where it is."""
  os.makedirs(os.path.join(path, "pqrnn_tf"))
  with open(os.path.join(path, "pqrnn_tf", "__init__.py"), "w") as f:
    f.write("WHERE = 'the other checkout'\n")
  git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
  subprocess.run(["git", "init", "-q", str(path)], check=True)
  subprocess.run(git + ["add", "."], check=True)
  subprocess.run(git + ["commit", "-q", "-m", "c"], check=True)
  return str(path)


def test_the_baseline_imports_the_other_checkout_from_the_repository_root(tmp_path):
  """`python -m` and `-c` put the working directory first on sys.path; the
  baseline's pqrnn_tf must still be the other checkout's."""
  other = _checkout(tmp_path / "other")
  script = f"""
import subprocess, sys
from absl import flags
from pqrnn_tf.benchmarks import training_speed
training_speed.define_flags()
flags.FLAGS(["training_speed", "--baseline_code={other}"])
for loop in ("baseline", "fast"):
  env = training_speed.launcher(loop)[1]
  print(subprocess.run([sys.executable, "-c", "import pqrnn_tf; print(getattr(pqrnn_tf, 'WHERE', 'here'))"],
                       env=env, capture_output=True, text=True, check=True).stdout.strip())
"""
  out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                       text=True, check=True).stdout.split()
  assert out[-4:] == ["the", "other", "checkout", "here"], out


def test_compare_writes_its_table_with_the_labels(tmp_path):
  """compare() to its end (the runs faked): the JSON names the loops by label."""
  script = f"""
from absl import flags
from pqrnn_tf.benchmarks import training_speed
training_speed.define_flags()
flags.FLAGS(["training_speed", "--output_dir={tmp_path}", "--baseline_code={ROOT}"])
def fake_run(dataset, preset, loop, seed, num_train):
  return {{"loop": training_speed.loop_label(loop), "seed": seed, "dev": {{}}, "test": {{}},
          "wall_seconds": 300.0 if loop == "baseline" else 100.0}}
training_speed.run_one = fake_run
training_speed.compare()
"""
  subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, check=True)
  with open(tmp_path / "training_speed_atis_pqrnn_base.json") as f:
    written = json.load(f)
  assert written["settings"]["loops"][0].startswith("baseline@")
  assert written["summary"]["fast"]["speedup_over_baseline"]["wall_seconds"] == 3.0


def test_xla_flags_are_added_once_and_others_kept():
  from pqrnn_tf.benchmarks import training_speed  # pylint: disable=g-import-not-at-top
  assert training_speed.with_xla({})["TF_XLA_FLAGS"].split() == list(training_speed.XLA_FLAGS)
  env = {"TF_XLA_FLAGS": "--tf_xla_clustering_debug --tf_xla_auto_jit=2", "HOME": "/h"}
  added = training_speed.with_xla(env)
  assert added["TF_XLA_FLAGS"].split() == ["--tf_xla_clustering_debug", "--tf_xla_auto_jit=2",
                                           "--tf_xla_cpu_global_jit"]
  assert added["HOME"] == "/h" and env["TF_XLA_FLAGS"].count("--") == 2  # A copy.


@pytest.mark.parametrize("args, named", [(["--xla"], "--xla"),
                                         (["--loops=fastest"], "--loops"),
                                         (["--baseline_code=/nonexistent"], "--baseline_code")])
def test_bad_settings_are_refused_in_one_line(args, named, tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "pqrnn_tf.benchmarks.training_speed", *args,
       f"--runs_dir={tmp_path}", f"--output_dir={tmp_path}"],
      cwd=ROOT, capture_output=True, text=True)
  assert result.returncode == 2
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert len(lines) == 1 and named in lines[0], result.stderr
  assert not os.listdir(tmp_path)  # Nothing ran.


def _package(root, layer="x = 1\n", benchmark="y = 1\n"):
  for rel, text in (("pqrnn_tf/layers/qrnn.py", layer), ("pqrnn_tf/benchmarks/b.py", benchmark),
                    ("pqrnn_tf/models/presets/p.json", "{}")):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
  return str(root / "pqrnn_tf")


def test_a_finished_run_is_reused_only_by_the_same_training_code(tmp_path):
  from pqrnn_tf.benchmarks import training_speed  # pylint: disable=g-import-not-at-top
  fingerprint = training_speed.training_code_fingerprint
  before = fingerprint(_package(tmp_path / "a"))
  assert fingerprint(_package(tmp_path / "b", benchmark="y = 2\n")) == before
  assert fingerprint(_package(tmp_path / "c", layer="x = 2\n")) != before
  timing = tmp_path / "timing.json"
  timing.write_text(json.dumps({"code": before, "wall_seconds": 1.0}))
  assert training_speed.cached_timing(str(timing), before)["wall_seconds"] == 1.0
  assert training_speed.cached_timing(str(timing), "other") is None
  timing.write_text(json.dumps({"wall_seconds": 1.0}))  # From before runs were fingerprinted.
  assert training_speed.cached_timing(str(timing), before) is None
  assert training_speed.cached_timing(str(tmp_path / "none.json"), before) is None
