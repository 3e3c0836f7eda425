// Pan and zoom of an SVG by its viewBox: mouse wheel and drag, touch pinch and drag,
// keyboard arrows and +/-. Plan units throughout; no transforms on the content.

export class PanZoom {
  constructor(svg, { minScale = 0.02, onChange = () => {} } = {}) {
    this.svg = svg;
    this.home = svg.getAttribute("data-home").split(/\s+/).map(Number);
    this.box = [...this.home];
    this.minWidth = this.home[2] * minScale;
    this.onChange = onChange;
    this.pointers = new Map();
    this.moved = false;
    this.attach();
  }

  set(box) {
    const [x, y, w, h] = box;
    const width = Math.min(Math.max(w, this.minWidth), this.home[2] * 2);
    const height = (h * width) / w;
    this.box = [x + (w - width) / 2, y + (h - height) / 2, width, height];
    this.svg.setAttribute("viewBox", this.box.map((v) => v.toFixed(2)).join(" "));
    this.onChange(this.box);
  }

  reset() {
    this.set([...this.home]);
  }

  fit(minX, minY, maxX, maxY, pad = 0.15) {
    const w = Math.max(maxX - minX, 1);
    const h = Math.max(maxY - minY, 1);
    const px = w * pad;
    const py = h * pad;
    // keep the stage's aspect ratio so the box is what the buyer sees
    const rect = this.svg.getBoundingClientRect();
    const aspect = rect.width && rect.height ? rect.width / rect.height : 1;
    let bw = w + 2 * px;
    let bh = h + 2 * py;
    if (bw / bh < aspect) bw = bh * aspect;
    else bh = bw / aspect;
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    this.set([cx - bw / 2, cy - bh / 2, bw, bh]);
  }

  zoom(factor, cx, cy) {
    const [x, y, w, h] = this.box;
    const fx = cx ?? x + w / 2;
    const fy = cy ?? y + h / 2;
    const nw = Math.min(Math.max(w / factor, this.minWidth), this.home[2] * 2);
    const k = nw / w;
    this.box = [fx - (fx - x) * k, fy - (fy - y) * k, nw, h * k];
    this.set(this.box);
  }

  pan(dx, dy) {
    const [x, y, w, h] = this.box;
    this.set([x + dx, y + dy, w, h]);
  }

  toPlan(clientX, clientY) {
    const rect = this.svg.getBoundingClientRect();
    const [x, y, w, h] = this.box;
    // preserveAspectRatio xMidYMid meet: one scale, content centred
    const scale = Math.min(rect.width / w, rect.height / h);
    const ox = (rect.width - w * scale) / 2;
    const oy = (rect.height - h * scale) / 2;
    return [x + (clientX - rect.left - ox) / scale, y + (clientY - rect.top - oy) / scale, scale];
  }

  attach() {
    const svg = this.svg;
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const [px, py] = this.toPlan(event.clientX, event.clientY);
        this.zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, px, py);
      },
      { passive: false },
    );
    svg.addEventListener("pointerdown", (event) => {
      this.pointers.set(event.pointerId, [event.clientX, event.clientY]);
      this.moved = false;
      this.start = [event.clientX, event.clientY];
    });
    svg.addEventListener("pointermove", (event) => {
      if (!this.pointers.has(event.pointerId)) return;
      const previous = this.pointers.get(event.pointerId);
      if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        const before = Math.hypot(a[0] - b[0], a[1] - b[1]);
        this.pointers.set(event.pointerId, [event.clientX, event.clientY]);
        const [c, d] = [...this.pointers.values()];
        const after = Math.hypot(c[0] - d[0], c[1] - d[1]);
        if (before > 0 && after > 0) {
          const [px, py] = this.toPlan((c[0] + d[0]) / 2, (c[1] + d[1]) / 2);
          this.zoom(after / before, px, py);
        }
        this.moved = true;
        return;
      }
      this.pointers.set(event.pointerId, [event.clientX, event.clientY]);
      if (Math.hypot(event.clientX - this.start[0], event.clientY - this.start[1]) < 6) return;
      this.moved = true;
      const [, , scale] = this.toPlan(event.clientX, event.clientY);
      this.pan(-(event.clientX - previous[0]) / scale, -(event.clientY - previous[1]) / scale);
    });
    const up = (event) => this.pointers.delete(event.pointerId);
    svg.addEventListener("pointerup", up);
    svg.addEventListener("pointercancel", up);
    svg.addEventListener("pointerleave", up);
    // a drag is not a click on the seat under the pointer
    svg.addEventListener(
      "click",
      (event) => {
        if (this.moved) {
          event.stopPropagation();
          event.preventDefault();
          this.moved = false;
        }
      },
      true,
    );
    svg.addEventListener("keydown", (event) => {
      const [, , w, h] = this.box;
      const step = { ArrowLeft: [-w / 8, 0], ArrowRight: [w / 8, 0], ArrowUp: [0, -h / 8], ArrowDown: [0, h / 8] }[event.key];
      if (step) {
        event.preventDefault();
        this.pan(...step);
      } else if (event.key === "+" || event.key === "=") {
        event.preventDefault();
        this.zoom(1.25);
      } else if (event.key === "-" || event.key === "_") {
        event.preventDefault();
        this.zoom(1 / 1.25);
      }
    });
  }
}
