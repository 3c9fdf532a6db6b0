"""The published results match the committed JSON they are generated from
(python -m pqrnn_tf.benchmarks.results), and a page whose JSON changed, or
whose generated table was edited by hand, is named as stale."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from pqrnn_tf.benchmarks import accuracy, provenance, report, results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_results(*args: str, root: str = ROOT) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "pqrnn_tf.benchmarks.results", f"--root={root}",
                         *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                        check=False)


def run_in_process(*args: str, root: str) -> subprocess.CompletedProcess:
  """`run_results`, in this process (each new process imports TensorFlow for
  the distillation renderer): its status, stdout and one-line stderr."""
  out = io.StringIO()
  try:
    status, error = results.run(root, "--check" in args, out), ""
  except results.ResultsError as e:
    status, error = 2, f"{results.PROGRAM}: {e}\n"
  return subprocess.CompletedProcess(args, status, out.getvalue(), error)


@pytest.fixture
def copy(tmp_path) -> str:
  """A copy of the repository's docs/ (all the generator reads and writes)."""
  shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs")
  return str(tmp_path)


def read(root: str, page: str) -> str:
  with open(os.path.join(root, page), encoding="utf-8") as f:
    return f.read()


def edit_json(root: str, path: str, change) -> None:
  full = os.path.join(root, path)
  with open(full, encoding="utf-8") as f:
    data = json.load(f)
  change(data)
  with open(full, "w", encoding="utf-8") as f:
    json.dump(data, f, indent=2, ensure_ascii=False)


def prose(text: str) -> str:
  """The page without the text inside its generated blocks."""
  return re.sub(r"(<!-- generated:begin \S+ -->\n).*?(<!-- generated:end -->)", r"\1\2",
                text, flags=re.S)


def test_committed_pages_match_their_json():
  result = run_results("--check")
  assert result.returncode == 0, result.stdout + result.stderr
  assert result.stderr == ""


def test_a_block_is_the_benchmarks_own_table_under_its_json_header():
  data = results.read_json(ROOT, "docs/results/data/atis_accuracy.json")
  page = read(ROOT, "docs/results/atis.md")
  block = re.search(r"<!-- generated:begin atis_accuracy -->\n(.*?)<!-- generated:end -->",
                    page, re.S)[1]
  header, table = block.split("\n\n", 1)
  assert header.startswith(provenance.header(data["measured"]))
  assert table == accuracy.markdown(data["datasets"]["atis"]) + "\n"
  # A whole page: pqrnn-benchmark's report of its JSON, as the benchmark writes it.
  bench = results.read_json(ROOT, "docs/benchmark/benchmark.json")
  assert read(ROOT, "docs/benchmark/benchmark.md") == report.markdown(bench)


def test_a_changed_json_makes_its_pages_stale_until_regenerated(copy):
  before = read(copy, "docs/results/atis.md")
  edit_json(copy, "docs/results/data/atis_accuracy.json",
            lambda d: d["datasets"]["atis"]["pqrnn_base"]["intent_accuracy"].update(mean=12.34))
  result = run_in_process("--check", root=copy)
  assert result.returncode == 1, result.stdout + result.stderr
  assert re.findall(r"^stale: (\S+)", result.stdout, re.M) == ["docs/results/atis.md"]
  assert read(copy, "docs/results/atis.md") == before  # --check writes nothing

  result = run_in_process(root=copy)
  assert result.returncode == 0 and "wrote docs/results/atis.md" in result.stdout, result.stdout
  after = read(copy, "docs/results/atis.md")
  assert "| pqrnn_base | 3 | 0.96M | 12.34 (96.75–97.09) |" in after
  assert prose(after) == prose(before)
  assert run_in_process("--check", root=copy).returncode == 0


def test_one_json_behind_two_pages_makes_both_stale(copy):
  edit_json(copy, "docs/benchmark/benchmark.json",
            lambda d: d["rows"][0]["buckets"][0].update(p50_us=1.0))
  result = run_in_process("--check", root=copy)
  assert result.returncode == 1
  assert sorted(re.findall(r"^stale: (\S+)", result.stdout, re.M)) == [
      "docs/benchmark/benchmark.md", "docs/results/latency.md"]


def test_a_hand_edited_table_is_stale_and_regenerating_keeps_hand_edited_prose(copy):
  page = os.path.join(copy, "docs/results/quantization.md")
  text = read(copy, "docs/results/quantization.md")
  edited = text.replace("| 3,856,652 B |", "| 3,856,000 B |").replace(
      "# Quantization", "# Quantization, with new prose")
  assert edited.count("3,856,000") == 1
  with open(page, "w", encoding="utf-8") as f:
    f.write(edited)
  result = run_in_process("--check", root=copy)
  assert result.returncode == 1 and "stale: docs/results/quantization.md" in result.stdout
  assert run_in_process(root=copy).returncode == 0
  assert read(copy, "docs/results/quantization.md") == text.replace(
      "# Quantization", "# Quantization, with new prose")


@pytest.mark.parametrize("breakage, words", [
    (("docs/results/data/quantization.json", None), ["quantization.json", "no such file"]),
    (("docs/results/data/quantization.json", "{\n  \"rows\": [,\n}"),
     ["quantization.json", "line 2", "not JSON"]),
    (("docs/results/data/quantization.json", '{"rows": []}'),
     ["quantization.json", "measured"]),
    (("docs/results/quantization.md", "# Q\n<!-- generated:begin quantization -->\n| x |\n"),
     ["quantization.md", "no end marker"]),
    (("docs/results/quantization.md", "# Q\n"), ["quantization.md", "no block quantization"]),
    (("docs/results/quantization.md",
      "<!-- generated:begin quantization -->\n<!-- generated:end -->\n"
      "<!-- generated:begin other -->\n<!-- generated:end -->\n"),
     ["quantization.md", "unknown block other"]),
    (("docs/results/quantization.md",
      "\n<!-- generated:begin quantization -->\n<!-- generated:begin quantization -->\n"),
     ["quantization.md:3", "inside block"]),
    (("docs/results/preset_by_task_copy.md", "<!-- generated:begin x -->\n<!-- generated:end -->\n"),
     ["preset_by_task_copy.md", "does not list it"]),
], ids=["missing_json", "malformed_json", "no_measured", "no_end", "no_block", "unknown_block",
        "nested", "unlisted_page"])
def test_unusable_pages_and_json_are_refused_in_one_line_and_nothing_is_written(
    copy, breakage, words):
  path, content = breakage
  full = os.path.join(copy, path)
  if content is None:
    os.remove(full)
  else:
    with open(full, "w", encoding="utf-8") as f:
      f.write(content)
  # A stale page elsewhere: it must not be rewritten while another page is unusable.
  edit_json(copy, "docs/results/data/atis_accuracy.json",
            lambda d: d["datasets"]["atis"]["pqrnn_base"].update(seeds=9))
  atis = read(copy, "docs/results/atis.md")
  result = run_in_process(root=copy)
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1, result.stderr
  assert lines[0].startswith(f"{results.PROGRAM}: ") and "Traceback" not in result.stderr
  assert all(w in lines[0] for w in words), lines
  assert read(copy, "docs/results/atis.md") == atis


def test_a_root_without_results_pages_or_an_unknown_flag_is_refused_in_one_line(tmp_path):
  result = run_results("--check", root=str(tmp_path))
  assert result.returncode == 2 and "--root" in result.stderr and "docs/results" in result.stderr
  result = run_results("--chek")
  assert result.returncode == 2 and result.stderr.strip().splitlines() == [
      f"{results.PROGRAM}: unrecognized arguments: --chek"]


def test_split_page_keeps_every_character_and_finds_the_blocks():
  text = ("intro\n<!-- generated:begin a -->\nold a\n<!-- generated:end -->\nmiddle\n"
          "<!-- generated:begin b -->\n<!-- generated:end -->\nend")
  parts = results.split_page(text, "page.md")
  assert "".join(t for _, t in parts) == text
  assert [(name, t) for name, t in parts if name] == [("a", "old a\n"), ("b", "")]


def test_every_benchmark_json_header_names_date_machine_and_command():
  for page, blocks in results.PAGES.items():
    for block in blocks:
      measured = results.read_json(ROOT, block.data)["measured"]
      assert all(measured[k].strip() for k in ("date", "machine", "command")), block.data
      assert provenance.header(measured) in read(ROOT, page), (page, block.name)


def test_provenance_records_the_command_as_a_shell_would_run_it(monkeypatch):
  monkeypatch.setattr(sys, "argv", ["/x/accuracy.py", "--models=a b", "--seeds=0,1"])
  info = provenance.measured("python -m pqrnn_tf.benchmarks.accuracy")
  assert info["command"] == "python -m pqrnn_tf.benchmarks.accuracy '--models=a b' --seeds=0,1"
  assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", info["date"]) and info["machine"]
  assert provenance.header(info) == (f"Measured {info['date']} on {info['machine']}: "
                                     f"`{info['command']}`")
