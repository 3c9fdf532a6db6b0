"""The published results, generated from the benchmarks' committed JSON.

  python -m pqrnn_tf.benchmarks.results           # rewrite every generated table
  python -m pqrnn_tf.benchmarks.results --check   # exit 1 naming each stale page

Run from the repository root (or pass --root). A results page mixes
hand-written prose with generated blocks:

  <!-- generated:begin NAME -->
  Measured <date> on <machine>: `<command>`

  | the table |
  <!-- generated:end -->

PAGES says, for each page, which blocks it has, the JSON each block is
rendered from, and the renderer: the benchmark's own function that prints
that table (e.g. `accuracy.markdown`), so a table on a page is exactly what
the benchmark printed. The header line comes from the JSON's "measured" field
(pqrnn_tf/benchmarks/provenance.py). A page listed with a block named WHOLE
(docs/benchmark/**/benchmark.md) is the renderer's output, whole, with no
markers. Only the blocks are rewritten; the prose around them is kept as is.
docs/results/README.md lists the pages and where their JSON comes from.

Exit status: 0 (written, or up to date), 1 (--check: some page is stale; each
is named), 2 (a page, marker or JSON file that cannot be used; one line naming
it).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import re
import sys
from typing import Callable

from pqrnn_tf import cli_errors
from pqrnn_tf.benchmarks import provenance

PROGRAM = "python -m pqrnn_tf.benchmarks.results"
#: The block name of a page that is its renderer's output, whole.
WHOLE = "*"
BEGIN = "<!-- generated:begin {name} -->"
END = "<!-- generated:end -->"
_MARKER = re.compile(r"<!-- generated:(begin (\S+)|end) -->")
_FENCED = re.compile(r"^```.*?^```", re.S | re.M)


class ResultsError(ValueError):
  """A page, marker or JSON file that cannot be used; the message names it."""


def _call(module: str, function: str, *args):
  """pqrnn_tf.benchmarks.<module>.<function>(*args), the module imported only
  now (the distillation benchmark imports TensorFlow)."""
  return getattr(importlib.import_module(f"pqrnn_tf.benchmarks.{module}"), function)(*args)


def _benchmark_report(data: dict) -> str:
  return _call("report", "markdown", data)


def _benchmark_summary(data: dict) -> str:
  return "\n".join(_call("report", "summary_table", data))


def _accuracy_table(dataset: str) -> Callable[[dict], str]:
  return lambda data: _call("accuracy", "markdown", data["datasets"][dataset])


def _architecture_table(data: dict) -> str:
  return _call("architecture", "markdown", data["variants"], data["bucket"])


def _quantization_table(data: dict) -> str:
  return _call("quantization", "markdown", data["rows"])


def _projection_table(data: dict) -> str:
  return _call("projection", "markdown_table", data)


def _distillation_table(data: dict) -> str:
  return _call("distillation", "markdown", data["rows"])


def _training_speed_table(data: dict) -> str:
  return _call("training_speed", "markdown", data["runs"], data["settings"]["loops"])


def _profile_table(data: dict) -> str:
  return _call("training_speed", "profile_markdown", data["loops"])


@dataclasses.dataclass(frozen=True)
class Block:
  """One generated block: its name on the page, its JSON (relative to the
  root) and the renderer (JSON -> Markdown)."""

  name: str
  data: str
  render: Callable[[dict], str]


RESULTS_DATA = "docs/results/data"
#: The key of a JSON whose values were copied from a page's hand-written table
#: (its value says from where), not written by the benchmark itself.
TRANSCRIBED = "transcribed"
#: page (relative to the root) -> its generated blocks, in page order.
PAGES: dict[str, tuple[Block, ...]] = {
    "docs/benchmark/benchmark.md": (
        Block(WHOLE, "docs/benchmark/benchmark.json", _benchmark_report),),
    "docs/benchmark/portable/benchmark.md": (
        Block(WHOLE, "docs/benchmark/portable/benchmark.json", _benchmark_report),),
    "docs/results/latency.md": (
        Block("latency_summary", "docs/benchmark/benchmark.json", _benchmark_summary),
        Block("projection_op", f"{RESULTS_DATA}/projection.json", _projection_table)),
    "docs/results/atis.md": (
        Block("atis_accuracy", f"{RESULTS_DATA}/atis_accuracy.json", _accuracy_table("atis")),
        Block("atis_architecture", f"{RESULTS_DATA}/atis_architecture.json",
              _architecture_table)),
    "docs/results/quantization.md": (
        Block("quantization", f"{RESULTS_DATA}/quantization.json", _quantization_table),),
    "docs/results/distillation.md": tuple(
        Block(f"distillation_{run}", f"{RESULTS_DATA}/distillation_{run}.json",
              _distillation_table)
        for run in ("atis_f0.02", "atis_f0.05", "atis_f0.1", "atis_f0.25",
                    "atis_f0.02_shards1000", "atis_f0.05_shards1000", "atis_f0.1_shards1000",
                    "atis_f0.25_shards1000", "vader_sentiment_f0.02_texts",
                    "vader_sentiment_f1")),
    "docs/results/classification.md": tuple(
        Block(f"classification_{dataset}", f"{RESULTS_DATA}/classification_{dataset}.json",
              _accuracy_table(dataset))
        for dataset in ("atis_intents", "multilingual_langid", "vader_sentiment",
                        "multilingual_topic")),
    "docs/results/preset_by_task.md": tuple(
        Block(f"preset_by_task_{dataset}", f"{RESULTS_DATA}/preset_by_task.json",
              _accuracy_table(dataset))
        for dataset in ("atis_intents", "multilingual_langid", "vader_sentiment")) + (
        Block("preset_by_task_tfidf_langid", f"{RESULTS_DATA}/preset_by_task_tfidf_langid.json",
              _accuracy_table("multilingual_langid")),
        Block("preset_tuning_langid", f"{RESULTS_DATA}/preset_tuning_langid.json",
              _accuracy_table("multilingual_langid"))) + tuple(
        Block(f"preset_today_{dataset}", f"{RESULTS_DATA}/preset_today.json",
              _accuracy_table(dataset))
        for dataset in ("atis_intents", "vader_sentiment")),
    "docs/results/training_speed.md": (
        Block("training_speed_atis", f"{RESULTS_DATA}/training_speed_atis_pqrnn_base_full.json",
              _training_speed_table),
        Block("training_speed_atis_loop",
              f"{RESULTS_DATA}/training_speed_atis_pqrnn_base_loop.json", _training_speed_table),
        Block("training_speed_langid",
              f"{RESULTS_DATA}/training_speed_multilingual_langid_pqrnn_classifier_full.json",
              _training_speed_table),
        Block("training_speed_vader",
              f"{RESULTS_DATA}/training_speed_vader_sentiment_pqrnn_classifier_full.json",
              _training_speed_table),
        Block("training_speed_profile",
              f"{RESULTS_DATA}/training_speed_profile_atis_pqrnn_base.json", _profile_table),
        Block("training_speed_profile_8ae999e",
              f"{RESULTS_DATA}/training_speed_profile_atis_pqrnn_base_8ae999e.json",
              _profile_table)),
}


def read_json(root: str, path: str) -> dict:
  """The JSON object of `path` (relative to `root`), with its "measured" field."""
  try:
    with open(os.path.join(root, path), encoding="utf-8") as f:
      data = json.load(f)
  except OSError as e:
    raise ResultsError(f"{path}: {(e.strerror or str(e)).lower()}") from None
  except json.JSONDecodeError as e:
    raise ResultsError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
  if not isinstance(data, dict):
    raise ResultsError(f"{path}: holds no JSON object")
  measured = data.get(provenance.KEY)
  if not isinstance(measured, dict) or not all(
      isinstance(measured.get(k), str) for k in ("date", "machine", "command")):
    raise ResultsError(f"{path}: no \"{provenance.KEY}\" object with date, machine and command")
  return data


def render_block(root: str, block: Block) -> str:
  """The block's text: the header line (unless WHOLE: the renderer writes it)
  and its table, each line ending in a newline."""
  data = read_json(root, block.data)
  try:
    table = block.render(data).rstrip("\n") + "\n"
  except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
    raise ResultsError(f"{block.data}: cannot render block {block.name} "
                       f"({type(e).__name__}: {e})") from None
  if block.name == WHOLE:
    return table
  header = provenance.header(data[provenance.KEY])
  if data.get(TRANSCRIBED):
    header += " (values transcribed from this page's earlier table; the run's JSON was not kept)"
  return header + "\n\n" + table


def split_page(text: str, page: str) -> list[tuple[str | None, str]]:
  """The page as (block name, text inside the markers) and (None, prose) parts,
  in order; the markers themselves are in the prose parts."""
  parts, pos, inside = [], 0, None
  for match in _MARKER.finditer(text):
    line = text.count("\n", 0, match.start()) + 1
    name = match.group(2)
    if name is not None:  # begin: the block starts on the next line
      if inside is not None:
        raise ResultsError(f"{page}:{line}: block {name} begins inside block {inside}")
      if not text.startswith("\n", match.end()):
        raise ResultsError(f"{page}:{line}: nothing may follow a begin marker on its line")
      parts.append((None, text[pos:match.end() + 1]))
      pos, inside = match.end() + 1, name
    else:
      if inside is None:
        raise ResultsError(f"{page}:{line}: an end marker outside any block")
      if match.start() > 0 and text[match.start() - 1] != "\n":
        raise ResultsError(f"{page}:{line}: an end marker must start its line")
      parts.append((inside, text[pos:match.start()]))
      pos, inside = match.start(), None
  if inside is not None:
    raise ResultsError(f"{page}: block {inside} has no end marker")
  parts.append((None, text[pos:]))
  return parts


def regenerate(root: str, page: str, blocks: tuple[Block, ...]) -> tuple[str, str]:
  """(the page's text now, the text it should have)."""
  path = os.path.join(root, page)
  try:
    with open(path, encoding="utf-8") as f:
      text = f.read()
  except OSError as e:
    raise ResultsError(f"{page}: {(e.strerror or str(e)).lower()}") from None
  if blocks[0].name == WHOLE:
    return text, render_block(root, blocks[0])
  parts = split_page(text, page)
  wanted = {b.name: b for b in blocks}
  found = [name for name, _ in parts if name is not None]
  for name in found:
    if name not in wanted:
      raise ResultsError(f"{page}: unknown block {name}; this page's blocks: "
                         f"{', '.join(wanted)} ({PROGRAM}: PAGES)")
    if found.count(name) > 1:
      raise ResultsError(f"{page}: block {name} appears {found.count(name)} times")
  missing = [name for name in wanted if name not in found]
  if missing:
    raise ResultsError(f"{page}: no block {', '.join(missing)} (add "
                       f"{BEGIN.format(name=missing[0])} ... {END})")
  return text, "".join(text_ if name is None else render_block(root, wanted[name])
                       for name, text_ in parts)


def stray_markers(root: str) -> list[str]:
  """Pages under docs/ that have generated blocks but are not in PAGES."""
  stray = []
  for folder, _, files in os.walk(os.path.join(root, "docs")):
    for name in sorted(files):
      path = os.path.join(folder, name)
      page = os.path.relpath(path, root).replace(os.sep, "/")
      if name.endswith(".md") and page not in PAGES:
        with open(path, encoding="utf-8", errors="replace") as f:
          # A marker inside a fenced code block is an example (docs/results/README.md).
          if _MARKER.search(_FENCED.sub("", f.read())):
            stray.append(page)
  return stray


def run(root: str, check: bool, out=sys.stdout) -> int:
  """Rewrites (or with `check`, compares) every page; the exit status."""
  if not os.path.isdir(os.path.join(root, "docs", "results")):
    raise ResultsError(f"--root={root}: no docs/results/ there (run from the repository "
                       f"root or pass --root)")
  stray = stray_markers(root)
  if stray:
    raise ResultsError(f"{stray[0]}: has generated blocks, but PAGES of "
                       f"pqrnn_tf/benchmarks/results.py does not list it")
  # Every page is rendered before any is written: a bad page or JSON leaves all as they were.
  pages = {page: regenerate(root, page, blocks) for page, blocks in PAGES.items()}
  stale = []
  for page, (text, wanted) in pages.items():
    if text == wanted:
      continue
    stale.append(page)
    blocks = PAGES[page]
    if check:
      print(f"stale: {page} (differs from {', '.join(sorted({b.data for b in blocks}))})",
            file=out)
    else:
      with open(os.path.join(root, page), "w", encoding="utf-8") as f:
        f.write(wanted)
      print(f"wrote {page}", file=out)
  if check and stale:
    print(f"{len(stale)} of {len(PAGES)} pages are stale: run `{PROGRAM}` and commit them",
          file=out)
    return 1
  if not stale:
    print(f"all {len(PAGES)} pages match their JSON", file=out)
  return 0


class _Parser(argparse.ArgumentParser):
  """argparse, with a bad flag reported in one line like every other error."""

  def error(self, message: str):
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
  parser = _Parser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
  parser.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 naming each page that differs from its JSON")
  parser.add_argument("--root", default=".", help="the repository root (default: .)")
  args = parser.parse_args(argv)
  try:
    # The distillation renderer's module imports TensorFlow: its start-up lines are noise here.
    with cli_errors.quiet_native_logs():
      return run(args.root, args.check)
  except ResultsError as e:
    print(f"{PROGRAM}: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
