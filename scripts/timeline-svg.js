'use strict';

/**
 * Runs one real failure scenario and draws its events on a time axis (docs/timeline.svg):
 *
 *   open → (fault proxy blackholes the path) → heartbeat timeout → reconnecting →
 *   server answers 503 Retry-After: 1 → reconnecting (waits for Retry-After) → open → close
 *
 *   node scripts/timeline-svg.js [out.svg]      default docs/timeline.svg
 *
 * Uses the test helpers (a `ws` server and the fault proxy on loopback); every timestamp is the
 * moment JavaScript saw the event, relative to the socket's construction. The event list is
 * printed too, so the drawing can be checked against the numbers.
 */

const fs = require('fs');
const { once } = require('../bench/util');
const path = require('path');
const { performance } = require('perf_hooks');
const { ResilientSocket } = require('..');
const { startWsServer } = require('../test/helpers/servers');
const { startFaultProxy } = require('../test/helpers/fault-proxy');

const HEARTBEAT = { interval: 1000, timeout: 500 };
// Equal jitter keeps the first retry 150-300 ms out, so the proxy is back to 'pass' before it.
const RECONNECT = { initialDelay: 300, maxDelay: 4000, jitter: 'equal' };
const RETRY_AFTER_S = 1;

const out = path.resolve(process.argv[2] || path.join(__dirname, '..', 'docs', 'timeline.svg'));


/** Runs the scenario; returns { events, marks } with times in ms from the socket's creation. */
async function runScenario() {
  let rejectNext = false;
  const server = await startWsServer({
    reject: () => {
      if (!rejectNext) return null;
      rejectNext = false; // once: the retry after Retry-After is accepted
      marks.push({ at: performance.now() - t0, label: `server: 503, Retry-After: ${RETRY_AFTER_S}`, kind: 'fault' });
      return { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_S) } };
    },
  });
  const proxy = await startFaultProxy({ target: { port: server.port } });
  const events = [];
  const marks = [];
  const t0 = performance.now();
  const sock = new ResilientSocket(proxy.url(), { heartbeat: HEARTBEAT, reconnect: RECONNECT, connectTimeout: 2000 });
  for (const name of ['state', 'connecting', 'open', 'heartbeat', 'disconnect', 'reconnecting', 'close']) {
    sock.on(name, (payload) => events.push({ at: performance.now() - t0, name, payload }));
  }
  try {
    await once(sock, 'open', 10000);
    await once(sock, 'heartbeat', 10000); // one healthy ping/pong first
    // Silence right after a pong: the worst case the bound is about.
    await once(sock, 'heartbeat', 10000);
    marks.push({ at: performance.now() - t0, label: 'fault proxy: blackhole', kind: 'fault' });
    await proxy.setMode('blackhole');
    await once(sock, 'disconnect', 10000);
    // The network heals, but the server is overloaded for a moment.
    rejectNext = true;
    await proxy.setMode('pass');
    marks.push({ at: performance.now() - t0, label: 'fault proxy: pass', kind: 'heal' });
    await once(sock, 'open', 15000, (o) => o.reconnected);
    await once(sock, 'heartbeat', 10000);
    await sock.close();
  } finally {
    await proxy.stop();
    await server.close();
  }
  return { events, marks };
}

// ---------------------------------------------------------------------------
// Drawing

// A white outline under label text keeps the marker lines behind it readable.
const HALO = 'paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round"';
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const STATE_COLORS = {
  connecting: '#f2c14e', open: '#5bb56a', reconnecting: '#e07a5f', closing: '#9aa5b1', closed: '#cfd6dd', failed: '#b33',
};

function describe(e) {
  const p = e.payload;
  switch (e.name) {
    case 'connecting': return `connecting #${p.attempt}`;
    case 'open': return `open #${p.attempt}${p.reconnected ? ' (reconnected)' : ''}`;
    case 'heartbeat': return `pong, rtt ${p.rtt.toFixed(1)} ms`;
    case 'disconnect': return `disconnect ${p.code}${p.error ? ` ${p.error.code}` : ''}`;
    case 'reconnecting': {
      const why = p.status ? `${p.status}, retryAfter ${p.retryAfter} ms` : p.error ? p.error.code : '';
      return `reconnecting #${p.attempt} in ${p.delay} ms${why ? ` (${why})` : ''}`;
    }
    case 'close': return `close ${p.code}`;
    default: return e.name;
  }
}

function render({ events, marks }) {
  const width = 1100;
  const left = 40;
  const right = 30;
  const end = Math.max(...events.map((e) => e.at), ...marks.map((m) => m.at)) + 200;
  const x = (t) => left + (t / end) * (width - left - right);
  const bandY = 70;
  const bandH = 26;
  const rowH = 17;
  const charW = 6.3;

  // Labelled points: socket events (except state changes) and the scenario's own actions.
  const points = [
    ...events.filter((e) => e.name !== 'state').map((e) => ({ at: e.at, label: describe(e), kind: e.name })),
    ...marks,
  ].sort((a, b) => a.at - b.at);
  // Greedy rows: a label goes to the first row where it overlaps nothing; near the right edge
  // it is drawn to the left of its marker.
  const rows = []; // per row: occupied [from, to] pixel ranges
  for (const p of points) {
    const w = p.label.length * charW + 6;
    p.flip = x(p.at) + w > width - 4;
    const span = p.flip ? [x(p.at) - w, x(p.at)] : [x(p.at), x(p.at) + w];
    let row = rows.findIndex((taken) => taken.every(([a, b]) => span[1] < a - 4 || span[0] > b + 4));
    if (row === -1) {
      row = rows.length;
      rows.push([]);
    }
    rows[row].push(span);
    p.row = row;
  }
  const rowEnds = rows;
  const labelsTop = bandY + bandH + 30;
  const axisY = labelsTop + rowEnds.length * rowH + 20;
  const height = axisY + 70;

  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">resilient-ws: a dead path, a busy server, and back (one real run)</text>`);
  parts.push(`<text x="${left}" y="44" fill="#555">heartbeat ${HEARTBEAT.interval}/${HEARTBEAT.timeout} ms · reconnect ${esc(JSON.stringify(RECONNECT))} · times as seen by JavaScript, from construction</text>`);

  // State band. The initial 'connecting' has no state event (the socket starts in it).
  const firstConnecting = events.find((e) => e.name === 'connecting');
  const states = [
    ...(firstConnecting ? [{ at: firstConnecting.at, payload: { state: 'connecting' } }] : []),
    ...events.filter((e) => e.name === 'state'),
  ];
  states.forEach((s, i) => {
    const from = s.at;
    const to = i + 1 < states.length ? states[i + 1].at : end;
    const color = STATE_COLORS[s.payload.state] || '#ccc';
    const w = Math.max(1, x(to) - x(from));
    parts.push(`<rect x="${x(from).toFixed(1)}" y="${bandY}" width="${w.toFixed(1)}" height="${bandH}" fill="${color}"/>`);
    if (w > s.payload.state.length * charW + 6) {
      parts.push(`<text x="${(x(from) + 4).toFixed(1)}" y="${bandY + 17}" fill="#111">${esc(s.payload.state)}</text>`);
    }
  });
  parts.push(`<text x="${left}" y="${bandY - 6}" fill="#555">state</text>`);

  // Detection bracket: last inbound (the pong before the blackhole) → the disconnect.
  const blackhole = marks.find((m) => m.label.includes('blackhole'));
  const disconnect = events.find((e) => e.name === 'disconnect');
  const lastPong = [...events].reverse().find((e) => e.name === 'heartbeat' && blackhole && e.at <= blackhole.at);
  let bracketText = '';
  if (lastPong && disconnect) {
    const y = bandY + bandH + 12;
    const x1 = x(lastPong.at);
    const x2 = x(disconnect.at);
    parts.push(`<path d="M${x1.toFixed(1)} ${y - 4} V${y} H${x2.toFixed(1)} V${y - 4}" fill="none" stroke="#b33" stroke-width="1.5"/>`);
    const text = `dead path found ${Math.round(disconnect.at - lastPong.at)} ms after the last inbound frame (bound interval + timeout = ${HEARTBEAT.interval + HEARTBEAT.timeout} ms)`;
    bracketText = `<text x="${((x1 + x2) / 2).toFixed(1)}" y="${y + 12}" text-anchor="middle" fill="#b33" ${HALO}>${esc(text)}</text>`;
  }

  // Markers and labels.
  const colorOf = (kind) => ({ fault: '#b33', heal: '#2a7', disconnect: '#b33', reconnecting: '#c60', open: '#2a7', heartbeat: '#888' }[kind] || '#345');
  // Every marker line first, then every label, so no line crosses a label.
  const labels = [];
  for (const p of points) {
    const px = x(p.at);
    const ly = labelsTop + 14 + p.row * rowH;
    const c = colorOf(p.kind);
    parts.push(`<line x1="${px.toFixed(1)}" y1="${bandY}" x2="${px.toFixed(1)}" y2="${ly - 3}" stroke="${c}" stroke-width="1" stroke-dasharray="${p.kind === 'fault' || p.kind === 'heal' ? '4 2' : 'none'}" opacity="0.7"/>`);
    parts.push(`<circle cx="${px.toFixed(1)}" cy="${ly - 4}" r="2.5" fill="${c}"/>`);
    const tx = p.flip ? px - 5 : px + 4;
    labels.push(`<text x="${tx.toFixed(1)}" y="${ly}" fill="${c}"${p.flip ? ' text-anchor="end"' : ''} ${HALO}>${esc(p.label)}</text>`);
  }

  parts.push(...labels, bracketText);

  // Time axis.
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${width - right}" y2="${axisY}" stroke="#333"/>`);
  const step = end > 8000 ? 1000 : 500;
  for (let t = 0; t <= end; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="${axisY}" x2="${x(t).toFixed(1)}" y2="${axisY + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 18}" text-anchor="middle" fill="#333">${(t / 1000).toFixed(1)} s</text>`);
  }
  // Legend.
  let lx = left;
  const ly = axisY + 45;
  for (const [state, color] of Object.entries(STATE_COLORS).slice(0, 5)) {
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${ly}" fill="#333">${state}</text>`);
    lx += 30 + state.length * charW;
  }
  parts.push(`<text x="${lx + 10}" y="${ly}" fill="#b33">dashed: what the scenario did to the network or server</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

async function main() {
  const run = await runScenario();
  for (const e of [...run.events.map((ev) => ({ at: ev.at, text: ev.name === 'state' ? `state → ${ev.payload.state}` : describe(ev) })),
    ...run.marks.map((m) => ({ at: m.at, text: `[${m.label}]` }))].sort((a, b) => a.at - b.at)) {
    process.stdout.write(`${String(Math.round(e.at)).padStart(6)} ms  ${e.text}\n`);
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, render(run));
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
