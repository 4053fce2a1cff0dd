// The computational graph in SVG: the tape's values and operations, clickable, lit by the walk.
import { fmt, matrixView } from "./equations.js";

const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const W = 112, H = 38, LEAF = 62, DX = 150, DY = 62, MIN_SCALE = 0.75;

export class Graph {
  constructor(svg, detail) {
    this.svg = svg; this.detail = detail; this.nodes = []; this.values = []; this.selected = null; this.groups = [];
    this.deep = false;
  }

  // A row of the table as the graph names it: F3 for week 3's network, F1[2] (equation, layer) for a deep one.
  label(eq, layer) { return this.deep && eq !== "cost" && layer ? `${eq}[${layer}]` : eq; }

  setup(structure) {
    this.nodes = structure.nodes;
    this.deep = structure.depth !== 2;
    this.selected = null;
    const xs = this.nodes.map((n) => n.x), ys = this.nodes.map((n) => n.y);
    const x0 = Math.min(...xs), y1 = Math.max(...ys);
    const at = (n) => [(n.x - x0) * DX + W / 2 + 8, (y1 - n.y) * DY + H / 2 + 8];
    const width = (Math.max(...xs) - x0) * DX + W + 16, height = (y1 - Math.min(...ys)) * DY + H + 16;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    // a deep network's graph, three columns a layer, is never drawn smaller than MIN_SCALE: it scrolls sideways,
    // with the node's details below it (week 3's fits the panel beside them, as it always has)
    this.svg.style.minWidth = this.deep ? `${Math.round(MIN_SCALE * width)}px` : "";
    this.svg.closest(".graph-body").classList.toggle("deep", this.deep);
    const defs = svgEl("defs"), marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8a96a3" }));
    defs.append(marker);
    const edges = svgEl("g"), boxes = svgEl("g");
    for (const n of this.nodes) {
      const [x, y] = at(n);
      for (const i of n.inputs) {
        const [fx, fy] = at(this.nodes[i]);
        const down = Math.abs(fy - y) > 1;
        edges.append(svgEl("path", { class: "edge", d: down
          ? `M${fx},${fy + H / 2} C${fx},${fy + H} ${x},${y - H} ${x},${y - H / 2}`
          : `M${fx + W / 2},${fy} L${x - W / 2},${y}` }));
      }
      const kind = n.op === null ? "leaf" : n.equation === "cost" ? "cost" : "op";
      const g = svgEl("g", { class: `node ${kind}${n.param ? " param" : ""}${n.on_path ? "" : " off"}`,
        tabindex: 0, role: "button",
        "aria-label": `${n.name}${n.op ? `, ${n.op} (${this.label(n.equation, n.layer)})` : ""}` });
      const width = n.op === null ? LEAF : W;
      g.setAttribute("transform", `translate(${x - width / 2},${y - H / 2})`);
      g.append(svgEl("rect", { width, height: H }));
      const top = svgEl("text", { x: 6, y: 15, class: "name" });
      top.textContent = n.op ? `${n.equation === "cost" ? "" : this.label(n.equation, n.layer) + " "}${n.op}` : n.name;
      const bottom = svgEl("text", { x: 6, y: 31 });
      bottom.textContent = n.op ? `${n.name}  ${n.shape.join("×") || "scalar"}` : n.shape.join("×");
      g.append(top, bottom);
      g.addEventListener("click", () => this.select(n.id));
      g.addEventListener("keydown", (e) => { if (e.key === "Enter") this.select(n.id); });
      boxes.append(g);
      this.groups[n.id] = g;
    }
    this.svg.replaceChildren(defs, edges, boxes);
    this.detail.replaceChildren(this.detail.firstElementChild || document.createElement("p"));
  }

  update(values) {
    this.values = values;
    if (this.selected !== null) this.showDetail(this.selected);
  }

  select(id) {
    if (this.selected !== null) this.groups[this.selected].classList.remove("selected");
    this.selected = id;
    this.groups[id].classList.add("selected");
    this.showDetail(id);
  }

  showDetail(id) {
    const n = this.nodes[id], v = this.values[id] || {}, dl = document.createElement("dl");
    const add = (term, ...content) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = term; dd.append(...content); dl.append(dt, dd);
    };
    const text = (t) => document.createTextNode(t);
    add("value", text(`${n.name}, shape (${n.shape.join(", ")})`));
    if (n.op) {
      add("operation", text(n.equation === "cost" ? `${n.op}, part of the cost J`
        : `${n.op}, in equation ${n.equation}${this.deep ? ` at layer ${n.layer} (${this.label(n.equation, n.layer)})`
          : ""}`));
    }
    if (v.value) add("its value", matrixView(v.value));
    if (n.gradient) {
      add(`the gradient it received, ∂J/∂${n.name}: the course's ${n.gradient[0]} ` +
        `(${this.label(n.gradient[1], n.gradient[2])})`,
        v.grad ? matrixView(v.grad) : text("none: not on J's path"));
    }
    if (n.op && !n.on_path) {
      const z = this.nodes[n.inputs[0]].name;
      add("backward", text(`not on J's path: the cost is computed from ${z}, so σ(${z}) is never differentiated`));
    }
    if (n.rules && n.rules.length) {
      add("the rule its backward applies", ...n.rules.map((r) => {
        const p = document.createElement("div");
        p.className = "mono"; p.textContent = `${r.rule}   → ${r.yields} (${this.label(r.equation, r.layer)})`;
        return p;
      }));
    }
    const every = this.deep ? ", the same at every layer" : "";
    for (const [engine, names] of Object.entries(n.engines || {})) {
      const back = Object.entries(names.backward).map(([eq, what]) => `${eq}: ${what || "—"}`).join("; ");
      add(engine === "torch" ? `torch (grad_fn nodes${every})` : `JAX (primitives${every})`,
        text(`forward ${n.equation}: ${names.forward || "—"}${back ? `; backward ${back}` : ""}`));
    }
    this.detail.replaceChildren(dl);
  }

  // Light the nodes of a row {id, layer}: a forward row's operations; a backward row's, those whose backward
  // yields it, and the parameters whose gradient it is.
  highlight(row) {
    for (const n of this.nodes) {
      const is = (eq, layer) => row !== null && eq === row.id && layer === row.layer;
      const lit = row !== null && (row.id.startsWith("F") ? is(n.equation, n.layer)
        : (n.rules || []).some((r) => is(r.equation, r.layer)) || (n.op === null && n.gradient && is(n.gradient[1],
          n.gradient[2])));
      this.groups[n.id].classList.toggle("current", lit);
    }
    const first = this.nodes.find((n) => this.groups[n.id].classList.contains("current"));
    const box = this.svg.parentElement;
    if (first && box.scrollWidth > box.clientWidth) {  // the lit nodes into view, sideways only
      const at = this.groups[first.id].getBoundingClientRect(), frame = box.getBoundingClientRect();
      if (at.left < frame.left || at.right > frame.right) box.scrollLeft += at.left - frame.left - frame.width / 3;
    }
  }
}

export { fmt };
