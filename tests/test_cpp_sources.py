"""The C++ source lists agree: setup.py's lists (the one place they are written
out) name every .cc of custom_ops/core, tf, tflite and c, and the Bazel BUILD
files, custom_ops/arm/build.sh and custom_ops/fuzz/run_fuzzers.sh build the
same ones (read as text: no compiler needed)."""
from __future__ import annotations

import ast
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = os.path.join(ROOT, "custom_ops")


def setup_lists() -> dict[str, list[str]]:
  """setup.py's CORE_SOURCES, TFLITE_SOURCES and TF_SOURCES."""
  with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
    tree = ast.parse(f.read())
  lists = {}
  for node in tree.body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
        node.targets[0].id.endswith("_SOURCES"):
      lists[node.targets[0].id] = ast.literal_eval(node.value)
  return lists


def files_in(folder: str) -> list[str]:
  return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(OPS, folder, "*.cc")))


def bazel_srcs(folder: str, target: str) -> list[str]:
  """The srcs of `target` in custom_ops/<folder>/BUILD (a glob expanded)."""
  with open(os.path.join(OPS, folder, "BUILD"), encoding="utf-8") as f:
    text = f.read()
  rule = re.search(r'name = "%s",(.*?)\n\)' % re.escape(target), text, re.S).group(1)
  srcs = re.search(r"srcs = (glob\(\[.*?\]\)|\[.*?\])", rule, re.S).group(1)
  if srcs.startswith("glob"):
    return files_in(folder) if '"*.cc"' in srcs else []
  return sorted(f"custom_ops/{folder}/{name}" for name in re.findall(r'"([^"]+\.cc)"', srcs))


def test_setup_lists_every_source():
  lists = setup_lists()
  assert sorted(lists["CORE_SOURCES"]) == files_in("core")
  assert sorted(lists["TFLITE_SOURCES"]) == files_in("tflite")
  assert sorted(lists["TF_SOURCES"]) == files_in("tf")
  assert sorted(lists["C_API_SOURCES"]) == files_in("c")


def test_bazel_builds_the_same_sources():
  lists = setup_lists()
  assert bazel_srcs("core", "core") == sorted(lists["CORE_SOURCES"])
  assert bazel_srcs("tflite", "kernels") == sorted(lists["TFLITE_SOURCES"])
  assert bazel_srcs("tf", "_pqrnn_tf_ops.so") == sorted(lists["TF_SOURCES"])
  assert bazel_srcs("c", "c_api") == sorted(lists["C_API_SOURCES"])


def test_arm_and_fuzz_scripts_build_from_the_same_sources():
  with open(os.path.join(OPS, "arm", "build.sh"), encoding="utf-8") as f:
    arm = f.read()
  with open(os.path.join(OPS, "fuzz", "run_fuzzers.sh"), encoding="utf-8") as f:
    fuzz = f.read()
  # The ARM kernel runner and every fuzzer link the whole core and every TFLite kernel.
  whole = r'SOURCES=\(.*"\$CUSTOM_OPS"/core/\*\.cc "\$CUSTOM_OPS"/tflite/\*\.cc\)'
  assert re.search(whole, arm) and re.search(whole, fuzz)


def test_no_source_includes_a_cc_file():
  """Every .cc is its own translation unit: shared code is in headers."""
  offenders = []
  for path in glob.glob(os.path.join(OPS, "**", "*.*"), recursive=True):
    if path.endswith((".cc", ".h", ".inc")):
      with open(path, encoding="utf-8") as f:
        offenders += [f"{os.path.relpath(path, ROOT)}: {line.strip()}" for line in f
                      if re.match(r'\s*#\s*include\s+"[^"]+\.cc"', line)]
  assert not offenders, offenders
