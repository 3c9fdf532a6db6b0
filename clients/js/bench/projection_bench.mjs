// Microseconds per 16-token sentence of the JavaScript projection with the
// pqrnn_base settings (node clients/js/bench/projection_bench.mjs). The demo
// page imports the same sentences and timer for its measurement in a browser.
import {Projector} from '../projection.js';

/** The projection settings of the pqrnn_base preset. */
export const PQRNN_BASE = Object.freeze({
  feature_size: 512, char_ngram_size: 3, max_tokens: 512, split_unsegmented_scripts: false,
});

/** Sixteen-token ATIS-like sentences. */
export const SENTENCES_16 = Object.freeze([
  'i would like to book a flight from boston to denver on monday morning please thanks',
  'show me all the cheapest round trip fares from pittsburgh to atlanta for next tuesday evening',
  'which flights leave from baltimore to dallas fort worth before noon on the twenty first please',
  'list the american airlines flights from new york to los angeles that serve breakfast today please',
]);

/**
 * Median over rounds of the microseconds per call of `fn`; a round calls it
 * `repeat` times on each sentence (browsers blur performance.now() to as
 * much as 0.1 ms, so a round must last much longer than that).
 * @param {(text: string) => unknown} fn
 * @param {string[]} sentences
 * @param {number} rounds
 * @param {number} repeat
 */
export function medianMicroseconds(fn, sentences, rounds = 100, repeat = 25) {
  for (let i = 0; i < 400; ++i) fn(sentences[i % sentences.length]);  // warm up the JIT
  const times = [];
  for (let r = 0; r < rounds; ++r) {
    const start = performance.now();
    for (let k = 0; k < repeat; ++k) for (const text of sentences) fn(text);
    times.push(((performance.now() - start) * 1000) / (repeat * sentences.length));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

if (typeof process !== 'undefined' && import.meta.url === `file://${process.argv[1]}`) {
  const projector = new Projector(PQRNN_BASE);
  for (const text of SENTENCES_16) {
    const rows = projector.project(text).rows;
    if (rows !== 16) throw new Error(`expected 16 tokens, got ${rows}: ${text}`);
  }
  const us = medianMicroseconds((text) => projector.project(text), SENTENCES_16);
  console.log(`projection, pqrnn_base settings: ${us.toFixed(1)} us per 16-token sentence ` +
              `(median of 100 rounds of 100 sentences, node ${process.version})`);
}
