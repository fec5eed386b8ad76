import { escapeHtml } from '../report/html.js';

export interface WebPageOptions {
  /** File name of the source checkpoint the server offers at /data/source.ckpt. */
  sourceCheckpoint?: string;
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2433; background: #f6f7f9; }
header { padding: 14px 24px; background: #1d2433; color: #fff; }
header h1 { font-size: 19px; margin: 0; }
#status { font-size: 13px; opacity: .85; }
main { display: grid; grid-template-columns: 360px 1fr; gap: 16px; padding: 16px 24px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
label { display: block; margin: 4px 0; }
.classes { display: flex; flex-wrap: wrap; gap: 8px; }
.drop { border: 2px dashed #9aa5b8; border-radius: 6px; padding: 8px; min-width: 140px; min-height: 60px; font-size: 13px; }
.drop.over { border-color: #2f6fde; background: #eef4ff; }
button { font: inherit; padding: 5px 12px; margin: 4px 4px 4px 0; }
#chart { width: 100%; height: 220px; }
#grid { display: flex; flex-wrap: wrap; gap: 4px; }
#grid canvas { border: 3px solid; width: 56px; height: 56px; image-rendering: pixelated; }
#grid canvas.right { border-color: #2f6fde; }
#grid canvas.wrong { border-color: #d33; }
#log { font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; max-height: 160px; overflow: auto; }
.notice { background: #fff6d6; border: 1px solid #e8cf6a; padding: 6px 10px; border-radius: 6px; font-size: 13px; }
`;

/** The `tlkit web` page: controls on the left, the live chart, prediction grid and downloads on the right (logic in app.js). */
export function renderWebPage(options: WebPageOptions = {}): string {
  const source = options.sourceCheckpoint
    ? `<label><input type="radio" name="backbone" value="source" checked> the demo's source checkpoint (${escapeHtml(options.sourceCheckpoint)})</label>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tlkit web: transfer learning in the browser</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<header><h1>tlkit web: transfer learning in the browser</h1><div id="status">loading onnxruntime-web...</div></header>
<main>
<div>
<section><h2>Data</h2>
<label><input type="radio" name="data" value="fashion" checked> shipped Fashion-MNIST target task (5 classes, 10 labelled images each)</label>
<label><input type="radio" name="data" value="mine"> my images: drop them into classes</label>
<div id="mine" hidden><div class="classes" id="classes"></div><button id="add-class" type="button">add a class</button>
<label>image size <input id="size" type="number" value="64" min="16" max="224" step="8"></label></div>
</section>
<section><h2>Backbone</h2>
${source}<label><input type="radio" name="backbone" value="file"${source ? '' : ' checked'}> a .ckpt or .safetensors file <input id="weights" type="file" accept=".ckpt,.safetensors"></label>
<label><input type="radio" name="backbone" value="scratch"> random initialization</label>
<label>model <select id="model"><option>resnet18</option><option>resnet34</option><option>resnet50</option></select>
width <input id="width" type="number" value="16" min="8" max="64" step="8"></label>
</section>
<section><h2>Training</h2>
<label><input type="radio" name="strategy" value="fixed" checked> fixed features (train the new head)</label>
<label><input type="radio" name="strategy" value="finetune"> full fine-tuning</label>
<label>epochs <input id="epochs" type="number" value="60" min="1" max="500"> lr <input id="lr" type="number" value="0.05" step="0.005"></label>
<label>batch <input id="batch" type="number" value="16" min="1" max="512"> seed <input id="seed" type="number" value="1"></label>
<button id="train" type="button" disabled>train</button><button id="stop" type="button" disabled>stop</button>
</section>
</div>
<div>
<section><h2>Loss and accuracy</h2><svg id="chart" viewBox="0 0 600 220" role="img" aria-label="training loss and accuracy per epoch"></svg><div id="result"></div></section>
<section><h2>Predictions (blue: right, red: wrong)</h2><div id="grid"></div></section>
<section><h2>Model</h2><button id="download-onnx" type="button" disabled>download model.onnx</button><button id="download-ckpt" type="button" disabled>download model.ckpt</button>
<p style="font-size:13px">The checkpoint loads with <code>tlkit eval --weights model.ckpt</code>; the ONNX model runs in any ONNX Runtime.</p></section>
<section><h2>Log</h2><div id="log"></div></section>
</div>
</main>
<script type="module" src="/app.js"></script>
</body></html>
`;
}
