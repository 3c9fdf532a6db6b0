// Microseconds per 16-token sentence of the JavaScript projection with the
// pqrnn_base settings (node clients/js/bench/projection_bench.mjs).
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
 * Median microseconds per call of `fn` over `sentences`.
 * @param {(text: string) => unknown} fn
 * @param {string[]} sentences
 * @param {number} rounds
 */
export function medianMicroseconds(fn, sentences, rounds = 400) {
  for (let i = 0; i < 200; ++i) fn(sentences[i % sentences.length]);  // warm up the JIT
  const times = [];
  for (let r = 0; r < rounds; ++r) {
    const start = performance.now();
    for (const text of sentences) fn(text);
    times.push(((performance.now() - start) * 1000) / sentences.length);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const projector = new Projector(PQRNN_BASE);
  for (const text of SENTENCES_16) {
    const rows = projector.project(text).rows;
    if (rows !== 16) throw new Error(`expected 16 tokens, got ${rows}: ${text}`);
  }
  const us = medianMicroseconds((text) => projector.project(text), SENTENCES_16);
  console.log(`projection, pqrnn_base settings: ${us.toFixed(1)} us per 16-token sentence ` +
              `(median of 400 rounds, node ${process.version})`);
}
