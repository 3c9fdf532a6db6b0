"""Independent pure-Python reference of the `PqrnnSequenceStringProjection` op.

This module implements `custom_ops/README.md` (the specification) literally, step by
step, from the text alone.  It exists to catch bugs in the C++ kernel and doubles as
executable documentation, so clarity wins over speed; only the feature-bit
extraction (the hot loop) is vectorized with numpy.

Section numbers in comments refer to the specification.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

MASK64 = 0xFFFFFFFFFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15  # the splitmix64 increment / "golden gamma"
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
REPLACEMENT = 0xFFFD

DOMAIN_TOKEN = 1
DOMAIN_NGRAM = 2
DOMAIN_BOS = 3
DOMAIN_EOS = 4

# Section 3: Unicode White_Space.
WHITESPACE = frozenset(
    list(range(0x0009, 0x000D + 1))
    + [0x0020, 0x0085, 0x00A0, 0x1680]
    + list(range(0x2000, 0x200A + 1))
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)

# Section 3: scripts written without spaces; each code point is its own token.
UNSEGMENTED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3001, 0x303F),  # CJK punctuation
    (0x3040, 0x30FF),  # kana
    (0x31F0, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x2FA1F),
    (0x30000, 0x3134F),
)


# --------------------------------------------------------------------------------
# 1. Decoding
# --------------------------------------------------------------------------------


def _utf8_sequence_at(data: bytes, i: int) -> tuple[int, int] | None:
    """The well-formed UTF-8 sequence starting at data[i] as (code point, length),
    or None.  Byte ranges are Unicode Table 3-7."""
    n = len(data)

    def cont(j: int, lo: int = 0x80, hi: int = 0xBF) -> bool:
        return j < n and lo <= data[j] <= hi

    b0 = data[i]
    if b0 <= 0x7F:
        return b0, 1
    if 0xC2 <= b0 <= 0xDF:
        if cont(i + 1):
            return ((b0 & 0x1F) << 6) | (data[i + 1] & 0x3F), 2
        return None
    if 0xE0 <= b0 <= 0xEF:
        if b0 == 0xE0:
            second = (0xA0, 0xBF)  # no overlong forms
        elif b0 == 0xED:
            second = (0x80, 0x9F)  # no surrogates
        else:
            second = (0x80, 0xBF)
        if cont(i + 1, *second) and cont(i + 2):
            cp = ((b0 & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)
            return cp, 3
        return None
    if 0xF0 <= b0 <= 0xF4:
        if b0 == 0xF0:
            second = (0x90, 0xBF)  # no overlong forms
        elif b0 == 0xF4:
            second = (0x80, 0x8F)  # nothing above U+10FFFF
        else:
            second = (0x80, 0xBF)
        if cont(i + 1, *second) and cont(i + 2) and cont(i + 3):
            cp = (
                ((b0 & 0x07) << 18)
                | ((data[i + 1] & 0x3F) << 12)
                | ((data[i + 2] & 0x3F) << 6)
                | (data[i + 3] & 0x3F)
            )
            return cp, 4
        return None
    return None  # 80..C1, F5..FF never start a sequence


def decode_utf8(data: bytes) -> list[int]:
    """Section 1: bytes -> code points.  A byte that does not start a well-formed
    sequence becomes one U+FFFD and decoding resumes at the next byte."""
    out: list[int] = []
    i = 0
    while i < len(data):
        seq = _utf8_sequence_at(data, i)
        if seq is None:
            out.append(REPLACEMENT)
            i += 1
        else:
            out.append(seq[0])
            i += seq[1]
    return out


def encode_utf8(code_points: Iterable[int]) -> bytes:
    """UTF-8 of code points (never surrogates here: the decoder cannot make them)."""
    return "".join(map(chr, code_points)).encode("utf-8")


# --------------------------------------------------------------------------------
# 2. Lowercasing
# --------------------------------------------------------------------------------


def lower_code_point(c: int) -> int:
    """Simple lowercase mapping of one code point, with no context."""
    if c == 0x0130:  # LATIN CAPITAL LETTER I WITH DOT ABOVE: full mapping is 2 chars
        return 0x0069
    lowered = chr(c).lower()
    return ord(lowered) if len(lowered) == 1 else c


# --------------------------------------------------------------------------------
# 3. Tokenization
# --------------------------------------------------------------------------------


def is_unsegmented(c: int) -> bool:
    for lo, hi in UNSEGMENTED_RANGES:
        if lo <= c <= hi:
            return True
    return False


def tokenize(
    code_points: Sequence[int],
    separators: Iterable[int] = (),
    split_unsegmented_scripts: bool = True,
    max_repeated_chars: int = 0,
    max_tokens: int = 0,
) -> list[list[int]]:
    """Section 3 on already decoded (and, if wanted, lowercased) code points.
    Returns the kept text tokens, each a non-empty list of code points."""
    dropped = WHITESPACE | frozenset(separators)
    tokens: list[list[int]] = []
    current: list[int] = []

    def end_token() -> None:
        nonlocal current
        if current:
            tokens.append(current)
        current = []

    for c in code_points:
        if c in dropped:
            end_token()
        elif split_unsegmented_scripts and is_unsegmented(c):
            end_token()
            tokens.append([c])
        else:
            current.append(c)
    end_token()

    if max_repeated_chars > 0:
        tokens = [_cut_runs(t, max_repeated_chars) for t in tokens]
    if max_tokens > 0:
        tokens = tokens[:max_tokens]
    return tokens


def _cut_runs(token: list[int], r: int) -> list[int]:
    out: list[int] = []
    run = 0
    for i, c in enumerate(token):
        run = run + 1 if i > 0 and token[i - 1] == c else 1
        if run <= r:
            out.append(c)
    return out


# --------------------------------------------------------------------------------
# 5. Hashing (before 4, which uses mix64)
# --------------------------------------------------------------------------------


def fnv1a64(data: bytes, domain: int) -> int:
    h = (FNV_OFFSET ^ ((domain * GOLDEN) & MASK64)) & MASK64
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def mix64(x: int) -> int:
    """The splitmix64 finalizer."""
    x &= MASK64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK64
    x ^= x >> 31
    return x


def token_key(data: bytes, domain: int) -> int:
    return mix64(fnv1a64(data, domain))


# --------------------------------------------------------------------------------
# 4. Distortion
# --------------------------------------------------------------------------------


class SplitMix64:
    def __init__(self, state: int):
        self.state = state & MASK64

    def next(self) -> int:
        self.state = (self.state + GOLDEN) & MASK64
        return mix64(self.state)


def distort(
    tokens: list[list[int]], probability: float, seed: int, call: int, b: int
) -> list[list[int]]:
    """Section 4 for sentence `b` of the batch in kernel execution number `call`."""
    p = float(np.float32(probability))  # the attribute is float32; compare as double
    if not p > 0:
        return tokens
    seed &= MASK64  # two's complement 64-bit
    rng = SplitMix64(mix64((mix64((seed + call) & MASK64) + b) & MASK64))
    out = []
    for token in tokens:
        new_token = []
        for c in token:
            u = rng.next()
            if (u >> 11) * 2.0**-53 < p:
                c = ord("a") + rng.next() % 26
            new_token.append(c)
        out.append(new_token)
    return out


# --------------------------------------------------------------------------------
# 6. Features
# --------------------------------------------------------------------------------

_TERNARY = np.array([0, 1, -1, 0], dtype=np.int8)  # t = 0, 1, 2, 3


def _mix64_np(x: np.ndarray) -> np.ndarray:
    """mix64 on a uint64 array (numpy array arithmetic wraps mod 2^64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x


def ternary_matrix(keys: Sequence[int], feature_size: int) -> np.ndarray:
    """int8 [len(keys), feature_size]: row r is the ternary vector v(keys[r])."""
    num_words = (feature_size + 31) // 32
    keys_np = np.array(list(keys), dtype=np.uint64).reshape(-1, 1)
    steps = np.array([((j + 1) * GOLDEN) & MASK64 for j in range(num_words)], dtype=np.uint64)
    shifts = (2 * np.arange(32)).astype(np.uint64)  # feature i uses bits 2*(i mod 32)
    out = np.empty((len(keys_np), feature_size), dtype=np.int8)
    for start in range(0, len(keys_np), 4096):  # chunks bound the temporary memory
        chunk = keys_np[start : start + 4096]
        words = _mix64_np(chunk + steps[None, :])  # w_j, shape [K, num_words]
        t = ((words[:, :, None] >> shifts[None, None, :]) & np.uint64(3)).astype(np.uint8)
        t = t.reshape(len(chunk), num_words * 32)[:, :feature_size]
        out[start : start + len(chunk)] = _TERNARY[t]
    return out


def ternary_vector(key: int, feature_size: int) -> np.ndarray:
    """int8 [feature_size]: the ternary vector v(key) of section 6."""
    return ternary_matrix([key], feature_size)[0]


def char_ngrams(token: Sequence[int], n: int) -> list[list[int]]:
    """The n-grams of the boundary-marked token `<`, c1..cm, `>`."""
    marked = [ord("<")] + list(token) + [ord(">")]
    if len(marked) < n:
        return [marked]
    return [marked[i : i + n] for i in range(len(marked) - n + 1)]


def _token_rows(tokens: list[list[int]], feature_size: int, n: int) -> np.ndarray:
    """float32 [len(tokens), feature_size] rows of the text tokens."""
    keys = [token_key(encode_utf8(t), DOMAIN_TOKEN) for t in tokens]
    if n == 0:
        return ternary_matrix(keys, feature_size).astype(np.float32)
    rows = np.zeros((len(tokens), feature_size), dtype=np.float32)
    # Process tokens in chunks so the [keys, feature_size] matrix stays small.
    start = 0
    while start < len(tokens):
        chunk_keys: list[int] = []
        offsets: list[int] = []  # where each token's keys start in chunk_keys
        counts: list[int] = []  # k = 1 + number of n-grams
        stop = start
        while stop < len(tokens) and len(chunk_keys) < 65536:
            grams = char_ngrams(tokens[stop], n)
            offsets.append(len(chunk_keys))
            counts.append(1 + len(grams))
            chunk_keys.append(keys[stop])
            chunk_keys.extend(token_key(encode_utf8(g), DOMAIN_NGRAM) for g in grams)
            stop += 1
        # s = integer sum of the token's vector and all its n-gram vectors.
        s = np.add.reduceat(ternary_matrix(chunk_keys, feature_size).astype(np.int32), offsets, axis=0)
        k = np.array(counts, dtype=np.float32)
        scale = np.float32(1.0) / np.sqrt(k)  # float32 sqrt and division
        rows[start:stop] = s.astype(np.float32) * scale[:, None]
        start = stop
    return rows


# --------------------------------------------------------------------------------
# The op
# --------------------------------------------------------------------------------


def _as_code_points(separators: str | bytes) -> list[int]:
    if isinstance(separators, bytes):
        separators = separators.decode("utf-8")  # the attribute must be valid UTF-8
    return [ord(c) for c in separators]


def text_tokens(
    text: str | bytes,
    batch_index: int = 0,
    max_tokens: int = 0,
    lowercase: bool = True,
    separators: str | bytes = "",
    split_unsegmented_scripts: bool = True,
    max_repeated_chars: int = 0,
    distortion_probability: float = 0.0,
    distortion_seed: int = 0,
    call_index: int = 0,
) -> list[list[int]]:
    """Sections 1-4 for one sentence: the kept text tokens as code point lists,
    exactly as they are hashed."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    cps = decode_utf8(data)  # 1
    if lowercase:  # 2
        cps = [lower_code_point(c) for c in cps]
    tokens = tokenize(  # 3
        cps,
        separators=_as_code_points(separators),
        split_unsegmented_scripts=split_unsegmented_scripts,
        max_repeated_chars=max_repeated_chars,
        max_tokens=max_tokens,
    )
    return distort(tokens, distortion_probability, distortion_seed, call_index, batch_index)  # 4


def project(
    texts,
    feature_size: int = 512,
    max_tokens: int = 0,
    lowercase: bool = True,
    separators: str | bytes = "",
    split_unsegmented_scripts: bool = True,
    max_repeated_chars: int = 0,
    add_bos: bool = False,
    add_eos: bool = False,
    char_ngram_size: int = 0,
    distortion_probability: float = 0.0,
    distortion_seed: int = 0,
    call_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (features float32 [B, max_len, feature_size], sequence_length int32 [B]).
    `call_index` is the kernel execution counter `call` of section 4."""
    sentences: list[np.ndarray] = []
    for b, text in enumerate(texts):
        tokens = text_tokens(
            text,
            batch_index=b,
            max_tokens=max_tokens,
            lowercase=lowercase,
            separators=separators,
            split_unsegmented_scripts=split_unsegmented_scripts,
            max_repeated_chars=max_repeated_chars,
            distortion_probability=distortion_probability,
            distortion_seed=distortion_seed,
            call_index=call_index,
        )
        rows = [_token_rows(tokens, feature_size, char_ngram_size)]  # 5, 6
        if add_bos:  # 7
            rows.insert(0, _special_row(DOMAIN_BOS, feature_size))
        if add_eos:
            rows.append(_special_row(DOMAIN_EOS, feature_size))
        sentences.append(np.concatenate(rows, axis=0))

    lengths = np.array([len(s) for s in sentences], dtype=np.int32)
    max_len = max(1, int(lengths.max()) if len(sentences) else 0)  # never zero-size
    features = np.zeros((len(sentences), max_len, feature_size), dtype=np.float32)
    for b, s in enumerate(sentences):
        features[b, : len(s)] = s
    return features, lengths


def _special_row(domain: int, feature_size: int) -> np.ndarray:
    """BOS/EOS: the empty byte string hashed in its own domain; always ternary."""
    return ternary_matrix([token_key(b"", domain)], feature_size).astype(np.float32)
