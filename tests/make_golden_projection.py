"""Writes tests/golden_projection.json: golden vectors of the projection op.

    python tests/make_golden_projection.py          # rewrite the file
    python tests/make_golden_projection.py --check  # exit 1 if it is out of date

The vectors come from the pure-Python reference `tests/projection_reference.py`.
Each input is projected on its own (a batch of one, so batch index b = 0) with
feature_size = 64 under every setting.  Per row the file stores the token (code
points after steps 1-4 of the spec, or "<BOS>"/"<EOS>"), its key
mix64(fnv1a64(...)) in hex, and the non-zero features:
- ternary rows: "plus" / "minus", the sorted indices of the +1 / -1 features;
- n-gram rows (text tokens when char_ngram_size > 0): "values", a list of
  [index, value] where value is the shortest decimal string that reads back as
  the exact float32.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.projection_reference import (  # noqa: E402
    DOMAIN_BOS,
    DOMAIN_EOS,
    DOMAIN_TOKEN,
    encode_utf8,
    project,
    text_tokens,
    token_key,
)

DESCRIPTION = [
    "Golden vectors of PqrnnSequenceStringProjection (custom_ops/README.md), made by "
    "tests/make_golden_projection.py from the Python reference tests/projection_reference.py.",
    "Each input (input_hex is authoritative; text is its UTF-8 decoding when valid) is "
    "projected alone, as a batch of one (batch index b = 0), with feature_size = 64 and "
    "the attributes of each setting (others at their defaults).",
    "Per row: token = its code points after steps 1-4 (or <BOS>/<EOS>); key = mix64(fnv1a64(...)).",
    "Ternary rows: plus/minus = sorted indices of the +1/-1 features.",
    "N-gram rows (text tokens when char_ngram_size > 0): values = [index, value] for the "
    "non-zero features, value being the shortest decimal that reads back as the exact float32.",
    "All other features are 0.",
]
GOLDEN_PATH = Path(__file__).resolve().parent / "golden_projection.json"
FEATURE_SIZE = 64

INPUTS: list[tuple[str, bytes]] = [
    ("ascii", "The quick brown fox jumps over the lazy dog.".encode()),
    ("latin_accents", "Crème Brûlée À Paris".encode()),
    ("arabic", "مرحبا بالعالم".encode()),
    ("devanagari", "नमस्ते दुनिया".encode()),
    ("chinese", "我爱北京天安门。".encode()),
    ("japanese", "東京タワーはきれいです".encode()),
    ("thai", "สวัสดีครับ".encode()),
    ("emoji", "I ❤️ 🍕 and 👩‍💻!".encode()),
    ("casing", "ΟΔΥΣΣΕΥΣ İSTANBUL ǅemal".encode()),
    ("empty", b""),
    ("whitespace_only", " \t\u3000\u00a0\n ".encode()),
    # overlong C0 80, surrogate ED A0 80, above U+10FFFF, truncated C3 and E2 82, FF
    ("invalid_utf8", b"ok \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 caf\xc3 \xe2\x82 end\xff"),
    ("nul_byte", b"nul\x00byte a\x00"),
]

SETTINGS: dict[str, dict] = {
    "defaults": {},
    "bos_eos_max3": {"add_bos": True, "add_eos": True, "max_tokens": 3},
    "char_ngram3": {"char_ngram_size": 3},
    "distortion": {"distortion_probability": 0.25, "distortion_seed": -3, "call_index": 1},
}

_TOKEN_ATTRS = (
    "max_tokens",
    "lowercase",
    "separators",
    "split_unsegmented_scripts",
    "max_repeated_chars",
    "distortion_probability",
    "distortion_seed",
    "call_index",
)


def float32_str(x: np.float32) -> str:
    return np.format_float_positional(np.float32(x), unique=True, trim="-")


def describe_rows(data: bytes, attrs: dict) -> dict:
    features, lengths = project([data], feature_size=FEATURE_SIZE, **attrs)
    token_attrs = {k: v for k, v in attrs.items() if k in _TOKEN_ATTRS}
    tokens = text_tokens(data, batch_index=0, **token_attrs)
    # (label, key, is a text token)
    labels = [("<BOS>", token_key(b"", DOMAIN_BOS), False)] if attrs.get("add_bos") else []
    labels += [("".join(map(chr, t)), token_key(encode_utf8(t), DOMAIN_TOKEN), True) for t in tokens]
    if attrs.get("add_eos"):
        labels.append(("<EOS>", token_key(b"", DOMAIN_EOS), False))
    assert len(labels) == lengths[0]

    rows = []
    for (label, key, is_text), row in zip(labels, features[0]):
        entry = {"token": label, "key": f"0x{key:016x}"}
        if attrs.get("char_ngram_size", 0) > 0 and is_text:
            entry["values"] = [[int(i), float32_str(row[i])] for i in np.flatnonzero(row)]
        else:
            assert set(np.unique(row)) <= {-1.0, 0.0, 1.0}
            entry["plus"] = [int(i) for i in np.flatnonzero(row == 1)]
            entry["minus"] = [int(i) for i in np.flatnonzero(row == -1)]
        rows.append(entry)
    return {"sequence_length": int(lengths[0]), "rows": rows}


def build() -> dict:
    cases = []
    for name, data in INPUTS:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        cases.append(
            {
                "name": name,
                "input_hex": data.hex(),
                "text": text,
                "results": {s: describe_rows(data, attrs) for s, attrs in SETTINGS.items()},
            }
        )
    return {
        "description": DESCRIPTION,
        "feature_size": FEATURE_SIZE,
        "settings": SETTINGS,
        "cases": cases,
    }


def render(golden: dict) -> str:
    """JSON with one line per row, so the file is easy to read and to diff."""
    rows: list[str] = []

    def stash_rows(obj):
        if isinstance(obj, dict):
            if "token" in obj and "key" in obj:
                rows.append(json.dumps(obj, ensure_ascii=False))
                return f"@@ROW{len(rows) - 1}@@"
            return {k: stash_rows(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [stash_rows(v) for v in obj]
        return obj

    text = json.dumps(stash_rows(golden), indent=1, ensure_ascii=False)
    for i, row in enumerate(rows):
        text = text.replace(f'"@@ROW{i}@@"', row, 1)
    return text + "\n"


def main() -> int:
    text = render(build())
    if "--check" in sys.argv[1:]:
        if GOLDEN_PATH.read_text(encoding="utf-8") != text:
            print(f"{GOLDEN_PATH} is out of date", file=sys.stderr)
            return 1
        return 0
    GOLDEN_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {GOLDEN_PATH} ({len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
