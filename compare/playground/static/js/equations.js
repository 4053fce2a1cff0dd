// The equations table (rows from the server's single table, compare/equations.py), the NumPy source,
// and the forward / backward walk that highlights one equation at a time.
import { colour, decode, paint } from "./plots.js";

const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};

export const fmt = (v, digits = 3) => (typeof v === "number" ? (v === 0 ? "0" : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4
  ? String(Number(v.toPrecision(digits))) : v.toExponential(digits - 1)) : String(v));

// A matrix: every entry with its colour when small, a heat strip and its summary when large.
export function matrixView(view) {
  const box = el("div", { class: "matrix" });
  if (view.full) {
    const scale = Math.max(...view.full.flat().map((v) => (typeof v === "number" ? Math.abs(v) : 0))) || 1;
    const table = el("table", { class: "mat" });
    for (const row of view.full) {
      const tr = el("tr");
      for (const v of row) {
        const td = el("td", { "data-value": String(v), title: String(v) }, fmt(v));
        if (typeof v === "number") {
          td.style.background = colour(0.5 + 0.5 * v / scale).replace("rgb", "rgba").replace(")", ",0.55)");
        }
        tr.append(td);
      }
      table.append(tr);
    }
    box.append(table);
  } else if (view.strip) {
    const canvas = el("canvas", { class: "strip", width: view.strip.cols, height: view.strip.rows,
      title: `each pixel one entry${view.shape[1] > view.strip.cols ? " (columns averaged)" : ""}; ` +
        `colour scale ±${fmt(view.strip.scale)}` });
    paint(canvas, decode(view.strip.data), view.strip.rows, view.strip.cols, false);
    box.append(canvas);
  }
  if (!view.full) {
    box.append(el("div", { class: "summary" }, `min ${fmt(view.min)}  max ${fmt(view.max)}  mean ${fmt(view.mean)}` +
      (view.nonfinite ? `  (${view.nonfinite} not finite)` : "")));
  }
  return box;
}

// A row of the table: its equation id and layer. One hidden layer keeps week 3's names (F1 … B6, data-testid
// eq-F1); a deep network's rows are named with the course's superscript, F1[2], and data-testid eq-F1-2.
export const rowKey = (row) => `${row.id}-${row.layer}`;

export class Equations {
  constructor(tbody, source, fileLabel, walkLabel) {
    this.tbody = tbody; this.source = source; this.fileLabel = fileLabel; this.walkLabel = walkLabel;
    this.rows = {}; this.order = []; this.at = -1; this.tags = {}; this.deep = false;
  }

  label(row) { return this.deep ? `${row.id}[${row.layer}]` : row.id; }

  setup(setup) {
    this.rows = {};
    this.deep = setup.layers.length !== 1;
    this.order = setup.equations.map((e) => ({ id: e.id, layer: e.layer, formula: e.formula }));
    this.tbody.replaceChildren(...setup.equations.map((e) => {
      const tr = el("tr", { "data-testid": this.deep ? `eq-${e.id}-${e.layer}` : `eq-${e.id}`, "data-eq": e.id,
        "data-layer": String(e.layer), class: e.backward ? "backward" : "forward" });
      tr.append(el("td", { title: this.deep ? `equation ${e.id} at layer ${e.layer}` : `equation ${e.id}` },
        this.label(e)), el("td", { class: "formula" }, e.formula),
      el("td", { class: "shape", title: `${e.yields}'s shape` }, `(${e.shape.join(", ")})`),
      el("td", { class: "value" }), el("td", { class: "diffs" }));
      this.rows[rowKey(e)] = tr;
      return tr;
    }));
    this.renderSource(setup.source);
    this.show();
  }

  update(rows) {
    for (const row of rows) {
      const tr = this.rows[rowKey(row)];
      if (!tr) continue;
      tr.children[3].replaceChildren(matrixView(row.value));
      const diffs = Object.entries(row.diffs);
      tr.children[4].replaceChildren(...(diffs.length ? diffs.map(([name, d]) => el("span", {
        class: `diff ${d.ok ? "ok" : "off"}`, "data-backend": name, "data-value": String(d.max_abs),
        title: `max |${name} − numpy| = ${d.max_abs}; ${fmt(d.rounding)} of the size of the terms it is built from`,
      }, `${name} ${fmt(d.max_abs, 2)}`)) : [el("span", { class: "note" }, "numpy alone: nothing to compare")]));
    }
  }

  renderSource(source) {
    this.fileLabel.textContent = source.file;
    this.tags = source.tags;
    const tagOf = {};
    for (const [eq, lines] of Object.entries(source.tags)) for (const n of lines) tagOf[n] = eq;
    const lines = [];
    source.blocks.forEach((block, b) => {
      if (b) lines.push(el("span", { class: "line" }, " "));
      block.lines.forEach((text, i) => {
        const n = block.start + i, line = el("span", { class: `line${tagOf[n] ? " tagged" : ""}`, "data-line": n });
        line.append(el("span", { class: "no" }, String(n)), document.createTextNode(text));
        lines.push(line);
      });
    });
    this.source.replaceChildren(...lines);
  }

  // The walk: -1 is off, 0 … n − 1 the rows in the order they are computed, n the update θ := θ − α dθ.
  current() { return this.at >= 0 && this.at < this.order.length ? this.order[this.at] : null; }

  move(by) {
    this.at = Math.max(0, Math.min(this.order.length, this.at + by));
    this.show();
    return this.at;
  }

  stop() { this.at = -1; this.show(); }

  show() {
    const row = this.current(), key = row ? rowKey(row) : null;
    for (const [k, tr] of Object.entries(this.rows)) tr.classList.toggle("current", k === key);
    // one line of the deep network's code serves its row at every layer: `# F1 F3` is F1 of each hidden layer
    const lit = new Set(row ? this.tags[row.id] || [] : []);
    let first = null;
    for (const line of this.source.children) {
      const on = lit.has(Number(line.dataset.line));
      line.classList.toggle("current", on);
      if (on && !first) first = line;
    }
    if (first) this.source.scrollTop = first.offsetTop - this.source.clientHeight / 3;  // within the panel alone
    if (this.at < 0) this.walkLabel.textContent = "forward / backward: off";
    else if (!row) this.walkLabel.textContent = "next ▶: the update θ := θ − α·dθ";
    else {
      const part = row.id.startsWith("F") ? "forward" : "backward";
      this.walkLabel.textContent = `${part}: ${this.label(row)} (${this.at + 1} of ${this.order.length})`;
    }
    if (row) this.rows[key].scrollIntoView({ block: "nearest" });
    return row;
  }
}
