'use strict';

/**
 * Draws docs/architecture.svg from docs/architecture.json: threads as lanes, folders as boxes
 * with one line per unit, and the numbered hops of one inbound frame and one outgoing message,
 * explained in a legend under the picture.
 *
 *   node scripts/architecture-svg.js [out.svg]      default docs/architecture.svg
 *
 * Deterministic: the same JSON always gives the same bytes (test/docs/architecture.test.js
 * checks the committed SVG is current).
 */

const fs = require('fs');
const path = require('path');

const LINE = 17; // px per unit line
const HEAD = 24; // px for a box title
const ROW_GAP = 26;
const TOP = 64; // below the lane titles

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Places every box; returns { boxes: Map(id → box with x, y, w, h), height }. */
function layout(model) {
  const lanes = new Map(model.lanes.map((l) => [l.id, l]));
  const rows = Math.max(...model.boxes.map((b) => b.row)) + 1;
  const rowHeight = Array.from({ length: rows }, (_, r) => Math.max(0, ...model.boxes
    .filter((b) => b.row === r).map((b) => HEAD + b.units.length * LINE + 8)));
  const rowTop = [];
  let y = TOP;
  for (let r = 0; r < rows; r++) {
    rowTop.push(y);
    y += rowHeight[r] + (rowHeight[r] ? ROW_GAP : 0);
  }
  const boxes = new Map();
  for (const b of model.boxes) {
    const lane = lanes.get(b.lane);
    const half = (lane.width - 12) / 2;
    const x = b.col === undefined ? lane.x : lane.x + b.col * (half + 12);
    const w = b.col === undefined ? lane.width : half;
    boxes.set(b.id, { ...b, x, y: rowTop[b.row], w, h: HEAD + b.units.length * LINE + 8 });
  }
  return { boxes, height: y };
}

/** Where a unit's line sits: its y, and the box it is in. */
function anchor(boxes, ref) {
  const [boxId, unit] = ref.split('/');
  const box = boxes.get(boxId);
  if (!box) throw new Error(`architecture.json: no box '${boxId}' (in '${ref}')`);
  const i = box.units.indexOf(unit);
  if (i < 0) throw new Error(`architecture.json: box '${boxId}' has no unit '${unit}'`);
  return { box, y: box.y + HEAD + i * LINE + LINE / 2 };
}

/**
 * A curved arrow from unit `a` to unit `b`, with its step number at the middle. Between lanes it
 * runs from edge to facing edge; within one column it loops out of the `side` edge.
 */
function arrow(boxes, [from, to, , side = 'right'], color, step) {
  const a = anchor(boxes, from);
  const b = anchor(boxes, to);
  let x1;
  let x2;
  let c1;
  let c2;
  if (b.box.x >= a.box.x + a.box.w) { // rightwards
    x1 = a.box.x + a.box.w; x2 = b.box.x; c1 = x1 + 40; c2 = x2 - 40;
  } else if (b.box.x + b.box.w <= a.box.x) { // leftwards
    x1 = a.box.x; x2 = b.box.x + b.box.w; c1 = x1 - 40; c2 = x2 + 40;
  } else if (side === 'left') { // same column: a loop out of the left-hand edges
    const bend = 12 + Math.min(40, Math.abs(b.y - a.y) / 12);
    x1 = a.box.x; x2 = b.box.x; c1 = x1 - bend; c2 = x2 - bend;
  } else { // same column: a loop out of the right-hand edges
    const bend = 12 + Math.min(40, Math.abs(b.y - a.y) / 12);
    x1 = a.box.x + a.box.w; x2 = b.box.x + b.box.w; c1 = x1 + bend; c2 = x2 + bend;
  }
  const mx = (x1 + 3 * c1 + 3 * c2 + x2) / 8;
  const my = (a.y + 3 * a.y + 3 * b.y + b.y) / 8;
  return [
    `<path d="M${x1},${a.y} C${c1},${a.y} ${c2},${b.y} ${x2},${b.y}" fill="none" stroke="${color}" stroke-width="2" marker-end="url(#head-${color.slice(1)})"/>`,
    `<circle cx="${mx.toFixed(1)}" cy="${my.toFixed(1)}" r="8" fill="${color}"/>`,
    `<text x="${mx.toFixed(1)}" y="${(my + 4).toFixed(1)}" text-anchor="middle" font-size="11" fill="#fff" font-weight="bold">${step}</text>`,
  ].join('\n');
}

function render(model) {
  const { boxes, height } = layout(model);
  const width = Math.max(...model.lanes.map((l) => l.x + l.width)) + 20;
  const legendTop = height + 10;
  const legendRows = Math.max(...model.paths.map((p) => p.hops.length)) + 1;
  const total = legendTop + legendRows * 18 + 20;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" font-family="Helvetica, Arial, sans-serif">`);
  out.push('<defs>');
  for (const p of model.paths) {
    out.push(`<marker id="head-${p.color.slice(1)}" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${p.color}"/></marker>`);
  }
  out.push('</defs>');
  out.push(`<rect width="${width}" height="${total}" fill="#fff"/>`);
  for (const lane of model.lanes) {
    out.push(`<rect x="${lane.x - 8}" y="10" width="${lane.width + 16}" height="${height - 14}" rx="10" fill="#f6f8fa" stroke="#d0d7de"/>`);
    out.push(`<text x="${lane.x}" y="34" font-size="14" font-weight="bold" fill="#24292f">${esc(lane.title)}</text>`);
  }
  for (const box of boxes.values()) {
    out.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="6" fill="#fff" stroke="#57606a"/>`);
    out.push(`<text x="${box.x + 8}" y="${box.y + 17}" font-size="12" font-weight="bold" fill="#24292f">${esc(box.title)}</text>`);
    box.units.forEach((u, i) => {
      out.push(`<text x="${box.x + 14}" y="${box.y + HEAD + i * LINE + 12}" font-size="12" fill="#424a53">${esc(u)}</text>`);
    });
  }
  model.paths.forEach((p, n) => {
    p.hops.forEach((hop, i) => out.push(arrow(boxes, hop, p.color, i + 1)));
    const x = 20 + n * (width / 2);
    out.push(`<text x="${x}" y="${legendTop + 14}" font-size="13" font-weight="bold" fill="${p.color}">${esc(p.title)}</text>`);
    p.hops.forEach(([, , label], i) => {
      out.push(`<text x="${x}" y="${legendTop + 14 + (i + 1) * 18}" font-size="12" fill="#24292f"><tspan fill="${p.color}" font-weight="bold">${i + 1}</tspan>  ${esc(label)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function main() {
  const source = path.join(__dirname, '..', 'docs', 'architecture.json');
  const target = path.resolve(process.argv[2] || path.join(__dirname, '..', 'docs', 'architecture.svg'));
  fs.writeFileSync(target, render(JSON.parse(fs.readFileSync(source, 'utf8'))));
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}

if (require.main === module) main();

module.exports = { render };
