// Two small inline-SVG charts from the KPI fold's hourly figures (series/QUEUE items):
// the service level per hour against the target, and answers by ring per hour (stacked).
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const RING_COLOURS = ["#2e7d32", "#66bb6a", "#c0ca33", "#fbc02d", "#fb8c00", "#e53935"];

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function hourRange(hours, currentHour) {
  const seen = hours.map((h) => h.hour);
  const first = Math.min(currentHour, ...seen, Math.max(0, currentHour - 7));
  const last = Math.max(currentHour, ...seen);
  const out = [];
  for (let h = first; h <= last; h += 1) out.push(h);
  return out;
}

const Charts = {
  W: 420, H: 150, L: 34, R: 8, T: 10, B: 22,

  frame(svg, range, yLabel) {
    const { W, H, L, R, T, B } = this;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.replaceChildren();
    svg.append(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    svg.append(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    const step = (W - L - R) / range.length;
    range.forEach((h, i) => {
      if (range.length <= 12 || i % 2 === 0) {
        svg.append(svgEl("text", { x: L + step * (i + 0.5), y: H - 6, class: "tick", "text-anchor": "middle" }, String(h).padStart(2, "0")));
      }
    });
    if (yLabel) svg.append(svgEl("text", { x: 2, y: T + 8, class: "tick" }, yLabel));
    return step;
  },

  serviceLevel(svg, series, target, currentHour) {
    const { H, L, W, R, T, B } = this;
    const range = hourRange(series.hours, currentHour);
    const step = this.frame(svg, range, "100%");
    const y = (v) => H - B - v * (H - B - T);
    svg.append(svgEl("line", { x1: L, y1: y(target), x2: W - R, y2: y(target), class: "target" }));
    svg.append(svgEl("text", { x: W - R - 2, y: y(target) - 3, class: "tick", "text-anchor": "end" }, `${Hotline.t("target")} ${Math.round(target * 100)}%`));
    const points = [];
    for (const h of series.hours) {
      if (h.service_level === null) continue;
      const x = L + step * (range.indexOf(h.hour) + 0.5);
      points.push(`${x},${y(h.service_level)}`);
      const dot = svgEl("circle", { cx: x, cy: y(h.service_level), r: 3.5, class: h.service_level < target ? "dot bad" : "dot" });
      dot.append(svgEl("title", {}, `${String(h.hour).padStart(2, "0")}:00 ${Math.round(h.service_level * 100)}% (${h.answered})`));
      svg.append(dot);
    }
    if (points.length > 1) svg.insertBefore(svgEl("polyline", { points: points.join(" "), class: "line" }), svg.firstChild);
  },

  byRing(svg, series, currentHour) {
    const { H, L, T, B } = this;
    const range = hourRange(series.hours, currentHour);
    const top = Math.max(1, ...series.hours.map((h) => h.answered));
    const step = this.frame(svg, range, String(top));
    const scale = (H - B - T) / top;
    for (const h of series.hours) {
      const x = L + step * range.indexOf(h.hour) + step * 0.15;
      let base = H - B;
      h.by_ring.forEach((count, ring) => {
        if (!count) return;
        const height = count * scale;
        base -= height;
        const label = ring < series.rings ? Hotline.t("ring_n", { n: ring + 1 }) : Hotline.t("later");
        const bar = svgEl("rect", { x, y: base, width: step * 0.7, height, fill: RING_COLOURS[Math.min(ring, RING_COLOURS.length - 1)], class: ring < series.rings ? "bar" : "bar late" });
        bar.append(svgEl("title", {}, `${String(h.hour).padStart(2, "0")}:00 ${label}: ${count}`));
        svg.append(bar);
      });
    }
  },

  legend(rings) {
    const box = Hotline.el("div", { class: "legend" });
    for (let i = 0; i <= rings; i += 1) {
      const label = i < rings ? Hotline.t("ring_n", { n: i + 1 }) : Hotline.t("later");
      const swatch = Hotline.el("span", { class: "swatch" });
      swatch.style.background = RING_COLOURS[Math.min(i, RING_COLOURS.length - 1)];
      box.append(Hotline.el("span", {}, swatch, label));
    }
    return box;
  },
};

window.Charts = Charts;
