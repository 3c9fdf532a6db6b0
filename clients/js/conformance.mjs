#!/usr/bin/env node
// The conformance command of the JavaScript projection (custom_ops/README.md,
// "Conformance: one contract for every implementation"):
//
//   node clients/js/conformance.mjs SETTINGS.json < texts
//
// SETTINGS.json is a `projection` object (missing keys take their defaults).
// Each stdin line (split on the byte \n only, its bytes exactly) gives one
// JSON line {"rows": N, "features": "<base64 LE float32>", "spans": [[s, e], ...]}
// with byte-offset spans, formatted as Python's json.dumps does by default.

import {readFileSync} from 'node:fs';
import {basename} from 'node:path';

import {Projector} from './projection.js';

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function fail(message) {
  process.stderr.write(`${basename(process.argv[1])}: ${message}\n`);
  process.exit(2);
}

function loadProjector(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read settings file ${path} (${error.code || error.message})`);
  }
  let settings;
  try {
    settings = JSON.parse(text);
  } catch (error) {
    fail(`${path}: not valid JSON (${error.message})`);
  }
  try {
    return new Projector(settings);
  } catch (error) {
    fail(error.message.startsWith('settings:') ? `${path}${error.message.slice(8)}` : `${path}: ${error.message}`);
  }
}

function featuresBase64(features) {
  const bytes = Buffer.from(features.buffer, features.byteOffset, features.byteLength);
  if (!LITTLE_ENDIAN) bytes.swap32();
  return bytes.toString('base64');
}

// One output line; the separators are json.dumps' defaults (", " and ": ").
function resultLine({rows, features, spans}) {
  const spanText = spans.map(([start, end]) => `[${start}, ${end}]`).join(', ');
  return `{"rows": ${rows}, "features": "${featuresBase64(features)}", "spans": [${spanText}]}\n`;
}

// The lines of stdin: split on \n only; a last line without \n counts.
function* lines(data) {
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    if (end < 0) end = data.length;
    yield data.subarray(start, end);
    start = end + 1;
  }
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0].startsWith('-')) {
    fail('usage: node clients/js/conformance.mjs SETTINGS.json < texts');
  }
  const projector = loadProjector(args[0]);
  // Read as a stream: readFileSync(0) can fail with EAGAIN on a non-blocking stdin.
  const pieces = [];
  for await (const piece of process.stdin) pieces.push(piece);
  const input = Buffer.concat(pieces);
  // Written in pieces of about 1 MB, waiting for the reader when the pipe is full.
  let chunks = [];
  let pending = 0;
  const flush = async () => {
    if (!process.stdout.write(chunks.join(''))) {
      await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
    chunks = [];
    pending = 0;
  };
  for (const line of lines(input)) {
    const text = resultLine(projector.projectBytes(line));
    chunks.push(text);
    pending += text.length;
    if (pending > 1 << 20) await flush();
  }
  await flush();
}

await main();
