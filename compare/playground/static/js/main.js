// The page: the set-up form and the address, the training controls and keys, and drawing each state.
import { FIELDS, Session, options, settingsFromUrl, writeUrl } from "./api.js";
import { Equations, fmt } from "./equations.js";
import { Graph } from "./graph.js";
import { CostChart, drawBoundary, drawUnits, sharpen } from "./plots.js";

const $ = (id) => document.getElementById(id);
const LABELS = { planar: "planar", moons: "moons", circles: "circles", blobs: "blobs",
  xor: "XOR", spiral: "spiral", breast_cancer: "breast cancer (30 features)", csv: "CSV file…" };

// window.playground: the measurement script reads `timings` (ms per update: request, render, next frame).
const page = window.playground = { session: new Session(), setup: null, state: null, playing: false, busy: false,
  ready: false, csv: null, defaults: null, depthDefaults: null, timings: [], blowupSeen: false, step: (n) => step(n) };
const equations = new Equations($("eqs").tBodies[0], $("source"), $("source-file"), $("walk-at"));
const graph = new Graph($("graph"), $("node"));
const chart = new CostChart($("chart"), $("chart-tip"));

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text;
  select.append(o);
}

function readForm() {
  const settings = {};
  for (const name of FIELDS) if (name !== "backends") settings[name] = $(name).value.trim();
  settings.backends = [...$("backends").querySelectorAll("input:checked")].map((i) => i.value).join(",");
  return settings;
}

function writeForm(settings) {
  for (const name of FIELDS) if (name !== "backends" && settings[name] !== undefined) $(name).value = settings[name];
  const chosen = String(settings.backends || "").split(",");
  for (const box of $("backends").querySelectorAll("input")) box.checked = box.disabled || chosen.includes(box.value);
  $("csv-row").hidden = $("dataset").value !== "csv";
}

// The learning rate and the initial weights where the set-up leaves them: the command line's per depth (1.2 and
// × 0.01 with one hidden layer, 0.0075 and / √n[l−1] with more), so the address names them only when changed.
const layersOf = (hidden) => String(hidden).split(",").length;
const defaultsFor = (hidden) => ({ ...page.defaults, ...page.depthDefaults[layersOf(hidden) > 1 ? "deep" : "one"] });

// A new number of hidden layers takes its depth's learning rate and initial weights where the old depth's were.
function followDepth(before, after) {
  const old = defaultsFor(before), now = defaultsFor(after);
  for (const name of ["lr", "init"]) if ($(name).value.trim() === String(old[name])) $(name).value = now[name];
}

function setReady(ready, why) {
  page.ready = ready;
  for (const id of ["step", "step10", "play", "walk-next", "walk-prev"]) $(id).disabled = !ready;
  $("reset").disabled = !page.session.id;
  if (!ready && why) banner("bad", why);
}

function banner(kind, message, action) {
  const box = $("banner");
  if (!kind) { box.hidden = true; box.className = ""; return; }
  box.className = kind;
  box.replaceChildren(document.createTextNode(message));
  if (action) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = action.label; b.addEventListener("click", action.run);
    box.append(b);
  }
  box.hidden = false;
}

function fieldError(error) {
  for (const input of document.querySelectorAll("#settings .invalid")) input.classList.remove("invalid");
  const p = $("field-error");
  p.hidden = !error;
  if (!error) return;
  p.textContent = error.message;
  if (error.field && $(error.field)) $(error.field).classList.add("invalid");
}

// Settings are sent one request at a time, the form as it is when each is sent: answers to requests
// that overlapped could arrive in any order and leave the page showing other settings than the server's.
function apply() {
  page.applyWanted = true;
  if (!page.applying) {
    page.applying = (async () => {
      while (page.applyWanted) {
        page.applyWanted = false;
        await applyNow();
      }
      page.applying = null;
    })();
  }
  return page.applying;
}

async function applyNow() {
  pause();
  setReady(false);  // no step may reach the server between the old settings and the new
  if (page.busy) await page.drained;
  if (page.setup) followDepth(page.setup.settings.hidden, $("hidden").value.trim());
  const settings = readForm();
  writeUrl(settings, defaultsFor(settings.hidden));
  $("csv-row").hidden = settings.dataset !== "csv";
  if (settings.dataset === "csv" && !page.csv) {
    setReady(false);
    fieldError({ message: "Choose a CSV file: a header row, numeric features, a 0/1 label last.", field: "csv" });
    return;
  }
  try {
    const data = await page.session.open(settings, settings.dataset === "csv" ? page.csv : null);
    fieldError(null);
    onSetup(data);
  } catch (e) {
    fieldError(e);
    setReady(false);
    if (e.status !== 400) banner("bad", e.message);
  }
}

function onSetup(data) {
  page.setup = data.setup;
  page.blowupSeen = false;
  banner(null);
  chart.clear();
  equations.setup(data.setup);
  graph.setup(data.setup.graph);
  graph.highlight(equations.current());
  describe(data.setup);
  const two = data.setup.data.n_x === 2;
  $("boundary").parentElement.hidden = !two;
  $("units-note").textContent = two ? unitsNote(data.setup) : `${data.setup.data.name} has ${data.setup.data.n_x} ` +
    "features: the heat maps need 2, so the boundary and the units are not drawn.";
  if (!two) { $("units").replaceChildren(); delete $("units").dataset.shape; }
  $("zero").hidden = !two;
  $("zero").textContent = data.setup.settings.init === "zero" ? "Random init" : "Zero init";
  setReady(true);
  render(data.state);
}

// The titles and notes that name the network: its depth, its output AL, its number of rows, the caps it is under.
function describe(setup) {
  const L = setup.layers.length + 1, rows = setup.equations.length, deep = L !== 2;
  const engines = setup.settings.backends.split(",").length;
  const hidden = deep ? `${L - 1} hidden layers (${setup.layers.map((l) => l.units).join(", ")} units)`
    : "one hidden layer";
  $("subtitle").textContent = `${hidden}, ${engines} engine${engines > 1 ? "s" : ""}, ${rows} equations`;
  $("eq-title").textContent = deep ? `The ${rows} equations, layer by layer, live` : "The ten equations, live";
  $("output-name").textContent = `A${L}`;
  $("off-path").textContent = `σ(Z${L})`;
  $("units-what").textContent = deep ? `A1 … A${L - 1}, one row per layer, over the input plane`
    : "A1 over the input plane";
  const c = setup.caps, mb = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
  $("caps").textContent = `Caps: ${c.hidden} units per hidden layer, ${c.layers} hidden layers, ${c.examples} ` +
    `examples, ${c.features} features, uploads up to ${Math.round(c.upload_bytes / 1000)} kB, ${c.steps} ` +
    `iterations a request. This set-up holds about ${mb(setup.memory)} (the command line's memory estimate, ` +
    `per backend and for the table), of the ${mb(page.memory)} all sessions may hold.`;
}

function unitsNote(setup) {
  const { init, activation } = setup.settings, L = setup.layers.length + 1;
  if (init !== "zero") {
    return `Random initialisation (${init === "sqrt" ? "randn / √n[l−1], the week-4 application's" : "× 0.01"}) ` +
      "breaks the symmetry: each unit learns a feature of its own.";
  }
  const every = L > 2 ? " in each layer" : "";
  const same = `All weights start at zero: every hidden unit${every} computes the same function and gets the same ` +
    "gradient, so they stay identical however long you train — the symmetry random initialisation breaks.";
  const still = L > 2 ? `every W and b but b${L}` : "W1, b1 and W2";
  return activation === "sigmoid" ? same : `${same} With ${activation}, g(0) = 0: every unit outputs 0 and passes ` +
    `no gradient back, so ${still} never move and only b${L} learns. With sigmoid, g(0) = ½: the units learn, ` +
    "all the same function.";
}

const show = (v, digits = 6) => (v === null || v === undefined ? "–"
  : typeof v === "number" ? v.toPrecision(digits) : String(v));
const percent = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(2)}%`);

function render(state) {
  page.state = state;
  $("iteration").textContent = String(state.iteration);
  $("cost").textContent = show(state.cost, 10);
  $("train-cost").textContent = show(state.cost);
  $("test-cost").textContent = show(state.test_cost);
  $("train-acc").textContent = percent(state.accuracy);
  $("test-acc").textContent = percent(state.test_accuracy);
  chart.add(state.history);
  $("engines").tBodies[0].replaceChildren(...Object.entries(state.backends).map(([name, b]) => {
    const tr = document.createElement("tr");
    tr.dataset.backend = name;
    const cells = [name === "numpy" ? "numpy (reference)" : name, show(b.cost),
      b.diverged ? `diverged at iteration ${b.diverged.iteration}` : name === "numpy" ? "–"
        : `${fmt(b.distance, 2)} (${fmt(b.relative, 2)} relative)`];
    for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
    return tr;
  }));
  if (state.equations) {
    equations.update(state.equations);
    page.detailAt = performance.now();
    $("eq-at").textContent = `at iteration ${state.iteration}`;
  }
  if (state.maps) {
    drawBoundary($("boundary"), state.maps, page.setup.data);
    drawUnits($("units"), state.maps, page.setup.layers);
  }
  if (state.graph) graph.update(state.graph);
  const lr = page.setup.settings.lr, suggestion = state.suggested_lr;
  const useSmaller = { label: `Use learning rate ${suggestion}`, run: () => { $("lr").value = suggestion; apply(); } };
  if (state.diverged) {
    pause();
    setReady(false);
    $("reset").disabled = false;
    banner("bad", `Training diverged at iteration ${state.diverged.iteration}: ${state.diverged.message}. ` +
      `Shown: the last finite state, iteration ${state.iteration}.`, useSmaller);
  } else if (state.blowup) {
    const b = state.blowup;
    banner("warn", `The cost blew up at iteration ${b.iteration}: J = ${fmt(b.cost, 4)}, more than ${b.factor}× its ` +
      `start ${fmt(b.start, 4)}. Gradient descent overshoots: the learning rate ${lr} is too large for this problem.`,
    useSmaller);
    if (!page.blowupSeen) { page.blowupSeen = true; pause(); }
  } else {
    banner(null);
  }
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

// Steps asked for while one is running (clicks, a held key) are added up and sent as the next request.
// Play's updates (`light`) ask for the equations and the graph at most every DETAIL_MS.
const DETAIL_MS = 250;

function step(n, light = false) {
  if (!page.ready) return Promise.resolve();
  page.light = light;
  page.pending = Math.min((page.pending || 0) + n, page.setup ? page.setup.caps.steps : 100);
  if (!page.busy) {
    page.busy = true;
    page.drained = (async () => {
      while (page.pending > 0 && page.ready) {
        const k = page.pending;
        page.pending = 0;
        await request(k);
      }
      page.pending = 0;
      page.busy = false;
    })();
  }
  return page.drained;
}

async function request(n) {
  const start = performance.now();
  try {
    const detail = !page.light || performance.now() - (page.detailAt || 0) > DETAIL_MS;
    const data = await page.session.step(n, page.state ? page.state.iteration : 0, detail);
    const answered = performance.now();
    render(data.state);
    await nextFrame();
    page.timings.push({ n, server: data.serverMs, cpu: data.cpuMs, request: answered - start,
      total: performance.now() - start });
    if (page.timings.length > 10000) page.timings.splice(0, 5000);
  } catch (e) {
    pause();
    page.pending = 0;
    if (e.status === 404) {  // closed or forgotten: a new session with the same settings, once this loop ends
      page.session.id = null;
      page.ready = false;
      apply().then(() => banner("warn", `${e.message.replace(/; reload the page$/, "")}: it was started again ` +
        "from iteration 0."));
    } else {
      banner("bad", e.message);
    }
  }
}

async function play() {
  if (page.playing || !page.ready) return;
  page.playing = true;
  $("play").textContent = "Pause";
  while (page.playing && page.ready) await step(Number($("speed").value), true);
  pause();
  if (page.ready && page.state && page.state.equations === null) {  // the last update was a light one
    try { render((await page.session.current(page.state.iteration)).state); } catch (e) { banner("bad", e.message); }
  }
}

function pause() {
  page.playing = false;
  $("play").textContent = "Play";
}

async function reset() {
  pause();
  if (!page.session.id) return apply();
  try {
    const data = await page.session.reset();
    page.blowupSeen = false;
    chart.clear();
    setReady(true);
    render(data.state);
  } catch (e) {
    banner("bad", e.message);
  }
}

async function walk(by) {
  if (!page.ready) return;
  if (by > 0 && equations.at === equations.order.length) {
    await step(1);
    equations.at = 0;
    equations.show();
  } else {
    equations.move(by);
  }
  graph.highlight(equations.current());
}

function readCsv(file) {
  const cap = page.setup ? page.setup.caps.upload_bytes : 1e6;
  if (file.size > cap) {
    fieldError({ message: `${file.name}: ${file.size} bytes, more than the ${cap} an upload may have.`, field: "csv" });
    return;
  }
  const reader = new FileReader();
  reader.onload = () => { page.csv = { name: file.name, text: String(reader.result) }; apply(); };
  reader.onerror = () => fieldError({ message: `${file.name}: cannot be read`, field: "csv" });
  reader.readAsText(file);
}

function bind() {
  $("step").addEventListener("click", () => step(1));
  $("step10").addEventListener("click", () => step(10));
  $("play").addEventListener("click", () => (page.playing ? pause() : play()));
  $("reset").addEventListener("click", reset);
  $("walk-next").addEventListener("click", () => walk(1));
  $("walk-prev").addEventListener("click", () => walk(-1));
  $("zero").addEventListener("click", () => {
    $("init").value = $("init").value === "zero" ? defaultsFor($("hidden").value.trim()).init : "zero";
    apply();
  });
  $("settings").addEventListener("change", (e) => (e.target.id === "csv" ? readCsv(e.target.files[0]) : apply()));
  $("settings").addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  $("bigger").addEventListener("click", () => {
    const on = document.documentElement.classList.toggle("bigger");
    $("bigger").setAttribute("aria-pressed", String(on));
    redraw();
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = { " ": () => (page.playing ? pause() : play()), ArrowRight: () => step(1),
      ArrowDown: () => walk(1), ArrowUp: () => walk(-1) };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  window.addEventListener("pagehide", () => page.session.close());
  window.addEventListener("resize", redraw);
}

function redraw() {
  sharpen($("boundary"));
  sharpen($("chart"));
  if (page.state && page.setup) {
    if (page.state.maps) drawBoundary($("boundary"), page.state.maps, page.setup.data);
    chart.draw();
  }
}

async function init() {
  const opts = await options();
  page.defaults = opts.defaults;
  for (const name of opts.datasets) option($("dataset"), name, LABELS[name] || name);
  for (const name of opts.activations) option($("activation"), name, name);
  for (const name of opts.dtypes) option($("dtype"), name, name);
  for (const name of opts.backends) {
    const label = document.createElement("label"), box = document.createElement("input");
    box.type = "checkbox"; box.value = name; box.id = `backend-${name}`;
    box.disabled = name === "numpy";
    label.append(box, ` ${name}${name === "numpy" ? " (reference)" : ""}`);
    $("backends").append(label);
  }
  page.depthDefaults = opts.depth_defaults;
  page.memory = opts.memory;
  const c = opts.caps;
  $("caps").textContent = `Caps: ${c.hidden} units per hidden layer, ${c.layers} hidden layers, ${c.examples} ` +
    `examples, ${c.features} features, uploads up to ${Math.round(c.upload_bytes / 1000)} kB, ${c.steps} ` +
    "iterations a request.";
  const wanted = settingsFromUrl();
  writeForm({ ...defaultsFor(wanted.hidden || opts.defaults.hidden), ...wanted });
  bind();
  redraw();
  await apply();
}

init().catch((e) => banner("bad", `The page could not start: ${e.message}`));
