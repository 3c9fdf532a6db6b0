// The pQRNN projection (custom_ops/README.md, spec version 1) in JavaScript,
// and what an app needs around a portable model: the settings and labels
// inside the `.tflite` file, length buckets, and decoding of the outputs.
// No dependencies; runs in browsers and in Node.
//
// Section numbers in comments refer to custom_ops/README.md. The 64-bit
// arithmetic of sections 5 and 6 runs on pairs of unsigned 32-bit halves
// (hi, lo): BigInt would be about 50 times slower.

import {LOWERCASE_RUNS} from './unicode_lowercase.js';

/** The spec version this file implements; portable models record theirs. */
export const SPEC_VERSION = 1;

/**
 * The attributes of the projection op (custom_ops/core/projection_config.h)
 * that an app-side projection reads, with their defaults and valid ranges.
 * The training-only distortion attributes are not here: inference never
 * distorts (section 4).
 */
export const ATTRIBUTES = Object.freeze({
  feature_size: {type: 'int', default: 512, min: 1, max: 16384},
  max_tokens: {type: 'int', default: 0, min: 0},
  lowercase: {type: 'bool', default: true},
  separators: {type: 'string', default: ''},
  split_unsegmented_scripts: {type: 'bool', default: true},
  max_repeated_chars: {type: 'int', default: 0, min: 0},
  add_bos: {type: 'bool', default: false},
  add_eos: {type: 'bool', default: false},
  char_ngram_size: {type: 'int', default: 0, min: 0, max: 8},
});

/** Where a portable model keeps its settings and labels (its appended zip). */
export const SETTINGS_FILE = 'pqrnn_portable.json';
export const INTENT_LABELS_FILE = 'intent_labels.txt';
export const SLOT_LABELS_FILE = 'slot_labels.txt';

const REPLACEMENT = 0xfffd;

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

/**
 * Checks projection settings and fills in defaults.
 * @param {object} settings attribute name -> value (a `projection` object).
 * @param {{source?: string, requireAll?: boolean}} options `source` names the
 *     settings in error messages; `requireAll` refuses a missing attribute
 *     (a portable model records every one) instead of taking its default.
 * @returns {object} every attribute of ATTRIBUTES, validated.
 */
export function normalizeSettings(settings, {source = 'settings', requireAll = false} = {}) {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new Error(`${source}: the projection settings must be a JSON object`);
  }
  const out = {};
  for (const [name, attribute] of Object.entries(ATTRIBUTES)) {
    if (!(name in settings)) {
      if (requireAll) throw new Error(`${source}: projection attribute '${name}' is missing`);
      out[name] = attribute.default;
      continue;
    }
    out[name] = checkAttribute(name, attribute, settings[name], source);
  }
  for (const name of Object.keys(settings)) {
    if (name in ATTRIBUTES) continue;
    // Training-only attributes are accepted when they leave inference unchanged.
    if (name === 'distortion_seed' && Number.isInteger(settings[name])) continue;
    if (name === 'distortion_probability') {
      if (settings[name] === 0) continue;
      throw new Error(`${source}: distortion_probability must be 0 for inference, ` +
                      `got ${JSON.stringify(settings[name])}`);
    }
    throw new Error(`${source}: unknown projection attribute '${name}'`);
  }
  return out;
}

function checkAttribute(name, attribute, value, source) {
  const got = JSON.stringify(value);
  if (attribute.type === 'bool') {
    if (typeof value !== 'boolean') throw new Error(`${source}: '${name}' must be true or false, got ${got}`);
    return value;
  }
  if (attribute.type === 'string') {
    if (typeof value !== 'string') throw new Error(`${source}: '${name}' must be a string, got ${got}`);
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
      throw new Error(`${source}: '${name}' must be valid Unicode (it has a lone surrogate)`);
    }
    return value;
  }
  const range = attribute.max === undefined ? `>= ${attribute.min}` : `in [${attribute.min}, ${attribute.max}]`;
  if (!Number.isInteger(value) || value < attribute.min ||
      (attribute.max !== undefined && value > attribute.max)) {
    throw new Error(`${source}: '${name}' must be an integer ${range}, got ${got}`);
  }
  return value;
}

// ---------------------------------------------------------------------------
// 64-bit arithmetic on (hi, lo) pairs of unsigned 32-bit halves
// ---------------------------------------------------------------------------

// Results of the 64-bit helpers, to allocate nothing per hash.
let RHI = 0;
let RLO = 0;

// High 32 bits of the 64-bit product of unsigned 32-bit a and b, from 16-bit
// halves so that no partial product loses bits in a double.
function mulHigh32(a, b) {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

// The splitmix64 finalizer (section 5): returns the low half, leaves the high
// half in RHI. Section 6 runs it once per 32 features of every key: with
// locals and a single store to RHI, the projection takes ~15% less time than
// with the result passed in two module variables.
function mix64(hi, lo) {
  lo = (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0;
  hi = (hi ^ (hi >>> 30)) >>> 0;
  // (hi, lo) *= 0xBF58476D1CE4E5B9
  let productHi = (mulHigh32(lo, 0x1ce4e5b9) + Math.imul(hi, 0x1ce4e5b9) + Math.imul(lo, 0xbf58476d)) >>> 0;
  let productLo = Math.imul(lo, 0x1ce4e5b9) >>> 0;
  lo = (productLo ^ ((productLo >>> 27) | (productHi << 5))) >>> 0;
  hi = (productHi ^ (productHi >>> 27)) >>> 0;
  // (hi, lo) *= 0x94D049BB133111EB
  productHi = (mulHigh32(lo, 0x133111eb) + Math.imul(hi, 0x133111eb) + Math.imul(lo, 0x94d049bb)) >>> 0;
  productLo = Math.imul(lo, 0x133111eb) >>> 0;
  RHI = (productHi ^ (productHi >>> 31)) >>> 0;
  return (productLo ^ ((productLo >>> 31) | (productHi << 1))) >>> 0;
}

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME_LOW = 0x1b3;  // 0x100000001B3 = 2^40 + 0x1B3

const DOMAIN_TOKEN = 1;
const DOMAIN_NGRAM = 2;
const DOMAIN_BOS = 3;
const DOMAIN_EOS = 4;

function split64(value) {
  return [Number((value >> 32n) & 0xffffffffn), Number(value & 0xffffffffn)];
}

// fnv1a64's start value per domain, h = OFFSET ^ (domain * GOLDEN), as [hi, lo].
const FNV_START = [0, 1, 2, 3, 4].map((d) => split64((FNV_OFFSET ^ (BigInt(d) * GOLDEN)) & MASK64));

// (j + 1) * GOLDEN for feature word j (section 6), up to the largest feature_size.
const MAX_WORDS = ATTRIBUTES.feature_size.max / 32;
const STEP_HI = new Uint32Array(MAX_WORDS);
const STEP_LO = new Uint32Array(MAX_WORDS);
for (let j = 0; j < MAX_WORDS; ++j) {
  [STEP_HI[j], STEP_LO[j]] = split64((BigInt(j + 1) * GOLDEN) & MASK64);
}

// FNV-1a state, updated by fnvByte.
let FHI = 0;
let FLO = 0;

function fnvByte(b) {
  const lo = (FLO ^ b) >>> 0;
  // (hi, lo) * (2^40 + 0x1B3): the 2^40 term adds lo << 8 to the high half.
  const low = lo * FNV_PRIME_LOW;  // < 2^41: exact in a double
  FHI = (Math.imul(FHI, FNV_PRIME_LOW) + Math.floor(low / 4294967296) + (lo << 8)) >>> 0;
  FLO = low >>> 0;
}

// Feeds the UTF-8 encoding of code point c.
function fnvCodePoint(c) {
  if (c < 0x80) {
    fnvByte(c);
  } else if (c < 0x800) {
    fnvByte(0xc0 | (c >>> 6));
    fnvByte(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    fnvByte(0xe0 | (c >>> 12));
    fnvByte(0x80 | ((c >>> 6) & 0x3f));
    fnvByte(0x80 | (c & 0x3f));
  } else {
    fnvByte(0xf0 | (c >>> 18));
    fnvByte(0x80 | ((c >>> 12) & 0x3f));
    fnvByte(0x80 | ((c >>> 6) & 0x3f));
    fnvByte(0x80 | (c & 0x3f));
  }
}

// key = mix64(fnv1a64(utf8(cps[start..end)), domain)) -> (RHI, RLO).
function hashCodePoints(cps, start, end, domain) {
  const start64 = FNV_START[domain];
  FHI = start64[0];
  FLO = start64[1];
  for (let i = start; i < end; ++i) fnvCodePoint(cps[i]);
  RLO = mix64(FHI, FLO);
}

/**
 * The 64-bit key of a token (section 5) as a 16-digit hex string, for tests
 * against the golden vectors.
 * @param {ArrayLike<number>} codePoints the token's code points.
 * @param {number} domain 1 token, 2 n-gram, 3 BOS, 4 EOS.
 */
export function tokenKeyHex(codePoints, domain) {
  hashCodePoints(codePoints, 0, codePoints.length, domain);
  return RHI.toString(16).padStart(8, '0') + RLO.toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------
// Tables of section 6
// ---------------------------------------------------------------------------

// Two bits t -> feature: 0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0.
const TERNARY = new Float32Array([0, 1, -1, 0]);

// For each byte of a hash word, its four features plus one, packed in four
// 8-bit lanes (feature 4b + k in lane k). Adding these for up to
// LANE_MAX_KEYS keys sums four features at a time without a carry crossing
// lanes (each lane grows by at most 2 per key).
const BIASED_LANES = new Uint32Array(256);
for (let b = 0; b < 256; ++b) {
  let packed = 0;
  for (let k = 0; k < 4; ++k) packed |= (TERNARY[(b >>> (2 * k)) & 3] + 1) << (8 * k);
  BIASED_LANES[b] = packed >>> 0;
}
const LANE_MAX_KEYS = 127;

// ---------------------------------------------------------------------------
// Section 2: lowercasing
// ---------------------------------------------------------------------------

// The BMP part of the mapping as a direct table; astral code points search
// the few runs above U+FFFF.
const LOWER_BMP = new Uint16Array(0x10000);
const ASTRAL_RUNS = [];
for (let c = 0; c < 0x10000; ++c) LOWER_BMP[c] = c;
for (let r = 0; r < LOWERCASE_RUNS.length; r += 4) {
  const [first, last, delta, stride] = LOWERCASE_RUNS.slice(r, r + 4);
  if (first > 0xffff) {
    ASTRAL_RUNS.push([first, last, delta, stride]);
    continue;
  }
  for (let c = first; c <= last; c += stride) LOWER_BMP[c] = c + delta;
}

/** The simple lowercase mapping of one code point (section 2). */
export function lowercaseCodePoint(c) {
  if (c < 0x10000) return LOWER_BMP[c];
  for (const [first, last, delta, stride] of ASTRAL_RUNS) {
    if (c >= first && c <= last && (c - first) % stride === 0) return c + delta;
  }
  return c;
}

// ---------------------------------------------------------------------------
// Section 3: character classes
// ---------------------------------------------------------------------------

function isWhitespace(c) {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

function isUnsegmentedScript(c) {
  if (c < 0x0e00) return false;
  return c <= 0x0eff ||                     // Thai, Lao
      (c >= 0x1000 && c <= 0x109f) ||       // Myanmar
      (c >= 0x1780 && c <= 0x17ff) ||       // Khmer
      (c >= 0x3001 && c <= 0x303f) ||       // CJK punctuation
      (c >= 0x3040 && c <= 0x30ff) ||       // kana
      (c >= 0x31f0 && c <= 0x31ff) ||
      (c >= 0x3400 && c <= 0x4dbf) ||
      (c >= 0x4e00 && c <= 0x9fff) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xff66 && c <= 0xff9f) ||
      (c >= 0x20000 && c <= 0x2fa1f) ||
      (c >= 0x30000 && c <= 0x3134f);
}

// ---------------------------------------------------------------------------
// Section 1: decoding, into code points with their source offsets
// ---------------------------------------------------------------------------

// Growable scratch arrays, reused across sentences.
class Scratch {
  constructor() {
    this.resize(64);
  }

  resize(n) {
    this.codePoints = new Uint32Array(n);
    this.starts = new Uint32Array(n);
    this.ends = new Uint32Array(n);
  }

  ensure(n) {
    if (this.codePoints.length < n) this.resize(Math.max(n, 2 * this.codePoints.length));
  }
}

// Section 1 on bytes: code points, each with its [start, end) byte offsets.
// A byte that does not start a well-formed sequence (Unicode Table 3-7) becomes
// one U+FFFD and decoding goes on at the next byte. Returns the count.
function decodeUtf8(bytes, scratch) {
  const n = bytes.length;
  scratch.ensure(n);
  const {codePoints, starts, ends} = scratch;
  const cont = (j, lo, hi) => j < n && bytes[j] >= lo && bytes[j] <= hi;
  let count = 0;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i];
    let c = REPLACEMENT;
    let length = 1;
    if (b0 < 0x80) {
      c = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      if (cont(i + 1, 0x80, 0xbf)) {
        c = ((b0 & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
        length = 2;
      }
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;  // no overlong forms
      const hi = b0 === 0xed ? 0x9f : 0xbf;  // no surrogates
      if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xbf)) {
        c = ((b0 & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
        length = 3;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      const lo = b0 === 0xf0 ? 0x90 : 0x80;  // no overlong forms
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
      if (cont(i + 1, lo, hi) && cont(i + 2, 0x80, 0xbf) && cont(i + 3, 0x80, 0xbf)) {
        c = ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) |
            ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
        length = 4;
      }
    }
    codePoints[count] = c;
    starts[count] = i;
    ends[count] = i + length;
    ++count;
    i += length;
  }
  return count;
}

// The same for a UTF-16 string: offsets in code units, a lone surrogate reads
// as U+FFFD (what section 1 makes of bytes that are not UTF-8).
function decodeUtf16(text, scratch) {
  const n = text.length;
  scratch.ensure(n);
  const {codePoints, starts, ends} = scratch;
  let count = 0;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    let length = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        length = 2;
      } else {
        c = REPLACEMENT;
      }
    }
    codePoints[count] = c;
    starts[count] = i;
    ends[count] = i + length;
    ++count;
    i += length;
  }
  return count;
}

// ---------------------------------------------------------------------------
// The projector
// ---------------------------------------------------------------------------

/**
 * The projection of one sentence.
 * @typedef {object} Projection
 * @property {number} rows `sequence_length`: text tokens plus BOS / EOS.
 * @property {Float32Array} features rows * feature_size, row-major.
 * @property {Array<[number, number]>} spans [start, end) of each text token
 *     (not BOS / EOS) in the input: UTF-16 code units for `project`, bytes
 *     for `projectBytes`. A token's span runs from its first code point to
 *     its last one (code points cut by max_repeated_chars included).
 */

export class Projector {
  /**
   * @param {object} settings projection attributes (missing ones take their
   *     defaults; see normalizeSettings).
   */
  constructor(settings = {}) {
    this.settings = Object.freeze(normalizeSettings(settings));
    this.featureSize = this.settings.feature_size;
    this.separators = new Set();
    for (const char of this.settings.separators) this.separators.add(char.codePointAt(0));
    this.numWords = Math.ceil(this.featureSize / 32);
    this.scratch = new Scratch();
    // Tokens: kept code points (after lowercasing and run cutting), their
    // ends, and the source spans.
    this.tokenCodePoints = new Uint32Array(64);
    this.lanes = new Uint32Array(this.numWords * 8);
    this.sums = new Int32Array(this.numWords * 32);
  }

  /** Projects a string; spans in UTF-16 code units. @returns {Projection} */
  project(text) {
    if (typeof text !== 'string') throw new TypeError('project() takes a string');
    return this.projectDecoded(decodeUtf16(text, this.scratch));
  }

  /** Projects UTF-8 bytes (any bytes); spans in byte offsets. @returns {Projection} */
  projectBytes(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('projectBytes() takes a Uint8Array');
    return this.projectDecoded(decodeUtf8(bytes, this.scratch));
  }

  projectDecoded(count) {
    const tokens = this.tokenize(count);
    const {add_bos: addBos, add_eos: addEos} = this.settings;
    const numTokens = tokens.ends.length;
    const rows = numTokens + (addBos ? 1 : 0) + (addEos ? 1 : 0);
    const f = this.featureSize;
    const features = new Float32Array(rows * f);
    let offset = 0;
    if (addBos) {
      this.writeTernaryRow(FNV_START_KEY[DOMAIN_BOS], features, offset);
      offset += f;
    }
    let start = 0;
    for (let t = 0; t < numTokens; ++t) {
      const end = tokens.ends[t];
      if (this.settings.char_ngram_size > 0) {
        this.writeNgramRow(start, end, features, offset);
      } else {
        hashCodePoints(this.tokenCodePoints, start, end, DOMAIN_TOKEN);
        this.writeTernaryRow([RHI, RLO], features, offset);
      }
      offset += f;
      start = end;
    }
    if (addEos) this.writeTernaryRow(FNV_START_KEY[DOMAIN_EOS], features, offset);
    return {rows, features, spans: tokens.spans};
  }

  // Sections 2 and 3 over the decoded code points in this.scratch: fills
  // this.tokenCodePoints and returns the tokens' ends and source spans.
  tokenize(count) {
    const {codePoints, starts, ends: cpEnds} = this.scratch;
    const {lowercase, split_unsegmented_scripts: splitUnsegmented} = this.settings;
    const maxRun = this.settings.max_repeated_chars;
    const maxTokens = this.settings.max_tokens > 0 ? this.settings.max_tokens : Infinity;
    const checkSeparators = this.separators.size > 0;
    if (this.tokenCodePoints.length < count) this.tokenCodePoints = new Uint32Array(2 * count);
    const out = this.tokenCodePoints;
    const tokenEnds = [];
    const spans = [];
    let write = 0;
    let tokenStart = 0;
    let spanStart = 0;
    let spanEnd = 0;
    const endToken = () => {
      if (write > tokenStart) {
        tokenEnds.push(write);
        spans.push([spanStart, spanEnd]);
      }
      tokenStart = write;
    };
    for (let i = 0; i < count && tokenEnds.length < maxTokens; ++i) {
      const c = lowercase ? lowercaseCodePoint(codePoints[i]) : codePoints[i];
      if (isWhitespace(c) || (checkSeparators && this.separators.has(c))) {
        endToken();
        continue;
      }
      if (maxRun > 0 && write - tokenStart >= maxRun) {
        let runFull = true;
        for (let k = 1; k <= maxRun && runFull; ++k) runFull = out[write - k] === c;
        if (runFull) {
          spanEnd = cpEnds[i];  // a cut code point is still part of the token's text
          continue;
        }
      }
      if (splitUnsegmented && isUnsegmentedScript(c)) {
        endToken();
        if (tokenEnds.length >= maxTokens) break;
        spanStart = starts[i];
        spanEnd = cpEnds[i];
        out[write++] = c;
        endToken();
        continue;
      }
      if (write === tokenStart) spanStart = starts[i];
      spanEnd = cpEnds[i];
      out[write++] = c;
    }
    if (tokenEnds.length < maxTokens) endToken();
    return {ends: tokenEnds, spans};
  }

  // Section 6 without n-grams: the ternary vector of key [hi, lo].
  writeTernaryRow([keyHi, keyLo], features, offset) {
    const f = this.featureSize;
    for (let j = 0, base = 0; base < f; ++j, base += 32) {
      const lo = wordLow(keyHi, keyLo, j);
      const hi = RHI;
      const n = Math.min(32, f - base);
      for (let k = 0; k < n; ++k) {
        const bits = k < 16 ? lo >>> (2 * k) : hi >>> (2 * (k - 16));
        features[offset + base + k] = TERNARY[bits & 3];
      }
    }
  }

  // Section 6 with n-grams: the scaled sum of the token's vector and its
  // boundary-marked n-grams' vectors, for the token tokenCodePoints[start, end).
  writeNgramRow(start, end, features, offset) {
    const cps = this.tokenCodePoints;
    const length = end - start;
    const marked = length + 2;
    if (!this.marked || this.marked.length < marked) this.marked = new Uint32Array(2 * marked);
    const m = this.marked;
    m[0] = 0x3c;  // '<'
    for (let i = 0; i < length; ++i) m[i + 1] = cps[start + i];
    m[marked - 1] = 0x3e;  // '>'
    const window = Math.min(this.settings.char_ngram_size, marked);
    const numNgrams = marked - window + 1;

    const lanes = this.lanes;
    lanes.fill(0);
    let keysInLanes = 0;
    let flushed = false;
    const add = () => {  // adds key (RHI, RLO)
      if (keysInLanes === LANE_MAX_KEYS) {
        this.flushLanes(flushed, keysInLanes);
        flushed = true;
        keysInLanes = 0;
      }
      this.accumulate(RHI, RLO);
      ++keysInLanes;
    };
    hashCodePoints(m, 1, marked - 1, DOMAIN_TOKEN);
    add();
    for (let s = 0; s < numNgrams; ++s) {
      hashCodePoints(m, s, s + window, DOMAIN_NGRAM);
      add();
    }
    // float32(s) * (1.0f / sqrtf(float32(k))), each step rounded to float32.
    const scale = Math.fround(1 / Math.fround(Math.sqrt(1 + numNgrams)));
    const f = this.featureSize;
    const sums = this.sums;
    for (let i = 0; i < f; ++i) {
      const lane = (lanes[i >>> 2] >>> (8 * (i & 3))) & 0xff;
      const s = lane - keysInLanes + (flushed ? sums[i] : 0);
      features[offset + i] = s * scale;
    }
  }

  // Adds key's biased ternary features to the packed lanes.
  accumulate(keyHi, keyLo) {
    const lanes = this.lanes;
    for (let j = 0, p = 0; j < this.numWords; ++j, p += 8) {
      const lo = wordLow(keyHi, keyLo, j);
      const hi = RHI;
      lanes[p] += BIASED_LANES[lo & 0xff];
      lanes[p + 1] += BIASED_LANES[(lo >>> 8) & 0xff];
      lanes[p + 2] += BIASED_LANES[(lo >>> 16) & 0xff];
      lanes[p + 3] += BIASED_LANES[lo >>> 24];
      lanes[p + 4] += BIASED_LANES[hi & 0xff];
      lanes[p + 5] += BIASED_LANES[(hi >>> 8) & 0xff];
      lanes[p + 6] += BIASED_LANES[(hi >>> 16) & 0xff];
      lanes[p + 7] += BIASED_LANES[hi >>> 24];
    }
  }

  // Moves the lane sums (minus their bias) to this.sums before the lanes
  // could overflow; only tokens of more than LANE_MAX_KEYS keys get here.
  flushLanes(alreadyFlushed, keysInLanes) {
    const sums = this.sums;
    if (!alreadyFlushed) sums.fill(0);
    for (let i = 0; i < sums.length; ++i) {
      sums[i] += ((this.lanes[i >>> 2] >>> (8 * (i & 3))) & 0xff) - keysInLanes;
    }
    this.lanes.fill(0);
  }
}

// Feature word j of a key (section 6), w_j = mix64(key + (j + 1) * GOLDEN):
// returns its low half, leaves the high half in RHI.
function wordLow(keyHi, keyLo, j) {
  const sumLo = keyLo + STEP_LO[j];
  return mix64((keyHi + STEP_HI[j] + (sumLo > 0xffffffff ? 1 : 0)) >>> 0, sumLo >>> 0);
}

// BOS and EOS keys: the empty byte string in their domains.
const FNV_START_KEY = FNV_START.map(([hi, lo]) => {
  const keyLo = mix64(hi, lo);
  return [RHI, keyLo];
});

// ---------------------------------------------------------------------------
// Portable models: the zip appended to the .tflite file
// ---------------------------------------------------------------------------

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/**
 * The files of the zip archive at the end of `bytes` (how TFLite metadata
 * packs associated files). Only STORED entries are read.
 * @param {Uint8Array} bytes the whole `.tflite` file.
 * @param {string} source names the file in error messages.
 * @returns {Map<string, Uint8Array>} file name -> contents (views into bytes).
 */
export function readAppendedZip(bytes, source = 'model') {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End Of Central Directory: 22 bytes plus a comment of at most 65535.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= 0 && p >= bytes.length - 22 - 0xffff; --p) {
    if (view.getUint32(p, true) === EOCD_SIGNATURE &&
        p + 22 + view.getUint16(p + 20, true) === bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    throw new Error(`${source}: no zip archive at the end of the file (not a portable pqrnn model?)`);
  }
  const entries = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryOffset = view.getUint32(eocd + 16, true);
  // Offsets in the archive are relative to where the zip starts or to the
  // start of the file, depending on the writer: the difference shows where
  // the central directory really is.
  const directory = eocd - directorySize;
  const shift = directory - directoryOffset;
  if (directory < 0 || shift < 0) throw new Error(`${source}: the zip archive's central directory is out of bounds`);
  const files = new Map();
  let p = directory;
  for (let e = 0; e < entries; ++e) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CENTRAL_SIGNATURE) {
      throw new Error(`${source}: zip central directory entry ${e} is damaged`);
    }
    const method = view.getUint16(p + 10, true);
    const size = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const localOffset = view.getUint32(p + 42, true) + shift;
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    if (method !== 0) throw new Error(`${source}: zip entry '${name}' is compressed (method ${method}); only STORED entries are read`);
    if (localOffset + 30 > bytes.length || view.getUint32(localOffset, true) !== LOCAL_SIGNATURE) {
      throw new Error(`${source}: zip entry '${name}' has no local header where the directory says`);
    }
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) +
        view.getUint16(localOffset + 28, true);
    if (dataStart + size > bytes.length) throw new Error(`${source}: zip entry '${name}' runs past the end of the file`);
    files.set(name, bytes.subarray(dataStart, dataStart + size));
    p += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

function utf8Text(bytes, source, name) {
  try {
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  } catch {
    throw new Error(`${source}: ${name} is not valid UTF-8`);
  }
}

function readLabels(files, name, source) {
  const text = utf8Text(files.get(name), source, name);
  const labels = text.split('\n');
  if (labels[labels.length - 1] === '') labels.pop();
  if (labels.length === 0) throw new Error(`${source}: ${name} has no labels`);
  return labels;
}

/**
 * A portable model's settings and labels.
 * @typedef {object} PortableModel
 * @property {object} projection the projection settings (every attribute).
 * @property {number[]} buckets the signature lengths T, ascending.
 * @property {string[]} intentLabels
 * @property {string[] | null} slotLabels null for a model without a slot head.
 * @property {Projector} projector
 */

/**
 * Reads the settings and labels of a portable model (custom_ops/README.md,
 * "Portable models").
 * @param {Uint8Array} bytes the `.tflite` file.
 * @param {string} source names the file in error messages.
 * @returns {PortableModel}
 */
export function readPortableModel(bytes, source = 'model') {
  const files = readAppendedZip(bytes, source);
  for (const name of [SETTINGS_FILE, INTENT_LABELS_FILE]) {
    if (!files.has(name)) {
      throw new Error(`${source}: ${name} is missing from the model's zip archive ` +
                      '(a portable model is written by pqrnn-export --portable)');
    }
  }
  let settings;
  try {
    settings = JSON.parse(utf8Text(files.get(SETTINGS_FILE), source, SETTINGS_FILE));
  } catch (error) {
    throw new Error(`${source}: ${SETTINGS_FILE} is not valid JSON (${error.message})`);
  }
  const where = `${source}: ${SETTINGS_FILE}`;
  if (settings === null || typeof settings !== 'object') throw new Error(`${where} must hold a JSON object`);
  if (!('spec_version' in settings)) throw new Error(`${where}: spec_version is missing`);
  if (settings.spec_version !== SPEC_VERSION) {
    throw new Error(`${where}: spec_version ${JSON.stringify(settings.spec_version)} is not supported ` +
                    `(this projection implements spec version ${SPEC_VERSION})`);
  }
  if (!('projection' in settings)) throw new Error(`${where}: projection is missing`);
  const projection = normalizeSettings(settings.projection, {source: where, requireAll: true});
  const buckets = settings.buckets;
  if (!Array.isArray(buckets) || buckets.length === 0 ||
      !buckets.every((t, i) => Number.isInteger(t) && t > 0 && (i === 0 || t > buckets[i - 1]))) {
    throw new Error(`${where}: buckets must be a non-empty ascending list of positive integers, ` +
                    `got ${JSON.stringify(buckets)}`);
  }
  // The largest bucket must hold every sentence: max_tokens text rows plus BOS and EOS.
  const maxRows = projection.max_tokens + (projection.add_bos ? 1 : 0) + (projection.add_eos ? 1 : 0);
  if (projection.max_tokens < 1 || buckets[buckets.length - 1] < maxRows) {
    throw new Error(`${where}: the largest bucket (${buckets[buckets.length - 1]}) must hold ` +
                    `max_tokens + BOS + EOS rows, and max_tokens must be >= 1 ` +
                    `(max_tokens ${projection.max_tokens})`);
  }
  return {
    projection,
    buckets,
    intentLabels: readLabels(files, INTENT_LABELS_FILE, source),
    slotLabels: files.has(SLOT_LABELS_FILE) ? readLabels(files, SLOT_LABELS_FILE, source) : null,
    projector: new Projector(projection),
  };
}

// ---------------------------------------------------------------------------
// Buckets and decoding
// ---------------------------------------------------------------------------

/**
 * The model input for a projection: the smallest bucket T >= rows, features
 * zero-padded to [1, T, feature_size] and sequence_length [1].
 * @param {Projection} projection
 * @param {number[]} buckets ascending.
 * @param {number} featureSize
 * @returns {{bucket: number, features: Float32Array, sequenceLength: Int32Array}}
 */
export function padToBucket(projection, buckets, featureSize) {
  const bucket = buckets.find((t) => t >= projection.rows);
  if (bucket === undefined) {
    throw new Error(`the text has ${projection.rows} rows, more than the model's largest bucket ` +
                    `(${buckets[buckets.length - 1]})`);
  }
  const features = new Float32Array(bucket * featureSize);
  features.set(projection.features);
  return {bucket, features, sequenceLength: Int32Array.of(projection.rows)};
}

// "B-city" -> ["B", "city"]; "O" -> ["O", ""] (pqrnn_tf/metrics.py _split_tag).
function splitTag(tag) {
  if (tag === 'O') return ['O', ''];
  if (typeof tag !== 'string' || tag.length < 3 || !'BIES'.includes(tag[0]) || tag[1] !== '-') {
    throw new Error(`invalid slot tag ${JSON.stringify(tag)}: expected 'O' or B-/I-/E-/S-<type>`);
  }
  return [tag[0], tag.slice(2)];
}

function endOfChunk(prevPrefix, prefix, prevType, type) {
  if (prevPrefix === 'E' || prevPrefix === 'S') return true;
  if ((prevPrefix === 'B' || prevPrefix === 'I') && (prefix === 'B' || prefix === 'S' || prefix === 'O')) return true;
  return prevPrefix !== 'O' && prevType !== type;
}

function startOfChunk(prevPrefix, prefix, prevType, type) {
  if (prefix === 'B' || prefix === 'S') return true;
  if ((prevPrefix === 'E' || prevPrefix === 'S' || prevPrefix === 'O') && (prefix === 'E' || prefix === 'I')) return true;
  return prefix !== 'O' && prevType !== type;
}

/**
 * Chunks [type, first, last] (last inclusive) of a tag sequence, conlleval
 * rules, as pqrnn_tf/metrics.py get_chunks.
 * @param {string[]} tags
 * @returns {Array<[string, number, number]>}
 */
export function getChunks(tags) {
  const chunks = [];
  let prevPrefix = 'O';
  let prevType = '';
  let begin = 0;
  const closed = [...tags, 'O'];  // the trailing "O" closes an open chunk
  for (let i = 0; i < closed.length; ++i) {
    const [prefix, type] = splitTag(closed[i]);
    if (endOfChunk(prevPrefix, prefix, prevType, type)) chunks.push([prevType, begin, i - 1]);
    if (startOfChunk(prevPrefix, prefix, prevType, type)) begin = i;
    prevPrefix = prefix;
    prevType = type;
  }
  return chunks;
}

// Index of the largest value; the first one on ties (as numpy's argmax).
function argmax(values, start, end) {
  let best = start;
  for (let i = start + 1; i < end; ++i) if (values[i] > values[best]) best = i;
  return best - start;
}

/**
 * A model's outputs as a prediction.
 * @param {object} outputs
 * @param {Float32Array} outputs.intentProbs [intents].
 * @param {Float32Array | null} outputs.slotProbs [T * tags], or null.
 * @param {Projection} outputs.projection the projection that was run.
 * @param {PortableModel} model labels and add_bos.
 * @param {number} topK how many intents `topK` lists.
 * @returns {{intent: string, intentProbability: number,
 *     topK: Array<{label: string, probability: number}>,
 *     tokens: Array<{start: number, end: number, tag: string | null}>,
 *     slots: Array<{type: string, start: number, end: number}>}}
 */
export function decodePrediction({intentProbs, slotProbs, projection}, model, topK = 3) {
  const {intentLabels, slotLabels} = model;
  if (intentProbs.length !== intentLabels.length) {
    throw new Error(`the model outputs ${intentProbs.length} intent probabilities for ${intentLabels.length} labels`);
  }
  // Stable: equal probabilities keep the label order.
  const order = [...intentProbs.keys()].sort((a, b) => intentProbs[b] - intentProbs[a] || a - b);
  const best = argmax(intentProbs, 0, intentProbs.length);
  const ranked = order.slice(0, Math.max(topK, 0))
      .map((i) => ({label: intentLabels[i], probability: intentProbs[i]}));
  const tokens = projection.spans.map(([start, end]) => ({start, end, tag: null}));
  const slots = [];
  if (slotProbs && slotLabels) {
    const numTags = slotLabels.length;
    const firstRow = model.projection.add_bos ? 1 : 0;  // the BOS row tags no text
    if (slotProbs.length % numTags !== 0 || slotProbs.length / numTags < projection.rows) {
      throw new Error(`the model outputs ${slotProbs.length} slot probabilities, not ` +
                      `${projection.rows} or more rows of ${numTags} labels`);
    }
    tokens.forEach((token, t) => {
      const row = (firstRow + t) * numTags;
      token.tag = slotLabels[argmax(slotProbs, row, row + numTags)];
    });
    for (const [type, first, last] of getChunks(tokens.map((t) => t.tag))) {
      slots.push({type, start: tokens[first].start, end: tokens[last].end});
    }
  }
  return {intent: intentLabels[best], intentProbability: intentProbs[best], topK: ranked, tokens, slots};
}
