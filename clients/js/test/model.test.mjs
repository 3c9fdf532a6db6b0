// Reading a portable model's appended zip, buckets and decoding.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {
  decodePrediction, getChunks, padToBucket, Projector, readAppendedZip, readPortableModel,
} from '../projection.js';

const encoder = new TextEncoder();

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; ++k) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * `prefix` followed by a zip of `files` (name -> string), entries STORED.
 * `absoluteOffsets`: offsets count from the start of the whole file (as when
 * a zip is appended in place) instead of from the start of the zip.
 */
function withZip(prefix, files, {absoluteOffsets = false, method = 0, comment = ''} = {}) {
  const parts = [prefix];
  const directory = [];
  let offset = prefix.length;
  const base = absoluteOffsets ? 0 : prefix.length;
  for (const [name, text] of Object.entries(files)) {
    const nameBytes = encoder.encode(name);
    const data = encoder.encode(text);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc32(data), true);
    local.setUint32(18, data.length, true);
    local.setUint32(22, data.length, true);
    local.setUint16(26, nameBytes.length, true);
    const central = new DataView(new ArrayBuffer(46));
    central.setUint32(0, 0x02014b50, true);
    central.setUint16(10, method, true);
    central.setUint32(16, crc32(data), true);
    central.setUint32(20, data.length, true);
    central.setUint32(24, data.length, true);
    central.setUint16(28, nameBytes.length, true);
    central.setUint32(42, offset - base, true);
    directory.push(new Uint8Array(central.buffer), nameBytes);
    parts.push(new Uint8Array(local.buffer), nameBytes, data);
    offset += 30 + nameBytes.length + data.length;
  }
  const directorySize = directory.reduce((n, p) => n + p.length, 0);
  const commentBytes = encoder.encode(comment);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, Object.keys(files).length, true);
  end.setUint16(10, Object.keys(files).length, true);
  end.setUint32(12, directorySize, true);
  end.setUint32(16, offset - base, true);
  end.setUint16(20, commentBytes.length, true);
  const all = [...parts, ...directory, new Uint8Array(end.buffer), commentBytes];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of all) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

// Stands in for the flatbuffer: any bytes, including ones that look like zip
// signatures, must not confuse the reader.
const FAKE_TFLITE = Uint8Array.from({length: 300}, (_, i) => (i % 7 === 0 ? 0x50 : (i * 31) & 0xff));

const PROJECTION = {
  feature_size: 16, max_tokens: 6, lowercase: true, separators: '',
  split_unsegmented_scripts: false, max_repeated_chars: 0, add_bos: true, add_eos: false,
  char_ngram_size: 3,
};

function modelFiles(overrides = {}) {
  return {
    'pqrnn_portable.json': JSON.stringify({spec_version: 1, projection: PROJECTION, buckets: [4, 8]}),
    'intent_labels.txt': 'flight\nairfare\nground_service\n',
    'slot_labels.txt': 'O\nB-fromloc.city_name\nI-fromloc.city_name\nB-toloc.city_name\n',
    ...overrides,
  };
}

test('the zip at the end of the file is read, with either offset convention and a comment', () => {
  for (const absoluteOffsets of [false, true]) {
    const bytes = withZip(FAKE_TFLITE, {'a.txt': 'alpha', 'b/c.json': '{}'}, {absoluteOffsets, comment: 'PK\x05\x06 trap'});
    const files = readAppendedZip(bytes);
    assert.deepEqual([...files.keys()], ['a.txt', 'b/c.json']);
    assert.equal(new TextDecoder().decode(files.get('a.txt')), 'alpha');
  }
});

test('a portable model gives its settings, labels and a projector', () => {
  const model = readPortableModel(withZip(FAKE_TFLITE, modelFiles()), 'm.tflite');
  assert.deepEqual(model.projection, PROJECTION);
  assert.deepEqual(model.buckets, [4, 8]);
  assert.deepEqual(model.intentLabels, ['flight', 'airfare', 'ground_service']);
  assert.equal(model.slotLabels.length, 4);
  assert.deepEqual(model.projector.project('Hi there').features, new Projector(PROJECTION).project('hi there').features);
  const noSlots = modelFiles();
  delete noSlots['slot_labels.txt'];
  assert.equal(readPortableModel(withZip(FAKE_TFLITE, noSlots)).slotLabels, null);
});

test('bad models are refused with a one-line error naming the file', () => {
  const cases = [
    [FAKE_TFLITE, /m\.tflite: no zip archive at the end of the file/],
    [withZip(FAKE_TFLITE, modelFiles(), {method: 8}), /m\.tflite: zip entry 'pqrnn_portable\.json' is compressed \(method 8\)/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({spec_version: 2, projection: PROJECTION, buckets: [4]})})),
      /m\.tflite: pqrnn_portable\.json: spec_version 2 is not supported \(this projection implements spec version 1\)/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({projection: PROJECTION, buckets: [4]})})),
      /spec_version is missing/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({spec_version: 1, projection: {...PROJECTION, add_eos: undefined}, buckets: [4]})})),
      /m\.tflite: pqrnn_portable\.json: projection attribute 'add_eos' is missing/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({spec_version: 1, projection: PROJECTION, buckets: [8, 4]})})),
      /buckets must be a non-empty ascending list/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': '{"spec_version": 1,'})), /pqrnn_portable\.json is not valid JSON/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({spec_version: 1, projection: PROJECTION, buckets: [4, 6]})})),
      /the largest bucket \(6\) must hold max_tokens \+ BOS \+ EOS rows/],
    [withZip(FAKE_TFLITE, modelFiles({'pqrnn_portable.json': JSON.stringify({spec_version: 1, projection: {...PROJECTION, max_tokens: 0}, buckets: [4]})})),
      /max_tokens must be >= 1/],
    [withZip(FAKE_TFLITE, {'pqrnn_portable.json': modelFiles()['pqrnn_portable.json']}), /m\.tflite: intent_labels\.txt is missing/],
    [withZip(FAKE_TFLITE, {'intent_labels.txt': 'a\n'}), /m\.tflite: pqrnn_portable\.json is missing/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => readPortableModel(bytes, 'm.tflite'), (error) => {
      assert.match(error.message, message);
      assert.equal(error.message.includes('\n'), false);
      return true;
    });
  }
  // A truncated file: the directory points past the data.
  const whole = withZip(FAKE_TFLITE, modelFiles());
  const cut = Uint8Array.of(...whole.subarray(0, 100), ...whole.subarray(whole.length - 22));
  assert.throws(() => readPortableModel(cut, 'm.tflite'), /m\.tflite: /);
});

test('padding picks the smallest bucket that fits and zero-fills', () => {
  const projector = new Projector({feature_size: 4, add_bos: true});
  const projection = projector.project('one two three');
  const {bucket, features, sequenceLength} = padToBucket(projection, [2, 4, 8], 4);
  assert.equal(bucket, 4);
  assert.deepEqual(Array.from(sequenceLength), [4]);
  assert.equal(features.length, 16);
  assert.deepEqual(features.subarray(0, 16), projection.features);
  assert.equal(padToBucket(projector.project(''), [2, 4], 4).bucket, 2);
  const empty = new Projector({feature_size: 4}).project('');
  const padded = padToBucket(empty, [2], 4);
  assert.deepEqual(Array.from(padded.sequenceLength), [0]);
  assert.deepEqual(Array.from(padded.features), new Array(8).fill(0));
  assert.throws(() => padToBucket(projector.project('a b c d e f g h'), [2, 4, 8], 4),
                /the text has 9 rows, more than the model's largest bucket \(8\)/);
});

test('chunks follow the conlleval rules of pqrnn_tf/metrics.py', () => {
  assert.deepEqual(getChunks(['B-a', 'I-a', 'O', 'I-b', 'I-b', 'B-b', 'I-c']),
                   [['a', 0, 1], ['b', 3, 4], ['b', 5, 5], ['c', 6, 6]]);
  assert.deepEqual(getChunks(['S-x', 'B-y', 'E-y', 'I-y']), [['x', 0, 0], ['y', 1, 2], ['y', 3, 3]]);
  assert.deepEqual(getChunks([]), []);
  assert.throws(() => getChunks(['X-a']), /invalid slot tag "X-a"/);
});

test('decoding: intent argmax and top-k, BOS row skipped, slot spans from first to last token', () => {
  const model = readPortableModel(withZip(FAKE_TFLITE, modelFiles()));
  const text = 'from  New York to Boston';
  const projection = model.projector.project(text);
  assert.equal(projection.rows, 6);  // BOS + 5 tokens
  const bucket = 8;
  const tags = 4;
  const slotProbs = new Float32Array(bucket * tags);
  // Row 0 is BOS: tag it B-toloc to show it is not read.
  const rowTags = [3, 0, 1, 2, 0, 3, 1, 1];  // rows 6, 7 are padding
  rowTags.forEach((tag, row) => { slotProbs[row * tags + tag] = 0.9; });
  const intentProbs = Float32Array.of(0.2, 0.5, 0.5);  // a tie: the first wins
  const prediction = decodePrediction({intentProbs, slotProbs, projection}, model, 2);
  assert.equal(prediction.intent, 'airfare');
  assert.deepEqual(prediction.topK.map((k) => k.label), ['airfare', 'ground_service']);
  assert.deepEqual(prediction.tokens.map((t) => t.tag),
                   ['O', 'B-fromloc.city_name', 'I-fromloc.city_name', 'O', 'B-toloc.city_name']);
  assert.deepEqual(prediction.slots, [
    {type: 'fromloc.city_name', start: 6, end: 14},
    {type: 'toloc.city_name', start: 18, end: 24},
  ]);
  assert.equal(text.slice(6, 14), 'New York');
  assert.throws(() => decodePrediction({intentProbs: Float32Array.of(1), slotProbs, projection}, model),
                /1 intent probabilities for 3 labels/);
  assert.throws(() => decodePrediction({intentProbs, slotProbs: slotProbs.subarray(0, 5 * tags), projection}, model),
                /the model outputs 20 slot probabilities, not 6 or more rows of 4 labels/);
  assert.throws(() => decodePrediction({intentProbs, slotProbs: slotProbs.subarray(1), projection}, model),
                /the model outputs 31 slot probabilities/);
});
