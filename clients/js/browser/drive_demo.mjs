#!/usr/bin/env node
// Drives the demo page (web/index.html) in headless Chromium with
// playwright-core, for tests/test_browser_demo.py:
//
//   node clients/js/browser/drive_demo.mjs --page URL --sentences FILE.json \
//       [--screenshot OUT.png --screenshot_text TEXT] [--chromium /usr/bin/chromium]
//
// FILE.json is a list of strings. Prints one JSON object: {"predictions":
// [{intent, slots: [{type, start, end}]}, ...], "end_to_end_ms": median per
// 16-token sentence, "projection_us": median of the projection alone per
// 16-token sentence (pqrnn_base settings), "chromium": version}.

import {readFileSync} from 'node:fs';
import {basename} from 'node:path';
import {parseArgs} from 'node:util';

import {chromium} from 'playwright-core';

import {SENTENCES_16} from '../bench/projection_bench.mjs';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                       '--disable-component-update'];

function fail(message) {
  process.stderr.write(`${basename(process.argv[1])}: ${message}\n`);
  process.exit(2);
}

async function main() {
  let options;
  try {
    ({values: options} = parseArgs({options: {
      page: {type: 'string'},
      sentences: {type: 'string'},
      screenshot: {type: 'string'},
      screenshot_text: {type: 'string'},
      chromium: {type: 'string', default: '/usr/bin/chromium'},
      timing_rounds: {type: 'string', default: '10'},
    }}));
  } catch (error) {
    fail(error.message);
  }
  if (!options.page || !options.sentences) fail('--page and --sentences are required');
  let sentences;
  try {
    sentences = JSON.parse(readFileSync(options.sentences, 'utf8'));
  } catch (error) {
    fail(`--sentences ${options.sentences}: ${error.message}`);
  }
  if (!Array.isArray(sentences) || !sentences.every((s) => typeof s === 'string')) {
    fail(`--sentences ${options.sentences}: must hold a JSON list of strings`);
  }

  const browser = await chromium.launch({executablePath: options.chromium, args: CHROMIUM_ARGS});
  try {
    const page = await browser.newPage({viewport: {width: 900, height: 640}});
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // LiteRT.js logs its INFO lines as console errors: failed requests and
    // uncaught exceptions are what tell of a broken page.
    page.on('response', (response) => {
      if (response.status() >= 400) pageErrors.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    await page.goto(options.page);
    await page.waitForFunction(() => window.pqrnnReady !== undefined);
    const loadError = await page.evaluate(() => window.pqrnnReady.then(() => null, (e) => e.message));
    if (loadError) throw new Error(`the page could not load its model: ${loadError}`);

    const predictions = await page.evaluate(async (texts) => {
      const out = [];
      for (const text of texts) out.push(await window.pqrnnPredict(text));
      return out;
    }, sentences);
    const endToEndMs = await page.evaluate(([texts, rounds]) => window.pqrnnTiming(texts, rounds),
                                           [SENTENCES_16, Number(options.timing_rounds)]);
    const projectionUs = await page.evaluate(() => window.pqrnnProjectionMicroseconds());

    if (options.screenshot) {
      await page.fill('#text', options.screenshot_text || sentences[0] || '');
      await page.waitForFunction((text) => document.querySelector('#intent').textContent !== '' &&
                                     document.querySelector('#tagged').textContent.includes(text.split(' ').pop()),
                                 options.screenshot_text || sentences[0] || '');
      await page.screenshot({path: options.screenshot, fullPage: true});
    }
    if (pageErrors.length) throw new Error(`the page reported errors: ${pageErrors.join(' | ')}`);
    process.stdout.write(JSON.stringify({
      predictions, end_to_end_ms: endToEndMs, projection_us: projectionUs, chromium: browser.version(),
    }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((error) => fail(error.message.split('\n')[0]));
