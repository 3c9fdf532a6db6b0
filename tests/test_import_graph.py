"""Imports point down: no module imports one of a higher (or a peer) layer.

The layers, lowest first, as docs/architecture.md lists them. A module may
import its own group and the groups of lower layers; groups that share a layer
are peers and may not import each other. Every import counts: module-level,
inside functions (lazy imports of heavy libraries) and relative ones.
"""
from __future__ import annotations

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Layer by layer, lowest first: the groups of modules in each (a group is a
#: module or a package and everything below it).
LAYERS: list[tuple[str, ...]] = [
    ("pqrnn_tf", "pqrnn_tf.cli_errors", "pqrnn_tf.metrics", "pqrnn_tf.checkpoints"),
    ("pqrnn_tf.data", "pqrnn_tf.run_lock"),
    ("pqrnn_tf.ops",),
    ("pqrnn_tf.layers", "pqrnn_tf.lite"),
    ("pqrnn_tf.models",),
    ("pqrnn_tf.inference", "pqrnn_tf.run_dir"),
    ("pqrnn_tf.keras_predictor",),
    ("pqrnn_tf.train", "pqrnn_tf.export", "pqrnn_tf.teacher"),
    ("pqrnn_tf.benchmarks", "pqrnn_tf.demo", "pqrnn_tf.console"),
]

#: Source folder -> the import name of its modules (setup.py's package_dir).
PACKAGE_DIRS = {"pqrnn_tf": "pqrnn_tf", "export": "pqrnn_tf.export"}


def group_of(module: str) -> str | None:
  """The most specific group `module` belongs to (None: not ours)."""
  best = None
  for groups in LAYERS:
    for group in groups:
      if (module == group or module.startswith(group + ".")) and (
          best is None or len(group) > len(best)):
        best = group
  return best


def layer_of(group: str) -> int:
  return next(i for i, groups in enumerate(LAYERS) if group in groups)


def module_files(root: str) -> dict[str, str]:
  """{import name: path} of every .py module under the package folders of `root`."""
  modules = {}
  for folder, package in PACKAGE_DIRS.items():
    for directory, _, names in os.walk(os.path.join(root, folder)):
      for name in sorted(names):
        if not name.endswith(".py"):
          continue
        path = os.path.join(directory, name)
        parts = os.path.relpath(path, os.path.join(root, folder))[:-3].split(os.sep)
        if parts[-1] == "__init__":
          parts = parts[:-1]
        modules[".".join([package] + parts)] = path
  return modules


def imported_names(module: str, path: str) -> list[tuple[int, str, bool]]:
  """(line, imported module or name, whether it must be a module) for every
  import in the file, nested ones too.

  `from a.b import c` yields both "a.b" (a module) and "a.b.c" (a module or a
  name in a.b)."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found += [(node.lineno, alias.name, True) for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = package.split(".")[:len(package.split(".")) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
      else:
        source = node.module
      found.append((node.lineno, source, True))
      found += [(node.lineno, f"{source}.{alias.name}", False) for alias in node.names]
  return found


def upward_imports(root: str) -> list[str]:
  """Every import of a higher or peer layer, as "path:line: a -> b"."""
  modules = module_files(root)
  problems = []
  for module, path in sorted(modules.items()):
    own = group_of(module)
    if own is None:
      problems.append(f"{path}: {module} is in no layer of LAYERS")
      continue
    where = os.path.relpath(path, root)
    reported = set()  # (line, target): one problem per import statement and group.
    for line, name, must_be_module in imported_names(module, path):
      target = group_of(name)
      if target is None or (line, target) in reported:
        continue  # Not ours, or already reported.
      if name not in modules and (must_be_module or name.rpartition(".")[0] not in modules):
        problem = f"imports {name}, which is not a module of this repository"
      elif target == own or own.startswith(target + "."):
        continue  # The same group, or the package itself (pqrnn_tf).
      elif target.startswith(own + "."):
        problem = f"imports {name}, a group inside its own ({target})"
      elif layer_of(target) >= layer_of(own):
        kind = "a peer" if layer_of(target) == layer_of(own) else "a higher layer"
        problem = f"imports {name} ({target}, {kind})"
      else:
        continue
      reported.add((line, target))
      problems.append(f"{where}:{line}: {module} {problem}")
  return problems


def test_imports_point_down():
  problems = upward_imports(ROOT)
  assert not problems, "\n".join(problems)


def test_every_group_exists():
  modules = module_files(ROOT)
  for groups in LAYERS:
    for group in groups:
      assert any(m == group or m.startswith(group + ".") for m in modules), group


@pytest.mark.parametrize("source, expected", [
    ("from pqrnn_tf.train import trainer\n", "pqrnn_tf.train"),
    ("def f():\n  from pqrnn_tf.export import converter\n", "pqrnn_tf.export"),
    ("import pqrnn_tf.benchmarks.latency\n", "benchmarks"),
    ("from ..train import trainer\n", "pqrnn_tf.train"),
    ("from pqrnn_tf.nowhere import latency\n", "not a module"),
])
def test_an_upward_import_is_found(tmp_path, source, expected):
  """A models module importing a higher layer, at the top, in a function or
  relatively, is reported."""
  for path in ("pqrnn_tf/__init__.py", "pqrnn_tf/train/__init__.py",
               "pqrnn_tf/train/trainer.py", "export/__init__.py", "export/converter.py",
               "pqrnn_tf/benchmarks/__init__.py", "pqrnn_tf/benchmarks/latency.py",
               "pqrnn_tf/models/__init__.py"):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("")
  (tmp_path / "pqrnn_tf" / "models" / "bad.py").write_text(source)
  problems = upward_imports(str(tmp_path))
  assert len(problems) == 1 and expected in problems[0], problems


def folder_name_imports(root: str) -> list[str]:
  """Every import, in the package folders and tests/, of a folder by its own
  name where setup.py installs it under another (`export` for
  pqrnn_tf.export): a second copy of its modules, importable only from the
  repository's root. As "path:line: name"."""
  files = dict(module_files(root))
  tests = os.path.join(root, "tests")
  for name in sorted(os.listdir(tests)) if os.path.isdir(tests) else []:
    if name.endswith(".py"):
      files[f"tests.{name[:-3]}"] = os.path.join(tests, name)
  renamed = {folder: package for folder, package in PACKAGE_DIRS.items() if folder != package}
  problems = []
  for module, path in sorted(files.items()):
    lines = set()
    for line, name, _ in imported_names(module, path):
      folder = name.split(".")[0]
      if folder in renamed and line not in lines:
        lines.add(line)
        problems.append(f"{os.path.relpath(path, root)}:{line}: imports {name}; "
                        f"{folder}/ is {renamed[folder]}")
  return problems


def test_no_import_names_a_renamed_folder():
  problems = folder_name_imports(ROOT)
  assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source, where", [
    ("from export import verify\n", "pqrnn_tf/benchmarks/bad.py"),
    ("import export.converter\n", "tests/test_bad.py"),
    ("def f():\n  from export.cli import main\n", "pqrnn_tf/models/bad.py"),
])
def test_a_renamed_folder_import_is_found(tmp_path, source, where):
  for path in ("pqrnn_tf/__init__.py", "pqrnn_tf/models/__init__.py", "export/__init__.py",
               "export/verify.py", "pqrnn_tf/benchmarks/__init__.py",
               "tests/test_fine.py", where):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text("from pqrnn_tf.export import verify\n")
  (tmp_path / where).write_text(source)
  problems = folder_name_imports(str(tmp_path))
  assert len(problems) == 1 and problems[0].startswith(f"{where}:") and (
      "export/ is pqrnn_tf.export" in problems[0]), problems


def test_architecture_doc_lists_the_layers_in_order():
  """docs/architecture.md's layer table names the same groups, lowest first."""
  with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
    rows = [line for line in f if re.match(r"\|\s*\d+\s*\|", line)]
  documented = [tuple(re.findall(r"`([\w.]+)`", row.split("|")[2])) for row in rows]
  assert documented == LAYERS
