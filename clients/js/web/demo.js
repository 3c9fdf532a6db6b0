// The demo page: loads a portable pQRNN model with LiteRT.js and tags what
// is typed. For tests it exposes
//   window.pqrnnPredict(text) -> {intent, intentProbability, topK, slots: [{type, start, end}]}
//     (offsets in UTF-16 code units of text, end exclusive);
//   window.pqrnnTiming(sentences, rounds) -> median milliseconds per sentence
//     of the whole prediction (projection, model run, decoding);
//   window.pqrnnProjectionMicroseconds() -> median microseconds of the
//     projection alone per 16-token sentence with the pqrnn_base settings;
//   window.pqrnnReady, a promise that settles when the model is loaded (it
//     rejects with the loading error).

import {loadAndCompile, loadLiteRt, Tensor} from '../node_modules/@litertjs/core/dist/index.js';

import {medianMicroseconds, PQRNN_BASE, SENTENCES_16} from '../bench/projection_bench.mjs';
import {decodePrediction, padToBucket, Projector, readPortableModel} from '../projection.js';

const TOP_K = 3;
const element = (id) => document.getElementById(id);

async function loadModel(url) {
  await loadLiteRt(new URL('../node_modules/@litertjs/core/wasm/', import.meta.url).href);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const model = readPortableModel(bytes, url);
  const compiled = await loadAndCompile(bytes, {accelerator: 'wasm'});
  const missing = model.buckets.filter((t) => !(`bucket_${t}` in compiled.signatures));
  if (missing.length) {
    throw new Error(`${url}: no signature bucket_${missing[0]} although pqrnn_portable.json lists bucket ${missing[0]}`);
  }
  return {model, compiled};
}

// Copies a tensor's values out of the runtime and frees it.
function take(tensor) {
  if (!tensor) return null;
  const values = Float32Array.from(tensor.toTypedArray());
  tensor.delete();
  return values;
}

async function predict({model, compiled}, text) {
  const projection = model.projector.project(text);
  const {bucket, features, sequenceLength} = padToBucket(projection, model.buckets, model.projection.feature_size);
  const inputs = {
    features: new Tensor(features, [1, bucket, model.projection.feature_size]),
    sequence_length: new Tensor(sequenceLength, [1]),
  };
  let outputs;
  try {
    outputs = await compiled.run(`bucket_${bucket}`, inputs);
  } finally {
    inputs.features.delete();
    inputs.sequence_length.delete();
  }
  const intentProbs = take(outputs.intent_probs);
  const slotProbs = take(outputs.slot_probs);
  if (!intentProbs) throw new Error(`signature bucket_${bucket} has no output intent_probs`);
  return decodePrediction({intentProbs, slotProbs, projection}, model, TOP_K);
}

// A stable colour per slot type.
function typeColour(type) {
  let h = 0;
  for (const char of type) h = (Math.imul(h, 31) + char.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 85% 88%)`;
}

function render(text, prediction) {
  element('result').hidden = false;
  element('intent').textContent = prediction.intent;
  const top = element('top');
  top.replaceChildren(...prediction.topK.map(({label, probability}) => {
    const row = document.createElement('div');
    row.className = 'bar-row';
    const name = document.createElement('span');
    name.textContent = label;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = `${(100 * probability).toFixed(1)}%`;
    bar.append(fill);
    const p = document.createElement('span');
    p.className = 'p';
    p.textContent = probability.toFixed(3);
    row.append(name, bar, p);
    return row;
  }));

  const tagged = element('tagged');
  element('slots-card').hidden = !prediction.hasSlotHead;
  const pieces = [];
  let at = 0;
  for (const slot of prediction.slots) {
    if (slot.start > at) pieces.push(document.createTextNode(text.slice(at, slot.start)));
    const mark = document.createElement('mark');
    mark.style.background = typeColour(slot.type);
    mark.dataset.type = slot.type;
    const label = document.createElement('span');
    label.className = 'type';
    label.textContent = slot.type;
    const value = document.createElement('span');
    value.textContent = text.slice(slot.start, slot.end);
    mark.append(value, label);
    pieces.push(mark);
    at = slot.end;
  }
  if (at < text.length) pieces.push(document.createTextNode(text.slice(at)));
  if (!prediction.slots.length) {
    const none = document.createElement('span');
    none.className = 'empty';
    none.textContent = text.trim() ? 'no slots' : 'type a sentence';
    pieces.push(document.createTextNode(' '), none);
  }
  tagged.replaceChildren(...pieces);
}

function showError(error) {
  element('error').hidden = false;
  element('error').textContent = error.message;
  element('status').textContent = 'The model could not be loaded.';
}

async function main() {
  const url = new URLSearchParams(location.search).get('model') || 'model.tflite';
  const loaded = await loadModel(url);
  const {model} = loaded;
  const hasSlotHead = model.slotLabels !== null;

  window.pqrnnPredict = async (text) => {
    const prediction = await predict(loaded, text);
    return {
      intent: prediction.intent,
      intentProbability: prediction.intentProbability,
      topK: prediction.topK,
      slots: prediction.slots,
    };
  };
  window.pqrnnTiming = async (sentences, rounds = 10) => {
    for (const text of sentences) await predict(loaded, text);  // warm up
    // Browsers blur performance.now() (to 0.1 ms without cross-origin
    // isolation), so each time is that of REPEAT runs of one sentence.
    const REPEAT = 10;
    const times = [];
    for (let r = 0; r < rounds; ++r) {
      for (const text of sentences) {
        const start = performance.now();
        for (let k = 0; k < REPEAT; ++k) await predict(loaded, text);
        times.push((performance.now() - start) / REPEAT);
      }
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  };
  window.pqrnnProjectionMicroseconds = () => {
    const projector = new Projector(PQRNN_BASE);
    return medianMicroseconds((text) => projector.project(text), SENTENCES_16);
  };

  const input = element('text');
  let latest = 0;
  const update = async () => {
    const call = ++latest;
    const text = input.value;
    const start = performance.now();
    const prediction = await predict(loaded, text);
    const ms = performance.now() - start;
    if (call !== latest) return;  // a newer keystroke has its own answer
    render(text, {...prediction, hasSlotHead});
    element('status').textContent = `${url}: ${model.intentLabels.length} intents` +
        (hasSlotHead ? `, ${model.slotLabels.length} slot tags` : '') +
        `, buckets ${model.buckets.join(' / ')}. This sentence: ${ms.toFixed(2)} ms.`;
  };
  input.addEventListener('input', () => update().catch(showError));
  input.disabled = false;
  await update();
}

window.pqrnnReady = main();
window.pqrnnReady.catch(showError);
