// Waveform view on a <canvas>: min/max peaks, labelled regions, marked regions, detector scores, playhead.
// With `editable`, dragging across the canvas marks a region (snapped to 10 ms); no dependencies.

const SNAP_S = 0.01;
const MIN_MARK_S = 0.02;

export class WaveView {
  constructor(canvas, { editable = false, onchange = null } = {}) {
    this.canvas = canvas;
    this.editable = editable;
    this.onchange = onchange;
    this.set([], 1);
    if (editable) this.listen();
  }

  set(peaks, duration, { labels = [], scores = null, threshold = 0.5, frameS = 0.02 } = {}) {
    Object.assign(this, { peaks, duration, labels, scores, threshold, frameS, marks: [], draft: null, playhead: null });
    this.draw();
  }

  timeAt(clientX) {
    const box = this.canvas.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - box.left) / box.width));
    return Math.round((f * this.duration) / SNAP_S) * SNAP_S;
  }

  listen() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      const t = this.timeAt(e.clientX);
      this.draft = [t, t];
      this.draw();
    });
    c.addEventListener("pointermove", (e) => {
      if (!this.draft) return;
      this.draft[1] = this.timeAt(e.clientX);
      this.draw();
    });
    const finish = (e) => {
      if (!this.draft) return;
      this.draft[1] = this.timeAt(e.clientX);
      const [a, b] = [Math.min(...this.draft), Math.max(...this.draft)];
      this.draft = null;
      if (b - a >= MIN_MARK_S) this.marks.push([Number(a.toFixed(2)), Number(b.toFixed(2))]);
      this.draw();
      if (this.onchange) this.onchange(this.marks);
    };
    c.addEventListener("pointerup", finish);
    c.addEventListener("pointercancel", () => { this.draft = null; this.draw(); });
  }

  clearMarks() {
    this.marks = [];
    this.draw();
    if (this.onchange) this.onchange(this.marks);
  }

  x(t) { return (t / this.duration) * this.canvas.width; }

  span(ctx, [a, b], color, top = 0, height = this.canvas.height) {
    ctx.fillStyle = color;
    ctx.fillRect(this.x(a), top, Math.max(1, this.x(b) - this.x(a)), height);
  }

  draw() {
    const c = this.canvas, ctx = c.getContext("2d"), h = c.height, mid = h / 2;
    ctx.clearRect(0, 0, c.width, h);
    ctx.fillStyle = "#14161c";
    ctx.fillRect(0, 0, c.width, h);
    for (const seg of this.labels) this.span(ctx, seg, "rgba(60, 200, 90, 0.35)");
    for (const seg of this.marks) this.span(ctx, seg, "rgba(255, 150, 40, 0.45)");
    if (this.draft) this.span(ctx, [Math.min(...this.draft), Math.max(...this.draft)], "rgba(255, 150, 40, 0.3)");
    const n = this.peaks.length, peak = Math.max(1e-6, ...this.peaks.map(([lo, hi]) => Math.max(-lo, hi)));
    ctx.fillStyle = "#9cc3ff";
    for (let i = 0; i < n; i++) {
      const [lo, hi] = this.peaks[i];
      const x = (i / n) * c.width, w = Math.max(1, c.width / n);
      const y0 = mid - (hi / peak) * (mid - 4), y1 = mid - (lo / peak) * (mid - 4);
      ctx.fillRect(x, y0, w, Math.max(1, y1 - y0));
    }
    if (this.scores) {
      ctx.strokeStyle = "rgba(255, 80, 80, 0.6)";
      ctx.setLineDash([4, 4]);
      const yt = h - this.threshold * (h - 4) - 2;
      ctx.beginPath(); ctx.moveTo(0, yt); ctx.lineTo(c.width, yt); ctx.stroke();
      ctx.setLineDash([]);
      ctx.strokeStyle = "#ff5050";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      this.scores.forEach((s, k) => {
        const x = this.x((k + 0.5) * this.frameS), y = h - s * (h - 4) - 2;
        if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    if (this.playhead !== null) {
      ctx.fillStyle = "#fff";
      ctx.fillRect(this.x(this.playhead), 0, 1, h);
    }
  }
}

export function fmtSpan([a, b]) {
  return `${a.toFixed(2)}–${b.toFixed(2)} s`;
}
