// The computational graph in SVG: the tape's values and operations, clickable, lit by the walk.
import { fmt, matrixView } from "./equations.js";

const SVG = "http://www.w3.org/2000/svg";
const svgEl = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const W = 112, H = 38, LEAF = 62, DX = 150, DY = 62;

export class Graph {
  constructor(svg, detail) {
    this.svg = svg; this.detail = detail; this.nodes = []; this.values = []; this.selected = null; this.groups = [];
  }

  setup(structure) {
    this.nodes = structure.nodes;
    this.selected = null;
    const xs = this.nodes.map((n) => n.x), ys = this.nodes.map((n) => n.y);
    const x0 = Math.min(...xs), y1 = Math.max(...ys);
    const at = (n) => [(n.x - x0) * DX + W / 2 + 8, (y1 - n.y) * DY + H / 2 + 8];
    const width = (Math.max(...xs) - x0) * DX + W + 16, height = (y1 - Math.min(...ys)) * DY + H + 16;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
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
        "aria-label": `${n.name}${n.op ? `, ${n.op} (${n.equation})` : ""}` });
      const width = n.op === null ? LEAF : W;
      g.setAttribute("transform", `translate(${x - width / 2},${y - H / 2})`);
      g.append(svgEl("rect", { width, height: H }));
      const top = svgEl("text", { x: 6, y: 15, class: "name" });
      top.textContent = n.op ? `${n.equation === "cost" ? "" : n.equation + " "}${n.op}` : n.name;
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
        : `${n.op}, in equation ${n.equation}`));
    }
    if (v.value) add("its value", matrixView(v.value));
    if (n.gradient) add(`the gradient it received, ∂J/∂${n.name}: the course's ${n.gradient[0]} (${n.gradient[1]})`,
      v.grad ? matrixView(v.grad) : text("none: not on J's path"));
    if (n.op && !n.on_path) {
      add("backward", text("not on J's path: the cost is computed from Z2, so σ(Z2) is never differentiated"));
    }
    if (n.rules && n.rules.length) {
      add("the rule its backward applies", ...n.rules.map((r) => {
        const p = document.createElement("div");
        p.className = "mono"; p.textContent = `${r.rule}   → ${r.yields} (${r.equation})`;
        return p;
      }));
    }
    for (const [engine, names] of Object.entries(n.engines || {})) {
      const back = Object.entries(names.backward).map(([eq, what]) => `${eq}: ${what || "—"}`).join("; ");
      add(engine === "torch" ? "torch (grad_fn nodes)" : "JAX (primitives)",
        text(`forward ${n.equation}: ${names.forward || "—"}${back ? `; backward ${back}` : ""}`));
    }
    this.detail.replaceChildren(dl);
  }

  highlight(eq) {
    for (const n of this.nodes) {
      const lit = eq !== null && (eq.startsWith("F") ? n.equation === eq
        : (n.rules || []).some((r) => r.equation === eq) || (n.op === null && n.gradient && n.gradient[1] === eq));
      this.groups[n.id].classList.toggle("current", lit);
    }
  }
}

export { fmt };
