// The JavaScript projection against tests/golden_projection.json.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';

import {Projector, tokenKeyHex} from '../projection.js';

const golden = JSON.parse(readFileSync(new URL('../../../tests/golden_projection.json', import.meta.url)));

// Distortion is training-only: app-side projections do not implement it.
const SETTINGS = Object.entries(golden.settings).filter(([, s]) => !('distortion_probability' in s));

function expectedRow(row, featureSize) {
  const out = new Float32Array(featureSize);
  if (row.values) {
    for (const [i, value] of row.values) out[i] = Math.fround(Number(value));
  } else {
    for (const i of row.plus) out[i] = 1;
    for (const i of row.minus) out[i] = -1;
  }
  return out;
}

test('the golden vectors have the settings this test reads', () => {
  assert.deepEqual(SETTINGS.map(([name]) => name), ['defaults', 'bos_eos_max3', 'char_ngram3']);
  assert.equal(golden.cases.length >= 10, true);
});

for (const [name, settings] of SETTINGS) {
  test(`golden vectors, setting ${name}`, () => {
    const projector = new Projector({...settings, feature_size: golden.feature_size});
    for (const golden_case of golden.cases) {
      const bytes = Uint8Array.from(Buffer.from(golden_case.input_hex, 'hex'));
      const expected = golden_case.results[name];
      const got = projector.projectBytes(bytes);
      const where = `${golden_case.name} / ${name}`;
      assert.equal(got.rows, expected.sequence_length, where);
      assert.equal(got.features.length, got.rows * golden.feature_size, where);
      expected.rows.forEach((row, r) => {
        const actual = got.features.subarray(r * golden.feature_size, (r + 1) * golden.feature_size);
        assert.deepEqual(Array.from(actual), Array.from(expectedRow(row, golden.feature_size)),
                         `${where} row ${r} (${row.token})`);
        if (row.token !== '<BOS>' && row.token !== '<EOS>') {
          const codePoints = Array.from(row.token, (c) => c.codePointAt(0));
          assert.equal(`0x${tokenKeyHex(codePoints, 1)}`, row.key, `${where} key of ${row.token}`);
        }
      });
      if (golden_case.text !== null) {
        // The string API gives the same rows as the bytes.
        assert.deepEqual(projector.project(golden_case.text).features, got.features, where);
      }
    }
  });
}
