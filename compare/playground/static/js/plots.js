// Canvas drawing: the decision boundary with the data, the hidden units' maps, the cost curves.

const NEG = [232, 131, 58], MID = [248, 248, 248], POS = [47, 127, 193];

// 256 colours from orange (0, negative, label 0) through white to blue (255, positive, label 1).
export const PALETTE = Array.from({ length: 256 }, (_, i) => {
  const t = i / 255, [a, b, u] = t < 0.5 ? [NEG, MID, t * 2] : [MID, POS, t * 2 - 1];
  return a.map((v, k) => Math.round(v + (b[k] - v) * u));
});

export function colour(t) {
  const [r, g, b] = PALETTE[Math.max(0, Math.min(255, Math.round(t * 255)))];
  return `rgb(${r},${g},${b})`;
}

export function decode(base64) {
  const text = atob(base64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// An image of rows × cols bytes, drawn into the whole canvas.
export function paint(canvas, bytes, rows, cols, smooth = true) {
  const image = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = PALETTE[bytes[i]];
    image.data.set([r, g, b, 255], i * 4);
  }
  const off = document.createElement("canvas");
  off.width = cols; off.height = rows;
  off.getContext("2d").putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = smooth;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

export function sharpen(canvas) {
  const ratio = window.devicePixelRatio || 1, box = canvas.getBoundingClientRect();
  if (box.width) { canvas.width = Math.round(box.width * ratio); canvas.height = Math.round(box.height * ratio); }
}

export function drawBoundary(canvas, maps, data) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (maps) paint(canvas, decode(maps.boundary), maps.grid, maps.grid);
  if (!data.points) return;
  const [x0, x1, y0, y1] = data.box, r = Math.max(2.5, canvas.width / 110);
  for (const [x, y, label, test] of data.points) {
    const px = (x - x0) / (x1 - x0) * canvas.width, py = (y1 - y) / (y1 - y0) * canvas.height;
    ctx.beginPath();
    ctx.arc(px, py, r, 0, 2 * Math.PI);
    ctx.fillStyle = label ? "rgb(24,96,160)" : "rgb(214,104,24)";
    ctx.fill();
    ctx.lineWidth = test ? r * 0.8 : 1;
    ctx.strokeStyle = test ? "#111" : "#fff";
    ctx.stroke();
  }
}

// Each hidden layer's units, one row of small maps per layer: unit i of layer l is row i of A_l over the plane.
export function drawUnits(container, maps, layers) {
  const shape = `${maps.units.map((layer) => layer.maps.length)} ${layers.map((l) => l.activation)}`;
  if (container.dataset.shape !== shape) {
    const deep = maps.units.length > 1;
    container.classList.toggle("deep", deep);
    container.replaceChildren(...maps.units.map((layer, k) => {
      const row = document.createElement("div"), l = layer.layer, g = layers[k].activation;
      row.className = "layer";
      row.dataset.layer = String(l);
      if (deep) {
        const title = document.createElement("div");
        title.className = "layer-title";
        title.textContent = `layer ${l}: A${l}, ${layer.maps.length} unit${layer.maps.length > 1 ? "s" : ""}`;
        row.append(title);
      }
      row.append(...layer.maps.map((_, i) => {
        const figure = document.createElement("figure"), canvas = document.createElement("canvas");
        canvas.width = canvas.height = layer.grid;
        const caption = document.createElement("figcaption");
        caption.textContent = deep ? `${l}.${i + 1}` : `unit ${i + 1}`;
        figure.append(canvas, caption);
        const input = l === 1 ? "x" : `A${l - 1}`;
        figure.title = `A${l} row ${i + 1} = ${g}(W${l}[${i + 1}] · ${input} + b${l}[${i + 1}]) over the plane`;
        return figure;
      }));
      return row;
    }));
    container.dataset.shape = shape;
  }
  maps.units.forEach((layer, k) => {
    const figures = container.children[k].querySelectorAll("canvas");
    layer.maps.forEach((map, i) => paint(figures[i], decode(map), layer.grid, layer.grid));
  });
}

export class CostChart {
  constructor(canvas, tip) {
    this.canvas = canvas; this.tip = tip; this.points = [];
    canvas.addEventListener("mousemove", (e) => this.hover(e));
    canvas.addEventListener("mouseleave", () => { this.tip.hidden = true; });
  }

  clear() { this.points = []; this.draw(); }

  add(history) {
    for (const p of history) {
      const last = this.points[this.points.length - 1];
      if (last && last[0] === p[0]) this.points[this.points.length - 1] = p; else this.points.push(p);
    }
    const n = this.points.length;
    if (n > 6000) this.points = this.points.filter((_, i) => i % 2 === 0 || i === n - 1);
    this.draw();
  }

  scale() {
    const finite = this.points.flatMap((p) => [p[1], p[2]]).filter((v) => typeof v === "number");
    const last = this.points.length ? this.points[this.points.length - 1][0] : 1;
    return { top: Math.max(1e-9, ...finite) * 1.05, last: Math.max(1, last) };
  }

  draw() {
    const { canvas } = this, ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    const pad = 6 * (window.devicePixelRatio || 1), { top, last } = this.scale();
    ctx.clearRect(0, 0, w, h);
    ctx.font = `${11 * (window.devicePixelRatio || 1)}px system-ui, sans-serif`;
    ctx.fillStyle = "#5f6b7a";
    ctx.fillText(`J ≤ ${top.toPrecision(3)}`, pad, pad * 2.2);
    ctx.fillText(`iteration ${last}`, w - pad - ctx.measureText(`iteration ${last}`).width, h - pad);
    const line = (column, colour, dash) => {
      ctx.beginPath(); ctx.setLineDash(dash); ctx.strokeStyle = colour; ctx.lineWidth = 2;
      let started = false;
      for (const p of this.points) {
        if (typeof p[column] !== "number") continue;
        const x = pad + (w - 2 * pad) * p[0] / last, y = h - pad - (h - 2 * pad) * p[column] / top;
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke(); ctx.setLineDash([]);
    };
    line(1, "#1d4f7a", []);
    line(2, "#d66818", [6, 4]);
  }

  hover(event) {
    if (!this.points.length) return;
    const box = this.canvas.getBoundingClientRect(), { last } = this.scale();
    const want = (event.clientX - box.left) / box.width * last;
    let best = this.points[0];
    for (const p of this.points) if (Math.abs(p[0] - want) < Math.abs(best[0] - want)) best = p;
    const test = typeof best[2] === "number" ? `, test ${best[2].toPrecision(6)}` : "";
    const train = typeof best[1] === "number" ? best[1].toPrecision(6) : best[1];
    this.tip.textContent = `iteration ${best[0]}: train J ${train}${test}`;
    this.tip.style.left = `${Math.min(event.clientX - box.left + 10, box.width - 200)}px`;
    this.tip.style.top = `${event.clientY - box.top - 28}px`;
    this.tip.hidden = false;
  }
}
