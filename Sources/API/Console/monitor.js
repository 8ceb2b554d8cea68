// What the channel page shows about a live stream over time: viewers per protocol, health
// warnings, small history charts and the events timeline. Each part asks the API only for routes
// the server's OpenAPI document lists, so a server without one shows nothing rather than errors.
import { h, svg, formatBitrate, formatTime, healthOf, protocolNames, viewerCount } from './dom.js';

let routeList = null;

// Whether the server serves `GET path` (an OpenAPI path template such as /api/v1/streams/{id}/history).
export async function serves(path) {
  routeList ??= fetch('/api/v1/openapi.json', { cache: 'no-cache' })
    .then((response) => (response.ok ? response.json() : { paths: {} }))
    .then((document) => document.paths || {})
    .catch(() => ({}));
  return !!(await routeList)[path]?.get;
}

// ---------- Viewers per protocol ----------

// Chips "LL-HLS 2 · HTTP-FLV 1" from a stream's `viewers`; each carries data-protocol/data-count.
export function viewerChips(stream) {
  if (!stream) return [h('span', { class: 'muted', text: 'Not live.' })];
  const counts = stream.viewers || {};
  const names = [...Object.keys(protocolNames), ...Object.keys(counts).filter((name) => !(name in protocolNames))];
  const chips = names.filter((name) => name in counts).map((name) =>
    h('span', { class: 'chip', dataset: { protocol: name, count: String(counts[name]) } },
      `${protocolNames[name] || name}\u00a0`, h('strong', { text: String(counts[name]) })));
  return chips.length ? chips : [h('span', { class: 'muted', text: 'No viewers.' })];
}

// A table of the WHEP viewers the answering node serves (`stream.webrtc`): client, round trip,
// loss and NACKs. Null when there are none.
export function webRTCViewerTable(stream) {
  const viewers = Array.isArray(stream?.webrtc) ? stream.webrtc : [];
  if (!viewers.length) return null;
  const number = (value) => (Number.isFinite(value) ? value : null);
  const cells = (viewer) => [viewer.clientIP || '—', number(viewer.rttMs) === null ? '—' : `${Math.round(viewer.rttMs)}\u00a0ms`,
    `${((number(viewer.fractionLost) ?? 0) * 100).toFixed(1)}\u00a0%`, String(number(viewer.packetsLost) ?? 0),
    String(number(viewer.nacks) ?? 0), String(number(viewer.retransmitted) ?? 0),
    `${Math.round(number(viewer.connectedSeconds) ?? 0)}\u00a0s`];
  return h('table', { id: 'webrtc-viewers' },
    h('caption', { class: 'muted', text: 'WebRTC viewers on this node', style: 'text-align:left' }),
    h('thead', {}, h('tr', {}, ['Client', 'RTT', 'Loss', 'Lost', 'NACKs', 'Resent', 'Connected'].map((label) => h('th', { text: label })))),
    h('tbody', {}, viewers.map((viewer) => h('tr', { dataset: { webrtcViewer: '' } }, cells(viewer).map((text) => h('td', { text }))))));
}

// ---------- Health ----------

// The list of a stream's warnings for the channel page (empty and hidden when there are none).
export function healthList(stream, channel) {
  const warnings = healthOf(stream, channel);
  const labels = { critical: 'Problem', warning: 'Warning', info: 'Note' };
  return warnings.map((warning) => h('li', { class: `health ${labels[warning.severity] ? warning.severity : 'warning'}`,
    dataset: { code: String(warning.code), severity: String(warning.severity || 'warning') } },
  h('strong', { text: labels[warning.severity] || 'Warning' }), ' ', warning.message || warning.code,
  warning.since ? h('span', { class: 'muted', text: ` · since ${formatTime(warning.since)}` }) : null));
}

// A small badge for the channel list and the channel heading: "⚠ 2", titled with the messages.
export function healthBadge(stream, channel) {
  const warnings = healthOf(stream, channel);
  if (!warnings.length) return null;
  return h('span', { class: 'badge warn', dataset: { health: String(warnings.length) }, title: warnings.map((w) => w.message || w.code).join('\n'),
    'aria-label': `${warnings.length} health warning${warnings.length === 1 ? '' : 's'}: ${warnings.map((w) => w.message || w.code).join(' ')}`,
    text: `⚠\u00a0${warnings.length}` });
}

// ---------- History charts ----------

const sum = (object) => Object.values(object || {}).reduce((total, count) => total + (Number.isFinite(count) ? count : 0), 0);
const metrics = [
  { key: 'ingestKbps', label: 'Ingest bitrate', format: (v) => formatBitrate(v * 1000) },
  { key: 'frameRate', label: 'Frame rate', format: (v) => `${v.toFixed(1)}\u00a0fps` },
  { key: 'keyframeIntervalSeconds', label: 'Keyframe interval', format: (v) => `${v.toFixed(1)}\u00a0s`, limit: 4 },
  { key: 'audioKbps', label: 'Audio bitrate', format: (v) => `${Math.round(v)}\u00a0kbit/s` },
  { key: 'viewers', label: 'Viewers', value: (sample) => sum(sample.viewers), format: (v) => String(Math.round(v)) },
  { key: 'droppedFrames', label: 'Dropped frames', format: (v) => String(Math.round(v)) },
];
const valueOf = (metric, sample) => {
  const value = metric.value ? metric.value(sample) : sample[metric.key];
  return Number.isFinite(value) ? value : null;
};

// One chart: the line over the window ending at the newest sample, the newest value and the top of the scale.
function drawChart(figure, metric, samples, windowSeconds) {
  const width = 300, height = 60;
  const times = samples.map((sample) => Date.parse(sample.at));
  // The window grows with the history, from one minute up to `windowSeconds`, so a stream that
  // just started fills its chart instead of a sliver at the right edge.
  const right = times[times.length - 1];
  const span = Math.min(windowSeconds, Math.max(60, (right - times[0]) / 1000)) * 1000, left = right - span;
  const values = samples.map((sample) => valueOf(metric, sample));
  const top = Math.max(metric.limit ? metric.limit * 1.25 : 0, ...values.filter((v) => v !== null), 1) * 1.1;
  let path = '', pen = false;
  samples.forEach((_, index) => {
    const value = values[index];
    if (value === null || !(times[index] >= left)) { pen = false; return; }
    const x = ((times[index] - left) / span) * width, y = height - (value / top) * height;
    // A run's first point gets a short stroke of its own, so a lone sample is still seen.
    path += pen ? `L${x.toFixed(1)} ${y.toFixed(1)}` : `M${x.toFixed(1)} ${y.toFixed(1)}h0.8`;
    pen = true;
  });
  const newest = values[values.length - 1];
  figure.querySelector('.current').textContent = newest === null ? '—' : metric.format(newest);
  figure.querySelector('.scale').textContent = `max ${metric.format(top / 1.1)}`;
  const drawing = figure.querySelector('svg');
  drawing.replaceChildren(
    metric.limit ? svg('line', { class: 'limit', x1: 0, x2: width, y1: height - (metric.limit / top) * height, y2: height - (metric.limit / top) * height }) : null,
    svg('path', { class: 'line', d: path || 'M0 0' }));
  figure.dataset.samples = String(samples.length);
  figure.dataset.last = newest === null ? '' : String(newest);
  figure.dataset.lastAt = samples[samples.length - 1]?.at || '';
  figure.classList.toggle('over', !!metric.limit && newest !== null && newest > metric.limit);
}

// The charts panel: polls the stream's history every `everyMs` while `isLive()`, one request at
// a time, keeping at most `windowSeconds` of one-second samples. Stops with `cleanups`, or once
// `signal` (the page's) has aborted.
export async function historyCharts(streamID, { api, isLive, cleanups, signal, windowSeconds = 300, everyMs = 2000 }) {
  if (!(await serves('/api/v1/streams/{id}/history'))) return null;
  const figures = metrics.map((metric) => h('figure', { class: 'chart', dataset: { metric: metric.key, samples: '0' } },
    h('figcaption', {}, h('span', { text: metric.label }), h('span', { class: 'current', text: '—' })),
    svg('svg', { viewBox: '0 0 300 60', preserveAspectRatio: 'none', role: 'img', 'aria-label': `${metric.label} over the last ${windowSeconds / 60} minutes` }),
    h('div', { class: 'scale muted' })));
  const note = h('p', { class: 'muted', id: 'history-note', text: 'Not live.' });
  let samples = [], busy = false, stopped = false;
  const poll = async () => {
    if (signal?.aborted) { stop(); return; }
    if (busy || stopped || !isLive()) { if (!isLive()) note.hidden = false; return; }
    busy = true;
    try {
      const newest = samples[samples.length - 1]?.at;
      const asked = newest ? Math.min(windowSeconds, 10) : windowSeconds;
      const history = await api('GET', `/streams/${encodeURIComponent(streamID)}/history?seconds=${asked}`);
      const fresh = (Array.isArray(history?.samples) ? history.samples : []).filter((sample) => !newest || sample.at > newest);
      samples = samples.concat(fresh).slice(-windowSeconds);
      note.hidden = samples.length > 0;
      if (samples.length && !stopped) metrics.forEach((metric, index) => drawChart(figures[index], metric, samples, windowSeconds));
    } catch { /* not live any more, or the node is busy: the next tick asks again */ }
    finally { busy = false; }
  };
  const timer = setInterval(poll, everyMs);
  const stop = () => { stopped = true; clearInterval(timer); };
  cleanups.push(stop);
  poll();
  return h('div', { class: 'panel', id: 'history' }, h('h2', { text: `Last ${windowSeconds / 60} minutes` }), note,
    h('div', { class: 'charts' }, figures),
    h('p', { class: 'hint', text: 'One sample a second from the node that ingests the stream; refreshed every 2 s.' }));
}

// ---------- Events timeline ----------

const eventLabels = {
  'stream.online': 'Online', 'stream.offline': 'Offline', 'publish.rejected': 'Refused', 'relay.started': 'Relay',
  'relay.failed': 'Relay failed', 'webhook.failed': 'Webhook failed', motion: 'Motion', 'motion.started': 'Motion',
  'motion.ended': 'Motion ended', 'recording.ready': 'Recording', 'snapshot.ready': 'Snapshot', 'stream.health': 'Health',
};
const badEvents = new Set(['publish.rejected', 'relay.failed', 'webhook.failed', 'stream.health']);

function eventItem(event) {
  return h('li', { dataset: { type: String(event.type), id: String(event.id) } },
    h('time', { datetime: event.at, text: formatTime(event.at), title: new Date(event.at).toLocaleString() }),
    h('span', { class: badEvents.has(event.type) ? 'badge failed' : event.type === 'stream.online' ? 'badge live' : 'badge',
      text: eventLabels[event.type] || event.type }),
    h('span', { class: 'summary', text: event.summary || event.type }));
}

// The channel's events, newest first: the first page refreshed every `everyMs`, older pages on
// request; at most `keep` events held.
export async function eventsTimeline(channelID, { api, cleanups, signal, everyMs = 5000, keep = 500 }) {
  if (!(await serves('/api/v1/channels/{id}/events'))) return null;
  const list = h('ol', { class: 'timeline', id: 'events' });
  const older = h('button', { type: 'button', class: 'ghost small', id: 'events-older', text: 'Older', hidden: true });
  const empty = h('p', { class: 'muted', text: 'Nothing has happened on this channel yet.', hidden: true });
  const path = `/channels/${encodeURIComponent(channelID)}/events`;
  let events = [], cursor = null, busy = false, stopped = false;
  const draw = () => {
    list.replaceChildren(...events.map(eventItem));
    empty.hidden = events.length > 0;
    older.hidden = !cursor || events.length >= keep;
  };
  const refresh = async () => {
    if (signal?.aborted) { stop(); return; }
    if (busy || stopped) return;
    busy = true;
    try {
      const page = await api('GET', `${path}?limit=20`);
      const known = new Set(events.map((event) => event.id));
      const fresh = (page?.events || []).filter((event) => !known.has(event.id));
      if (!events.length) cursor = page?.next || null;
      events = fresh.concat(events).slice(0, keep);
      if (!stopped) draw();
    } catch { /* tried again at the next tick */ }
    finally { busy = false; }
  };
  older.addEventListener('click', async () => {
    if (!cursor) return;
    try {
      const page = await api('GET', `${path}?limit=20&before=${encodeURIComponent(cursor)}`);
      const known = new Set(events.map((event) => event.id));
      events = events.concat((page?.events || []).filter((event) => !known.has(event.id))).slice(0, keep);
      cursor = page?.next || null;
      draw();
    } catch { older.textContent = 'Older (failed, try again)'; }
  });
  const timer = setInterval(refresh, everyMs);
  const stop = () => { stopped = true; clearInterval(timer); };
  cleanups.push(stop);
  await refresh();
  return h('div', { class: 'panel', id: 'events-panel' }, h('h2', { text: 'Events' }), empty, list, older);
}

export { viewerCount };
