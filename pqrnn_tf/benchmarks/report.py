"""pqrnn-benchmark's derived numbers (ratios, linear fits, claims), Markdown
table and accuracy-vs-latency plot, all computed from the results dict."""
from __future__ import annotations

import json
import os

import numpy as np

from pqrnn_tf.metrics import HEADLINE_METRICS

from . import provenance
from . import teacher as teacher_lib

PLOT_METRIC = "exact_match"  # the strictest of the three: intent and every slot right


def bucket_row(row: dict, length: int) -> dict | None:
  return next((b for b in row["buckets"] if b["length"] == length), None)


def linear_fit(row: dict) -> dict | None:
  """p50 ≈ a + b * tokens over the buckets, with R² (None below 2 buckets)."""
  x = np.array([b["length"] for b in row["buckets"]], dtype=float)
  y = np.array([b["p50_us"] for b in row["buckets"]])
  if len(x) < 2:
    return None
  slope, intercept = np.polyfit(x, y, 1)
  residual = y - (intercept + slope * x)
  total = float(np.sum((y - y.mean()) ** 2))
  r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 1.0
  return {"intercept_us": float(intercept), "us_per_token": float(slope), "r2": r2,
          "p50_longest_over_shortest": float(y[np.argmax(x)] / y[np.argmin(x)]),
          "longest_over_shortest_tokens": float(x.max() / x.min())}


def add_rates(row: dict, peak_gmacs: float | None) -> None:
  """Achieved GMAC/s at p50 per bucket, and its share of the int8 peak."""
  for b in row["buckets"]:
    b["gmacs_at_p50"] = b["macs"] / (b["p50_us"] * 1e3) if b.get("macs") else None
    b["fraction_of_int8_peak"] = (b["gmacs_at_p50"] / peak_gmacs
                                  if b["gmacs_at_p50"] and peak_gmacs else None)


def ratios(rows: list[dict], reference: str, length: int) -> list[dict]:
  """Every row against the reference row at one bucket (ratios > 1: the
  reference is faster / smaller)."""
  ref = next(r for r in rows if r["name"] == reference)
  ref_bucket = bucket_row(ref, length)
  out = []
  for row in rows:
    b = bucket_row(row, length)
    entry = {"name": row["name"], "length": length,
             "p50_over_reference": b["p50_us"] / ref_bucket["p50_us"] if b else None,
             "bytes_over_reference": row["bytes"] / ref["bytes"]}
    for key in HEADLINE_METRICS:
      mine, theirs = row.get("accuracy", {}).get(key), ref.get("accuracy", {}).get(key)
      entry[f"{key}_minus_reference"] = (
          mine - theirs if mine is not None and theirs is not None else None)
    out.append(entry)
  return out


#: The targets a --targets file may set, each optional (an absent one is not
#: checked), with the JSON type of its value:
#:   teacher_p50_over_reference: {deployment: x}: the reference's p50 at the
#:     ratio bucket is at least x times faster than that teacher deployment's;
#:   teacher_file_over_reference: {deployment: x}: its file at least x times smaller;
#:   faster_than_lstm: true: faster than every row named "...lstm..." at equal
#:     or better exact match;
#:   reference_linear_r2: r: the reference's p50 fits a line in length with R² ≥ r;
#:   max_ops: n: every profiled TFLite model has at most n ops;
#:   int8_over_float_p50: x: each `<stem>_int8` row's p50 is at most x times
#:     its `<stem>_none` or `<stem>_float` row's;
#:   int8_linear_r2: r: each `<stem>_int8` row's p50 fits a line with R² ≥ r;
#:   portable_p50_over_reference: {timing: x}: each portable row of that timing
#:     ("invoke", "projection + invoke") has at most x times the reference's p50.
#: docs/benchmark/targets.json sets all of them.
TARGET_KEYS = {
    "description": str, "teacher_p50_over_reference": dict,
    "teacher_file_over_reference": dict, "faster_than_lstm": bool,
    "reference_linear_r2": float, "max_ops": int, "int8_over_float_p50": float,
    "int8_linear_r2": float, "portable_p50_over_reference": dict}
#: The keys a targets object may hold, for the object-valued targets.
TARGET_OBJECT_KEYS = {"teacher_p50_over_reference": teacher_lib.DEPLOYMENTS,
                      "teacher_file_over_reference": teacher_lib.DEPLOYMENTS,
                      "portable_p50_over_reference": ("invoke", "projection + invoke")}


def _is_number(value) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def validate_targets(targets, source: str) -> dict:
  """`targets` (a parsed targets file) if every key and value is one
  TARGET_KEYS allows; ValueError naming `source` and the key otherwise."""
  if not isinstance(targets, dict):
    raise ValueError(f"{source}: a targets file holds one JSON object")
  for key, value in targets.items():
    kind = TARGET_KEYS.get(key)
    if kind is None:
      raise ValueError(f"{source}: unknown target {key!r}; known: {', '.join(TARGET_KEYS)}")
    if kind is dict:
      allowed = TARGET_OBJECT_KEYS[key]
      if not isinstance(value, dict) or not all(k in allowed and _is_number(v)
                                                for k, v in value.items()):
        raise ValueError(f"{source}: {key} must map some of {', '.join(allowed)} to "
                         f"positive numbers, not {json.dumps(value)}")
    elif kind is bool or kind is str:
      if not isinstance(value, kind):
        raise ValueError(f"{source}: {key} must be a {'boolean' if kind is bool else 'string'},"
                         f" not {json.dumps(value)}")
    elif not _is_number(value) or (kind is int and not isinstance(value, int)):
      raise ValueError(f"{source}: {key} must be a positive "
                       f"{'integer' if kind is int else 'number'}, not {json.dumps(value)}")
  return targets


def load_targets(path: str) -> dict:
  """The targets of JSON file `path`, validated; ValueError or OSError
  (naming the file) if it cannot be read or holds something else."""
  with open(path, encoding="utf-8") as f:
    try:
      targets = json.load(f)
    except json.JSONDecodeError as e:
      raise ValueError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
  return validate_targets(targets, path)


def claims(rows: list[dict], reference: str, length: int, targets: dict) -> list[dict]:
  """Each target of `targets` (see TARGET_KEYS; {}: none) with its measured
  value (None: a row it needs was not benchmarked)."""
  by_name = {r["name"]: r for r in rows}
  ref = by_name[reference]
  ratio = {r["name"]: r for r in ratios(rows, reference, length)}
  teachers = {r.get("deployment"): r["name"] for r in rows if r["kind"] == "teacher"}

  def target(text, name, key, threshold):
    value = ratio[name][key] if name in ratio else None
    return {"claim": text, "value": value, "threshold": threshold,
            "met": None if value is None else bool(value >= threshold)}

  out = []
  for deployment, threshold in targets.get("teacher_p50_over_reference", {}).items():
    out.append(target(f"{length}-token p50: {reference} ≥ {threshold}x faster than the "
                      f"teacher's {deployment}", teachers.get(deployment),
                      "p50_over_reference", threshold))
  for deployment, threshold in targets.get("teacher_file_over_reference", {}).items():
    out.append(target(f"file: {reference} ≥ {threshold}x smaller than the teacher's "
                      f"{deployment}", teachers.get(deployment), "bytes_over_reference",
                      threshold))
  for row in rows:
    if (targets.get("faster_than_lstm") and "lstm" in row["name"].lower()
        and row["name"] != reference):
      faster = ratio[row["name"]]["p50_over_reference"]
      better = ratio[row["name"]]["exact_match_minus_reference"]
      met = None if faster is None or better is None else bool(faster > 1 and better <= 0)
      out.append({"claim": f"{reference} faster than {row['name']} at equal or better "
                           f"exact match", "value": faster, "threshold": 1,
                  "exact_match_minus_reference": better, "met": met})
  fit = linear_fit(ref)
  least_r2 = targets.get("reference_linear_r2")
  if least_r2 is not None and fit is not None and len(ref["buckets"]) >= 3:
    out.append({"claim": f"{reference} p50 grows roughly linearly with length (R² ≥ "
                         f"{least_r2})", "value": fit["r2"], "threshold": least_r2,
                "met": bool(fit["r2"] >= least_r2)})
  return (out + lean_graph_claims(rows, length, targets)
          + portable_claims(rows, reference, length, targets))


def portable_claims(rows: list[dict], reference: str, length: int,
                    targets: dict) -> list[dict]:
  """Each portable model's `length`-token p50 against the reference's, for
  the timings `targets["portable_p50_over_reference"]` bounds (invoke alone;
  projection + invoke)."""
  ref = bucket_row(next(r for r in rows if r["name"] == reference), length)
  thresholds = targets.get("portable_p50_over_reference", {})
  out = []
  for row in rows:
    threshold = thresholds.get(row.get("timing"))
    mine = bucket_row(row, length)
    if threshold is None or row["name"] == reference or not (mine and ref):
      continue
    value = mine["p50_us"] / ref["p50_us"]
    out.append({"claim": f"{length}-token p50: {row['name']} ({row['timing']}) ≤ "
                         f"{threshold}x {reference}", "value": value, "threshold": threshold,
                "met": bool(value <= threshold)})
  return out


def lean_graph_claims(rows: list[dict], length: int, targets: dict) -> list[dict]:
  """Lean-graph targets of `targets`: each profiled model has at most
  `max_ops` ops; each `<stem>_int8` row's p50 is at most `int8_over_float_p50`
  times its `<stem>_none` or `<stem>_float` row's (the float export of the
  same model), and fits a line in length with R² ≥ `int8_linear_r2`."""
  out = []
  by_name = {r["name"]: r for r in rows}
  max_ops = targets.get("max_ops")
  int8_over_float = targets.get("int8_over_float_p50")
  least_r2 = targets.get("int8_linear_r2")
  for row in rows:
    profile = row.get("profile")
    if profile and max_ops is not None:
      out.append({"claim": f"{row['name']}: at most {max_ops} ops", "value": profile["ops"],
                  "threshold": max_ops, "met": bool(profile["ops"] <= max_ops)})
    if not row["name"].endswith("_int8"):
      continue
    stem = row["name"][:-len("_int8")]
    float_row = next((by_name[n] for n in (f"{stem}_none", f"{stem}_float") if n in by_name),
                     None)
    mine = bucket_row(row, length)
    theirs = float_row and bucket_row(float_row, length)
    if int8_over_float is not None and mine and theirs:
      value = mine["p50_us"] / theirs["p50_us"]
      out.append({"claim": f"{length}-token p50: {row['name']} ≤ {int8_over_float}x "
                           f"{float_row['name']}", "value": value,
                  "threshold": int8_over_float, "met": bool(value <= int8_over_float)})
    fit = row.get("linear_fit") or linear_fit(row)
    if least_r2 is not None and fit is not None and len(row["buckets"]) >= 3:
      out.append({"claim": f"{row['name']} p50 linear in length (R² ≥ {least_r2})",
                  "value": fit["r2"], "threshold": least_r2, "met": bool(fit["r2"] >= least_r2)})
  return out


def _size(n: float) -> str:
  return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def _pct(x: float | None) -> str:
  return "–" if x is None else f"{100 * x:.2f}"


def _num(x: float | None, fmt: str = "{:.0f}") -> str:
  return "–" if x is None else fmt.format(x)


def _ratio(x: float | None) -> str:
  """A p50 ratio, with the two decimals that a 1.0x target needs below 10x."""
  return _num(x, "{:.2f}x" if x is not None and x < 10 else "{:.1f}x")


def _macs(row: dict, b: dict) -> str:
  if not b.get("macs"):
    return "–"
  prefix = "≥ " if b.get("macs_uncounted_ops") else ""
  kind = "analytic" if row["kind"] == "teacher" else "counted"
  return f"{prefix}{b['macs'] / 1e6:.2f}M ({kind})"


def summary_table(results: dict) -> list[str]:
  """Markdown lines: one row per model with its file, p50 at every bucket, the
  ratio bucket's p50 against the reference's, and its accuracy."""
  ref, length = results["reference"], results["config"]["ratio_bucket"]
  lengths = [b["length"] for b in results["buckets"]]
  ratio = {e["name"]: e for e in results["ratios"]}
  lines = [f"| model | file | p50 at {' / '.join(map(str, lengths))} tokens (µs) | "
           f"{length} tokens: p50 / {ref} p50 | intent acc | slot F1 | exact match |",
           "|---|---|---|---|---|---|---|"]
  for r in results["rows"]:
    p50 = [bucket_row(r, n) for n in lengths]
    acc = r.get("accuracy", {})
    lines.append(f"| {r['name']} | {_size(r['bytes'])} | "
                 + " / ".join("–" if b is None else f"{b['p50_us']:.0f}" for b in p50)
                 + f" | {_ratio(ratio.get(r['name'], {}).get('p50_over_reference'))} | "
                 + " | ".join(_pct(acc.get(k)) for k in HEADLINE_METRICS) + " |")
  return lines


def markdown(results: dict) -> str:
  """The report: models, latency per bucket, ratios, linear fits, claims."""
  cfg, rows = results["config"], results["rows"]
  ref, length = results["reference"], cfg["ratio_bucket"]
  lines = ["# pqrnn-benchmark", ""]
  if results.get("measured"):
    lines += [provenance.header(results["measured"]), ""]
  lines += [f"Latency: {cfg['runtime_note']}, batch 1, one thread; {cfg['warmup']} "
           f"warm-up then {cfg['num_invokes']} timed calls per bucket, each call string "
           f"in -> outputs out (a portable model's `<name>` row: set the projected, padded "
           f"inputs, invoke, read the outputs; its `<name>+projection` row: string in -> "
           f"outputs out with the TF-free projection). Sentences per bucket (ATIS test):", ""]
  lines += [f"- {b['description']}" for b in results["buckets"]]
  peak = results.get("peak_int8")
  if peak:
    lines += ["", f"Peak int8 rate of one core: **{peak['gmacs']:.1f} GMAC/s** "
                  f"({peak['layers']} int8 FULLY_CONNECTED {peak['units']}x{peak['units']}, "
                  f"batch {peak['batch']}, LiteRT one thread, fastest of {peak['invokes']} invokes "
                  f"{peak['min_us']:.0f} µs, p50 {peak['p50_us']:.0f} µs)."]
  lines += ["", "## Summary", "", *summary_table(results)]
  tp = cfg.get("throughput")
  lines += ["", "## Models", "",
            "| model | runtime | file | peak RSS | RSS over bare runtime | intent acc | "
            "slot F1 | exact match | " + (f"sentences/s (batch {tp['batch_size']}, "
                                          f"{tp['threads']} threads) |" if tp else ""),
            "|---|---|---|---|---|---|---|---|" + ("---|" if tp else "")]
  for r in rows:
    acc = r.get("accuracy", {})
    cells = [r["name"], r["runtime"], _size(r["bytes"]), _size(1024 * r["rss_peak_kb"]),
             _size(1024 * r["rss_model_kb"])] + [_pct(acc.get(k)) for k in HEADLINE_METRICS]
    if tp:
      cells.append(_num(r.get("throughput", {}).get("sentences_per_s")))
    lines.append("| " + " | ".join(cells) + " |")
  lines += ["", "Accuracy: full ATIS test set, one sentence per call in the model's "
                "runtime; percentages.", "",
            "## Latency per bucket (batch 1, one thread)", "",
            "| model | tokens | p50 µs | p90 µs | p99 µs | MACs | GMAC/s at p50 | "
            "% of int8 peak |", "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    for b in r["buckets"]:
      frac = b.get("fraction_of_int8_peak")
      lines.append(f"| {r['name']} | {b['length']} | {b['p50_us']:.0f} | {b['p90_us']:.0f} | "
                   f"{b['p99_us']:.0f} | {_macs(r, b)} | {_num(b.get('gmacs_at_p50'), '{:.2f}')} | "
                   f"{_num(None if frac is None else 100 * frac, '{:.1f}')} |")
  lines += ["", "MACs: multiply-accumulates of matrix products per inference, mean over the "
                "bucket's sentences (TFLite: counted from the interpreter's ops and tensor "
                "shapes; teacher: analytic from its config and word-piece length; "
                "\"≥\": the model has control flow whose ops are not counted).", "",
            f"## vs {ref} ({length}-token bucket)", "",
            f"| model | p50 / {ref} p50 | file / {ref} file | intent acc Δ | slot F1 Δ | "
            "exact match Δ |", "|---|---|---|---|---|---|"]
  for e in results["ratios"]:
    lines.append(f"| {e['name']} | {_ratio(e['p50_over_reference'])} | "
                 f"{e['bytes_over_reference']:.1f}x | "
                 + " | ".join(_num(None if e[f'{k}_minus_reference'] is None
                                   else 100 * e[f'{k}_minus_reference'], '{:+.2f}')
                              for k in HEADLINE_METRICS) + " |")
  agreeing = [r for r in rows if r.get("agreement_with_reference")]
  if agreeing:
    lines += ["", f"## Agreement with {ref} (ATIS test, one sentence per call)", "",
              "| model | intents | word tags | whole sentences |", "|---|---|---|---|"]
    for r in agreeing:
      a = r["agreement_with_reference"]
      lines.append(f"| {r['name']} | {_pct(a['intent'])} | {_pct(a.get('word_tags'))} | "
                   f"{_pct(a.get('sentence'))} |")
  lines += ["", "## Latency against length (p50 ≈ a + b · tokens)", "",
            "| model | a µs | b µs/token | R² | p50 longest / shortest | tokens longest / "
            "shortest |", "|---|---|---|---|---|---|"]
  for r in rows:
    fit = r.get("linear_fit")
    if fit:
      lines.append(f"| {r['name']} | {fit['intercept_us']:.0f} | {fit['us_per_token']:.2f} | "
                   f"{fit['r2']:.3f} | {fit['p50_longest_over_shortest']:.1f}x | "
                   f"{fit['longest_over_shortest_tokens']:.0f}x |")
  lines += ops_table(rows)
  lines += profile_tables(rows)
  lines += ["", "## Targets", ""]
  if not results["claims"]:
    lines.append("None given (`pqrnn-benchmark --targets=FILE` checks the targets of a "
                 "JSON file, e.g. docs/benchmark/targets.json).")
  elif results.get("targets_file"):
    lines += [f"From `{results['targets_file']}`:", ""]
  for c in results["claims"]:
    status = {True: "met", False: "NOT met", None: "not measured"}[c["met"]]
    value = "" if c["value"] is None else f": {c['value']:.3g} (target {c['threshold']})"
    lines.append(f"- {c['claim']}{value}: **{status}**")
  if results.get("plot"):
    lines += ["", f"Plot: `{os.path.basename(results['plot'])}` ({results['plot_metric']} "
                  f"against {length}-token p50)."]
  return "\n".join(lines) + "\n"


def ops_table(rows: list[dict]) -> list[str]:
  """Markdown lines: each TFLite file's ops (the subgraph that runs a sentence
  of the ratio bucket, and all subgraphs) and the nodes XNNPACK replaced."""
  with_ops = [r for r in rows if r.get("ops") and r.get("timing") != "projection + invoke"]
  if not with_ops:
    return []
  lines = ["", "## Ops and XNNPACK delegation", "",
           "Ops: from the flatbuffer. Replaced: nodes TFLite hands to XNNPACK, from its own "
           "log line (\"Replacing N out of M node(s) with delegate\", enabled at VERBOSE). "
           "Timed subgraph: the one that runs a sentence of the ratio bucket. Partitions: "
           "the XNNPACK nodes of subgraph 0 (the only one the Python API lists), with the "
           "nodes each replaced, found from their boundary tensors in the graph (their sum "
           "matches the log's count for subgraph 0).", "",
           "| model | timed subgraph | its ops | XNNPACK replaced | all subgraphs' ops | "
           "XNNPACK replaced (all) | subgraph 0: XNNPACK partitions (nodes each) |",
           "|---|---|---|---|---|---|---|"]
  for r in with_ops:
    ops = r["ops"]
    timed = ops["subgraphs"][ops["timed_subgraph"]]
    replaced_all = (None if ops["xnnpack"]["log"] is None
                    else sum(g.get("xnnpack_replaced", 0) for g in ops["subgraphs"]))
    parts = ops["xnnpack"]["main_replaced_by_graph"]
    lines.append(
        f"| {r['name']} | {timed['signature'] or timed['subgraph']} | {timed['ops']} | "
        f"{_num(timed.get('xnnpack_replaced'))} | {ops['total']} | {_num(replaced_all)} | "
        f"{ops['subgraphs'][0]['signature'] or 0}: {len(parts)} "
        f"({', '.join(map(str, parts))}) |")
  return lines


def profile_tables(rows: list[dict]) -> list[str]:
  """Markdown lines: per TFLite model its op count, XNNPACK partitions and the
  time of each op type (the `profile` of pqrnn_tf/benchmarks/op_profile.py)."""
  profiled = [r for r in rows if r.get("profile")]
  if not profiled:
    return []
  sentence = profiled[0]["profile"]["sentence"]
  lines = ["", "## Ops and time by op type (batch 1, one thread)", "",
           f"On one {len(sentence.split())}-token sentence (\"{sentence}\"). Each op type's "
           "time: its ops alone in one model (inputs captured from the real run), p50 invoke "
           "minus an empty model's; remainder: the whole model's p50 invoke minus the "
           "empty invoke and the sum over types (negative: ops run faster inside the whole "
           "model's XNNPACK partitions than alone).", "",
           "| model | ops | XNNPACK partitions | invoke µs | sum of op types µs | remainder µs |",
           "|---|---|---|---|---|---|"]
  for r in profiled:
    p = r["profile"]
    lines.append(f"| {r['name']} | {p['ops']} | {p['xnnpack_partitions']} | "
                 f"{p['invoke_us']:.1f} | {sum(p['us_by_type'].values()):.1f} | "
                 f"{p['remainder_us']:+.1f} |")
  lines += ["", "| model | op type | count | µs | share of invoke |", "|---|---|---|---|---|"]
  for r in profiled:
    p = r["profile"]
    for kind, micros in p["us_by_type"].items():
      share = micros / p["invoke_us"] if p["invoke_us"] > 0 else None
      lines.append(f"| {r['name']} | {kind} | {p['ops_by_type'][kind]} | {micros:.1f} | "
                   f"{_num(None if share is None else 100 * share, '{:.0f}%')} |")
  return lines


def plot(results: dict, path: str) -> str:
  """Accuracy (exact match) against p50 at the ratio bucket, log x, marker
  area proportional to file size. Returns the metric plotted."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  length = results["config"]["ratio_bucket"]
  points = [(r["name"], bucket_row(r, length)["p50_us"], 100 * r["accuracy"][PLOT_METRIC],
             r["bytes"]) for r in results["rows"]
            if bucket_row(r, length) and r.get("accuracy", {}).get(PLOT_METRIC) is not None]
  fig, ax = plt.subplots(figsize=(7, 4.5))
  biggest = max((p[3] for p in points), default=1)
  for i, (name, x, y, size) in enumerate(sorted(points, key=lambda p: p[1])):
    ax.scatter([x], [y], s=max(25.0, 2500.0 * size / biggest), alpha=0.6)
    # Alternate labels above and below: neighbouring points are often close.
    ax.annotate(f"{name} ({_size(size)})", (x, y), textcoords="offset points",
                xytext=(8, 8 if i % 2 == 0 else -16), fontsize=8)
  ax.set_xscale("log")
  if points:  # room for the largest markers and the labels
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    ax.set_xlim(min(xs) / 2, max(xs) * 4)
    ax.set_ylim(max(-8.0, min(ys) - 10), min(105.0, max(ys) + 8))
  ax.set_xlabel(f"p50 latency at {length} tokens, µs (log scale; batch 1, one thread)")
  ax.set_ylabel("ATIS test exact match, %")
  ax.set_title("Accuracy against latency (marker area ∝ file size)")
  ax.grid(True, which="both", alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
  return PLOT_METRIC
