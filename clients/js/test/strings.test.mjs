// The string API: UTF-16 input, lone surrogates, spans in code units.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {Projector, lowercaseCodePoint} from '../projection.js';

const encoder = new TextEncoder();

test('a lone surrogate reads as U+FFFD, like a byte that is not UTF-8', () => {
  const projector = new Projector({feature_size: 64, char_ngram_size: 3});
  for (const [text, bytes] of [
    ['a\uD800b', Uint8Array.of(0x61, 0xff, 0x62)],
    ['\uDC00', Uint8Array.of(0x80)],
    ['x \uDBFF', Uint8Array.of(0x78, 0x20, 0xc3)],  // high surrogate at the end
    ['\uDC00\uD800', Uint8Array.of(0xed, 0xa0)],  // reversed pair: two replacements
  ]) {
    const fromString = projector.project(text);
    const fromBytes = projector.projectBytes(bytes);
    assert.deepEqual(fromString.features, fromBytes.features, JSON.stringify(text));
    assert.deepEqual(fromString.features, projector.project(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD')).features);
  }
  // A well-formed pair is one code point, not two replacements.
  assert.notDeepEqual(projector.project('\uD83C\uDF55').features, projector.project('\uFFFD\uFFFD').features);
});

test('spans are UTF-16 code units for strings and bytes for bytes, astral characters included', () => {
  const projector = new Projector({feature_size: 8, split_unsegmented_scripts: true});
  const text = '🍕 pizza 𠀀x 我们\u3000𐐀BC';  // U+20000 is a one-character token
  const {spans} = projector.project(text);
  const pieces = spans.map(([s, e]) => text.slice(s, e));
  assert.deepEqual(pieces, ['🍕', 'pizza', '𠀀', 'x', '我', '们', '𐐀BC']);
  const bytes = encoder.encode(text);
  const byteSpans = projector.projectBytes(bytes).spans;
  const decoder = new TextDecoder();
  assert.deepEqual(byteSpans.map(([s, e]) => decoder.decode(bytes.subarray(s, e))), pieces);
  assert.deepEqual(byteSpans[0], [0, 4]);
  assert.deepEqual(spans[0], [0, 2]);
});

test('spans cover code points cut by max_repeated_chars, and stop at max_tokens', () => {
  const projector = new Projector({feature_size: 8, max_repeated_chars: 2, max_tokens: 2});
  const {rows, spans} = projector.project('soooo  good!!!!  third');
  assert.equal(rows, 2);
  assert.deepEqual(spans, [[0, 5], [7, 15]]);
  // The features are those of the cut tokens.
  assert.deepEqual(projector.project('soooo good!!!!').features, projector.project('soo good!!').features);
});

test('separators and whitespace split; BOS and EOS rows get no span', () => {
  const projector = new Projector({feature_size: 8, separators: '-,', add_bos: true, add_eos: true});
  const {rows, spans} = projector.project('\u00a0New-York,\u2028 NY ');
  assert.equal(rows, 5);
  assert.deepEqual(spans, [[1, 4], [5, 9], [12, 14]]);
  assert.deepEqual(projector.project('').spans, []);
  assert.equal(projector.project('').rows, 2);
});

test('lowercasing is the simple mapping, code point by code point', () => {
  // Final sigma has no context, dotted capital I maps to plain i, titlecase
  // digraphs map to their lowercase, sharp s and ligatures stay (their full
  // mappings have more than one code point).
  assert.equal(lowercaseCodePoint(0x03a3), 0x03c3);
  assert.equal(lowercaseCodePoint(0x0130), 0x69);
  assert.equal(lowercaseCodePoint(0x01c5), 0x01c6);
  assert.equal(lowercaseCodePoint(0x1e9e), 0xdf);
  assert.equal(lowercaseCodePoint(0xdf), 0xdf);
  assert.equal(lowercaseCodePoint(0xfb00), 0xfb00);
  assert.equal(lowercaseCodePoint(0x10400), 0x10428);  // Deseret
  assert.equal(lowercaseCodePoint(0x1e921), 0x1e943);  // Adlam, the last run
  assert.equal(lowercaseCodePoint(0x1e922), 0x1e922);
  const projector = new Projector({feature_size: 32});
  // JavaScript's toLowerCase would make the last sigma final (U+03C2).
  assert.deepEqual(projector.project('ΟΔΥΣΣΕΥΣ').features, projector.project('οδυσσευσ').features);
  assert.notDeepEqual(projector.project('ΟΔΥΣΣΕΥΣ').features, projector.project('ΟΔΥΣΣΕΥΣ'.toLowerCase()).features);
});

test('settings are checked, with the attribute named', () => {
  assert.throws(() => new Projector({feature_size: 16385}), /'feature_size' must be an integer in \[1, 16384\], got 16385/);
  assert.throws(() => new Projector({char_ngram_size: 9}), /'char_ngram_size'/);
  assert.throws(() => new Projector({max_tokens: -1}), /'max_tokens' must be an integer >= 0/);
  assert.throws(() => new Projector({add_bos: 'yes'}), /'add_bos' must be true or false/);
  assert.throws(() => new Projector({separators: '\uD800'}), /'separators' must be valid Unicode/);
  assert.throws(() => new Projector({distortion_probability: 0.1}), /distortion_probability must be 0/);
  assert.throws(() => new Projector({colour: 1}), /unknown projection attribute 'colour'/);
  assert.equal(new Projector({distortion_probability: 0, distortion_seed: 7}).featureSize, 512);
});
