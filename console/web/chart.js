// A small SVG line chart (the pricing page's offer history): one line per
// series, axes with labels, an accessible name and description. Built from
// nodes with svg() (never markup); colours and sizes come from style.css
// (.chart, .line, .axis) and profiles.css.
import {svg, uid} from './dom.js';

// lineChart({title, description, points: [{label, values: [n, ...]}], series: [{name, class}], formatY})
// points are in order (oldest first); values[i] belongs to series[i].
export function lineChart({title, description, points, series, formatY}) {
  const width = 640;
  const height = 280;
  const left = 96;
  const right = 24;
  const top = 20;
  const bottom = 48;
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const all = points.flatMap((p) => p.values).filter((v) => Number.isFinite(v));
  let min = all.length ? Math.min(...all) : 0;
  let max = all.length ? Math.max(...all) : 1;
  if (min === max) {
    min = Math.max(0, min - Math.max(1, Math.abs(min) * 0.1));
    max = max + Math.max(1, Math.abs(max) * 0.1);
  }
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (i) => left + (points.length <= 1 ? plotW / 2 : (i * plotW) / (points.length - 1));
  const y = (v) => top + plotH - ((v - min) * plotH) / (max - min);

  const children = [svg('title', {id: titleId}, title), svg('desc', {id: descId}, description || '')];
  // Axes.
  children.push(svg('line', {class: 'axis', x1: left, y1: top, x2: left, y2: top + plotH}));
  children.push(svg('line', {class: 'axis', x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH}));
  // Y ticks: 4 steps between min and max.
  for (let k = 0; k <= 4; k += 1) {
    const v = min + ((max - min) * k) / 4;
    const yy = y(v);
    children.push(svg('line', {class: 'axis grid', x1: left - 4, y1: yy, x2: left + plotW, y2: yy}));
    children.push(svg('text', {x: left - 8, y: yy + 4, 'text-anchor': 'end'}, formatY(v)));
  }
  // X labels (every point; the chart is of months, few of them).
  const step = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    if (i % step !== 0 && i !== points.length - 1) return;
    children.push(svg('line', {class: 'axis', x1: x(i), y1: top + plotH, x2: x(i), y2: top + plotH + 4}));
    // The end labels stay inside the drawing.
    const anchor = points.length > 1 && i === 0 ? 'start' : points.length > 1 && i === points.length - 1 ? 'end' : 'middle';
    children.push(svg('text', {x: x(i), y: top + plotH + 18, 'text-anchor': anchor}, p.label));
  });
  // Lines and their points.
  series.forEach((s, si) => {
    const coords = points.map((p, i) => [x(i), y(p.values[si])]).filter(([, yy]) => Number.isFinite(yy));
    if (!coords.length) return;
    // One month only: a short level stroke through its point, so the line shows.
    const drawn = coords.length === 1 ? [[coords[0][0] - 16, coords[0][1]], [coords[0][0] + 16, coords[0][1]]] : coords;
    const d = drawn.map(([xx, yy], i) => `${i ? 'L' : 'M'}${xx.toFixed(1)} ${yy.toFixed(1)}`).join(' ');
    children.push(svg('path', {class: `line ${s.class || ''}`.trim(), d, 'data-series': s.name}));
    for (const [xx, yy] of coords) {
      children.push(svg('circle', {class: `dot ${s.class || ''}`.trim(), cx: xx.toFixed(1), cy: yy.toFixed(1), r: 3}));
    }
  });
  // Legend.
  series.forEach((s, si) => {
    const lx = left + si * 180;
    const ly = height - 10;
    children.push(svg('line', {class: `line ${s.class || ''}`.trim(), x1: lx, y1: ly - 4, x2: lx + 24, y2: ly - 4}));
    children.push(svg('text', {x: lx + 30, y: ly}, s.name));
  });
  return svg('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId,
    'aria-describedby': descId, focusable: 'false'}, children);
}
