"""A plain, non-editable install of the whole project works from anywhere.

A fresh venv gets the repository installed non-editable (from a copy of the
working tree) with the training packages available, as `pip install
--no-build-isolation '<repository>[train]'` gives them. The training packages
are not downloaded again: a `.pth` file puts the main venv's site-packages on
the new venv's path after its own, so the installed pqrnn_tf, not the
editable checkout, is what runs. Every console script must answer `--help`
from another folder, and site-packages must hold no top-level package but
`pqrnn_tf` (no `benchmarks`, no `export`).

The venv is cached under build/, rebuilt when a source file changes (the TF
op compiles against TensorFlow's headers: a minute or two).
"""
from __future__ import annotations

import fcntl
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from pqrnn_tf.console import TOOLS
from tests.test_runtime_install import ROOT, _digest, _pip, _source_files, copy_sources, run_in


@pytest.fixture(scope="module")
def venv() -> Path:
  """A venv with the working tree installed non-editable, training packages
  from the main venv."""
  build = ROOT / "build"
  build.mkdir(exist_ok=True)
  path = build / "install_venv"
  python = path / "bin" / "python"
  with open(build / "install_venv.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it
    stamp = path / ".pqrnn-sources"
    sources = _digest(_source_files())
    if stamp.exists() and stamp.read_text() == sources:
      return path
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    own = Path(subprocess.run([str(python), "-c", "import sysconfig; print("
                               "sysconfig.get_paths()['purelib'])"], capture_output=True,
                              text=True, check=True).stdout.strip())
    main_site = sysconfig.get_paths()["purelib"] if sys.prefix != sys.base_prefix else (
        site.getsitepackages()[0])
    # Appended after the venv's own site-packages: the installed package wins.
    (own / "main_venv_packages.pth").write_text(main_site + "\n")
    with tempfile.TemporaryDirectory() as tmp:
      _pip(python, "--no-deps", "--no-build-isolation", str(copy_sources(Path(tmp))))
    stamp.write_text(sources)
  return path


def test_only_pqrnn_tf_is_installed_at_the_top_level(venv, tmp_path):
  """The distribution's files all live under pqrnn_tf/ (and its metadata and
  console scripts)."""
  code = ("import json; from importlib import metadata; "
          "print(json.dumps(sorted({f.parts[0] for f in metadata.distribution('pqrnn_tf').files"
          " if not f.parts[0].endswith('.dist-info') and f.parts[0] != '..'})))")
  proc = run_in(venv, "-c", code, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr.decode()
  assert proc.stdout.decode().strip() == '["pqrnn_tf"]'


def test_the_installed_package_is_the_one_that_runs(venv, tmp_path):
  proc = run_in(venv, "-c", "import pqrnn_tf, tensorflow; print(pqrnn_tf.__file__)", cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr.decode()[-2000:]
  assert str(venv) in proc.stdout.decode(), proc.stdout


@pytest.mark.parametrize("script", sorted(TOOLS))
def test_every_console_script_answers_help_from_another_folder(venv, tmp_path, script):
  proc = run_in(venv, "--help", cwd=tmp_path, script=script)
  out = proc.stdout.decode()
  # absl exits 1 after --help; what matters is that the tool loaded its flags.
  assert "Traceback" not in proc.stderr.decode(), proc.stderr.decode()[-3000:]
  assert f"{TOOLS[script]}:" in out or "flags:" in out, (out[-2000:], proc.stderr.decode()[-2000:])
