// Sluice's web console: one module, no framework, nothing from a CDN. It talks to the REST API
// under /api/v1 with the session cookie set at sign-in (HttpOnly: this script never sees it)
// and sends the session's CSRF token, kept only in memory, with every change.
import { playHTTPFLV, playLowLatencyHLS } from './player.js';
import { playWHEP } from './webrtc.js';
import { attachControls, nativeSource } from './player-controls.js';
import { h, copyButton, formatBitrate, formatBytes, formatDate, statusBadge, viewerCount } from './dom.js';
import { eventsTimeline, healthBadge, healthList, historyCharts, viewerChips, webRTCViewerTable } from './monitor.js';

// ---------- API client ----------

const session = { csrf: null, scope: null };

class APIFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.fields = body?.error?.fields || [];
  }
}

// One API call. `json` is sent as JSON; `body` as it is (with `type`); `etag` as If-Match.
async function api(method, path, { json, body, type, etag, raw } = {}) {
  const headers = {};
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  else if (type) headers['Content-Type'] = type;
  if (etag) headers['If-Match'] = etag;
  const response = await fetch('/api/v1' + path, { method, headers, body, credentials: 'same-origin' });
  if (response.status === 401 && path !== '/console/session') { signedOut(); throw new APIFailure(401, null); }
  if (!response.ok) throw new APIFailure(response.status, await response.json().catch(() => null));
  if (raw) return response;
  if (response.status === 204) return null;
  const data = await response.json();
  const tag = response.headers.get('ETag');
  if (tag && data && typeof data === 'object') Object.defineProperty(data, 'etag', { value: tag });
  return data;
}

const canWrite = () => session.scope === 'admin' || session.scope === 'read-write';

const main = () => document.getElementById('main');
let toastTimer;
function toast(message) {
  const element = document.getElementById('toast');
  element.textContent = message;
  element.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => element.classList.remove('show'), 2500);
}

const relayItem = (relay) => h('li', {}, statusBadge(relay.state, 'live'), ' ', relay.destination, relay.lastError ? ` — ${relay.lastError}` : '');

// ---------- Live stream feed (server-sent events) ----------

const live = { streams: new Map(), listeners: new Set(), source: null };

function startLiveFeed() {
  live.source?.close();
  live.source = new EventSource('/api/v1/events/streams');
  live.source.onmessage = (event) => {
    const { streams } = JSON.parse(event.data);
    live.streams = new Map(streams.map((stream) => [stream.id, stream]));
    for (const listener of live.listeners) listener();
  };
}

// Calls `listener` now and whenever the feed says something; stops when the view changes.
function onLive(listener) {
  live.listeners.add(listener);
  listener();
  view.cleanups.push(() => live.listeners.delete(listener));
}

// ---------- Router ----------

// The current page: what to undo when leaving it, and a signal that aborts when it is left (a
// page still loading then does not replace the newer one).
const view = { cleanups: [], controller: new AbortController() };

function navigate(hash) { if (location.hash === hash) route(); else location.hash = hash; }

async function route() {
  for (const cleanup of view.cleanups.splice(0)) cleanup();
  view.controller.abort();
  view.controller = new AbortController();
  if (!session.csrf) return renderSignIn();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.toggleAttribute('aria-current', link.dataset.nav === (parts[0] || 'channels'));
    if (link.hasAttribute('aria-current')) link.setAttribute('aria-current', 'page');
  }
  try {
    if (parts[0] === 'channels' && parts[1]) await renderChannel(parts[1], parts[2] || 'overview');
    else if (parts[0] === 'recordings') await renderRecordings(parts[1] === 'snapshots' ? 'snapshots' : 'media');
    else if (parts[0] === 'settings') await renderSettings();
    else await renderChannels();
  } catch (error) {
    if (error.status === 401) return;
    main().replaceChildren(h('div', { class: 'panel' }, h('h1', { text: 'Something went wrong' }), h('p', { text: error.message })));
  }
}

// Shows a page, unless the person has gone elsewhere since `signal`'s page started loading.
function page(signal, title, ...children) {
  if (signal.aborted) return;
  document.title = `${title} · Sluice console`;
  main().replaceChildren(...children);
  main().focus({ preventScroll: true });
}

// ---------- Sign in and out ----------

function renderSignIn() {
  const signal = view.controller.signal;
  document.getElementById('top').hidden = true;
  const error = h('p', { class: 'error', id: 'signin-error', role: 'alert' });
  const key = h('input', { type: 'password', id: 'api-key', name: 'key', autocomplete: 'current-password', required: true,
    'aria-describedby': 'signin-error' });
  const form = h('form', { class: 'panel signin', id: 'signin-form', onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      const info = await api('POST', '/console/session', { json: { key: key.value } });
      key.value = '';
      signedIn(info);
      if (!location.hash || location.hash === '#/signin') location.hash = '#/channels'; else route();
    } catch (failure) {
      error.textContent = failure.status === 401 ? 'That API key is not valid.' : failure.message;
      key.setAttribute('aria-invalid', 'true');
      key.focus();
    }
  } },
  h('h1', { text: 'Sign in to Sluice' }),
  h('div', { class: 'field' }, h('label', { for: 'api-key', text: 'API key' }), key,
    h('p', { class: 'hint', text: 'sluice serve prints the admin key when it first starts. The key is exchanged for a session cookie and not kept by this page.' })),
  error,
  h('button', { type: 'submit', id: 'signin-button', text: 'Sign in' }));
  page(signal, 'Sign in', form);
  key.focus();
}

function signedIn(info) {
  session.csrf = info.csrfToken;
  session.scope = info.scope;
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = `Signed in · ${info.scope}`;
  startLiveFeed();
}

function signedOut() {
  session.csrf = null;
  session.scope = null;
  live.source?.close();
  live.source = null;
  renderSignIn();
}

async function signOut() {
  try { await api('DELETE', '/console/session'); } catch { /* the session is gone either way */ }
  signedOut();
  history.replaceState(null, '', '#/signin');
}

// ---------- Channels list ----------

async function renderChannels() {
  const signal = view.controller.signal;
  const search = h('input', { type: 'search', id: 'channel-search', placeholder: 'Search by name', 'aria-label': 'Search channels by name' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'ghost', hidden: true, text: 'More' });
  let channels = [], next = null;
  const draw = () => body.replaceChildren(...(channels.length ? channels.map((channel) => {
    const stream = live.streams.get(channel.id);
    return h('tr', { dataset: { channel: channel.id } },
      h('td', {}, h('a', { href: `#/channels/${channel.id}`, text: channel.name })),
      h('td', {}, h('span', { class: 'row tight' }, h('span', { class: stream ? 'badge live' : 'badge', dataset: { status: stream ? 'live' : 'offline' }, text: stream ? 'Live' : 'Offline' }),
        stream && healthBadge(stream, channel))),
      h('td', { dataset: { viewers: String(viewerCount(stream)) }, text: stream ? String(viewerCount(stream)) : '—' }),
      h('td', { class: 'hide-narrow', text: stream ? `${stream.width || '?'}×${stream.height || '?'} · ${formatBitrate(stream.ingestBitrate)}` : '' }),
      h('td', { class: 'hide-narrow', text: Object.entries(channel.outputs).filter(([, on]) => on).map(([name]) => name.toUpperCase()).join(', ') }));
  }) : [h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No channels yet.' }))]));
  const load = async (append) => {
    const query = new URLSearchParams({ limit: '50' });
    if (search.value.trim()) query.set('name', search.value.trim());
    if (append && next) query.set('after', next);
    const list = await api('GET', `/channels?${query}`);
    channels = append ? channels.concat(list.items) : list.items;
    next = list.next || null;
    more.hidden = !next;
    draw();
  };
  let typing;
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => load(false), 250); });
  more.addEventListener('click', () => load(true));
  page(signal, 'Channels',
    h('h1', { text: 'Channels' }),
    h('div', { class: 'panel' },
      h('div', { class: 'row' }, h('div', { class: 'spacer' }, search),
        canWrite() && h('button', { type: 'button', id: 'new-channel', text: 'New channel', onclick: () => renderNewChannel() })),
      h('table', { id: 'channels' }, h('caption', { class: 'muted', text: 'Status and viewers update live.', style: 'text-align:left;padding:8px 0' }),
        h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Status' }), h('th', { text: 'Viewers' }),
          h('th', { class: 'hide-narrow', text: 'Source' }), h('th', { class: 'hide-narrow', text: 'Outputs' }))), body),
      more));
  await load(false);
  onLive(draw);
}

function renderNewChannel() {
  const signal = view.controller.signal;
  const form = settingsForm([
    { path: 'name', label: 'Name', type: 'text', required: true },
    { path: 'description', label: 'Description', type: 'textarea' },
  ], { name: '', description: '' }, async (values) => {
    const channel = await api('POST', '/channels', { json: values });
    toast('Channel created');
    navigate(`#/channels/${channel.id}`);
  }, 'Create channel');
  page(signal, 'New channel', h('h1', { text: 'New channel' }), h('div', { class: 'panel' }, form));
  form.querySelector('input')?.focus();
}

// ---------- Settings forms (one per section of the channel model) ----------

const get = (object, path) => path.split('.').reduce((value, key) => value?.[key], object);
function set(object, path, value) {
  const keys = path.split('.');
  let target = object;
  for (const key of keys.slice(0, -1)) target = target[key] ??= {};
  target[keys[keys.length - 1]] = value;
}
const inputID = (path) => 'f-' + path.replace(/\./g, '-');

// A form of `fields` ({path, label, type, options, hint, step, min, optional}) over `values`;
// `save(patch)` gets the fields as a nested object; API field errors land beside their inputs.
function settingsForm(fields, values, save, submitLabel = 'Save') {
  const controls = new Map();
  const errors = new Map();
  const rows = fields.map((field) => {
    const id = inputID(field.path);
    const value = get(values, field.path);
    const error = h('p', { class: 'error', id: id + '-error' });
    errors.set(field.path, error);
    let control;
    if (field.type === 'checkbox') {
      control = h('input', { type: 'checkbox', id, checked: !!value, 'aria-describedby': id + '-error' });
      controls.set(field.path, control);
      return h('div', { class: 'field check' }, h('label', { for: id }, control, field.label), field.hint && h('p', { class: 'hint', text: field.hint }), error);
    }
    if (field.type === 'select') {
      control = h('select', { id, 'aria-describedby': id + '-error' }, field.options.map((option) =>
        h('option', { value: option, text: option === '' ? '(none)' : option, selected: option === value })));
    } else if (field.type === 'choices') {
      control = h('div', { role: 'group', id, 'aria-label': field.label, class: 'row' }, field.options.map((option) =>
        h('label', { class: 'row', style: 'font-weight:500' }, h('input', { type: 'checkbox', value: option, checked: (value || []).includes(option) }), option)));
    } else if (field.type === 'textarea') {
      control = h('textarea', { id, rows: 2, 'aria-describedby': id + '-error' });
      control.value = value ?? '';
    } else if (field.type === 'datetime') {
      control = h('input', { type: 'datetime-local', id, 'aria-describedby': id + '-error' });
      if (value) control.value = new Date(value).toISOString().slice(0, 16);
    } else {
      control = h('input', { type: field.type, id, step: field.step, min: field.min, required: field.required,
        placeholder: field.placeholder, 'aria-describedby': id + '-error' });
      control.value = value ?? '';
    }
    controls.set(field.path, control);
    return h('div', { class: 'field' }, h('label', { for: id, text: field.label }), control,
      field.hint && h('p', { class: 'hint', text: field.hint }), error);
  });
  const status = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit', text: submitLabel, disabled: !canWrite() });
  const read = () => {
    const patch = {};
    for (const field of fields) {
      const control = controls.get(field.path);
      let value;
      if (field.type === 'checkbox') value = control.checked;
      else if (field.type === 'choices') value = [...control.querySelectorAll('input:checked')].map((box) => box.value);
      else if (field.type === 'number') value = control.value === '' ? (field.optional ? null : NaN) : Number(control.value);
      else if (field.type === 'datetime') value = control.value ? new Date(control.value).toISOString().replace('.000Z', 'Z') : null;
      else value = control.value === '' && field.optional ? null : control.value;
      set(patch, field.path, value);
    }
    return patch;
  };
  const form = h('form', { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    status.textContent = '';
    for (const [path, error] of errors) { error.textContent = ''; controls.get(path).removeAttribute('aria-invalid'); }
    button.disabled = true;
    try {
      await save(read());
    } catch (failure) {
      let placed = false;
      for (const { field, message } of failure.fields || []) {
        const match = [...errors.keys()].find((path) => field === path || field.startsWith(path + '[') || field.startsWith(path + '.'));
        if (match) {
          errors.get(match).textContent = message;
          controls.get(match).setAttribute('aria-invalid', 'true');
          placed = true;
        } else status.textContent += `${field}: ${message}. `;
      }
      if (!placed && !status.textContent) status.textContent = failure.message;
      form.querySelector('[aria-invalid="true"]')?.focus();
    } finally {
      button.disabled = !canWrite();
    }
  } }, h('div', { class: 'form-grid' }, rows), status, h('div', { class: 'row' }, button));
  form.read = read;
  return form;
}

// Saves a section of a channel as a merge patch, guarded by the revision the page showed.
function channelSaver(state) {
  return async (patch) => {
    state.channel = await api('PATCH', `/channels/${state.channel.id}`, { json: patch, etag: state.channel.etag });
    toast('Saved');
    return state.channel;
  };
}

const sections = {
  general: { label: 'General', fields: [
    { path: 'name', label: 'Name', type: 'text' },
    { path: 'description', label: 'Description', type: 'textarea' },
    { path: 'enabled', label: 'Accept publishing', type: 'checkbox' },
    { path: 'expiresAt', label: 'Expires at (your time)', type: 'datetime', hint: 'Empty: never. After it, publishing is refused.' },
    { path: 'outputs.flv', label: 'HTTP-FLV and RTMP play', type: 'checkbox' },
    { path: 'outputs.hls', label: 'HLS (MPEG-TS)', type: 'checkbox', hint: 'Off for new channels: turn it on for iPhones, smart TVs and most web players.' },
    { path: 'outputs.llhls', label: 'Low-latency HLS (fMP4 parts)', type: 'checkbox', hint: 'Off for new channels: 2–3 s behind live in browsers; wants a 2 s keyframe interval.' },
    { path: 'outputs.dash', label: 'DASH (CMAF)', type: 'checkbox' },
    { path: 'hls.segmentSeconds', label: 'HLS segment seconds', type: 'number', step: '0.1' },
    { path: 'hls.listSize', label: 'HLS playlist length (segments)', type: 'number' },
    { path: 'hls.partSeconds', label: 'LL-HLS part seconds', type: 'number', step: '0.05', optional: true, hint: 'Empty: the default.' },
    { path: 'playback.signedUrls', label: 'Require signed play URLs', type: 'checkbox' },
    { path: 'admissionURL', label: 'Admission hook URL', type: 'url', optional: true, hint: 'Asked before every publish and play; empty: none.' },
  ] },
  recording: { label: 'Recording', fields: [
    { path: 'record.mp4.enabled', label: 'Record MP4 files', type: 'checkbox' },
    { path: 'record.mp4.segmentSeconds', label: 'MP4 file length (seconds)', type: 'number' },
    { path: 'record.vod.enabled', label: 'Record HLS for video on demand', type: 'checkbox' },
    { path: 'record.vod.segmentSeconds', label: 'VOD segment seconds', type: 'number' },
    { path: 'record.retentionDays', label: 'Keep recordings (days)', type: 'number', hint: '0 keeps everything.' },
  ] },
  snapshots: { label: 'Snapshots', fields: [
    { path: 'record.snapshots.enabled', label: 'Take JPG snapshots', type: 'checkbox' },
    { path: 'record.snapshots.intervalSeconds', label: 'Every (seconds)', type: 'number' },
  ] },
  dvr: { label: 'DVR & scrubbing', fields: [
    { path: 'dvr.windowMinutes', label: 'DVR window (minutes)', type: 'number', hint: '0–720; 0: off. Viewers can rewind this far; applies from the next publish.' },
    { path: 'trickPlay.iFramePlaylists', label: 'I-frame playlists (fast-forward, HLS)', type: 'checkbox' },
    { path: 'trickPlay.thumbnails.enabled', label: 'Thumbnails for scrubbing', type: 'checkbox' },
    { path: 'trickPlay.thumbnails.intervalSeconds', label: 'A thumbnail every (seconds)', type: 'number', hint: '1–60.' },
    { path: 'trickPlay.thumbnails.columns', label: 'Thumbnails across a sprite', type: 'number', hint: '1–10.' },
    { path: 'trickPlay.thumbnails.rows', label: 'Thumbnails down a sprite', type: 'number', hint: '1–10.' },
    { path: 'trickPlay.thumbnails.width', label: 'Thumbnail width (px)', type: 'number', hint: '64–640.' },
  ] },
  motion: { label: 'Motion', fields: [
    { path: 'motion.enabled', label: 'Detect motion', type: 'checkbox' },
    { path: 'motion.pixelPercent', label: 'Changed pixels (%) that count as motion', type: 'number' },
    { path: 'motion.pixelDiff', label: 'Brightness change that counts (0–255)', type: 'number' },
    { path: 'motion.holdSeconds', label: 'Quiet seconds that end a clip', type: 'number' },
    { path: 'motion.maxSeconds', label: 'Longest clip (seconds)', type: 'number' },
  ] },
  transcoding: { label: 'Transcoding', fields: [
    { path: 'transcode.enabled', label: 'Transcode to a ladder', type: 'checkbox' },
    { path: 'transcode.renditions', label: 'Renditions', type: 'choices', options: ['360p', '480p', '720p', '1080p'] },
    { path: 'transcode.codec', label: 'Codec', type: 'select', options: ['h264', 'h265'] },
    { path: 'transcode.preset', label: 'Encoder preset', type: 'select', options: ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] },
    { path: 'transcode.tune', label: 'Encoder tune', type: 'select', options: ['', 'zerolatency', 'fastdecode', 'grain', 'animation', 'psnr', 'ssim'] },
  ] },
  watermark: { label: 'Watermark', fields: [
    { path: 'watermark.text.enabled', label: 'Draw text', type: 'checkbox' },
    { path: 'watermark.text.text', label: 'Text', type: 'text' },
    { path: 'watermark.text.fontSize', label: 'Font size (px)', type: 'number' },
    { path: 'watermark.text.color', label: 'Colour', type: 'text', placeholder: '#FFFFFF' },
    { path: 'watermark.text.x', label: 'Text x (px)', type: 'number' },
    { path: 'watermark.text.y', label: 'Text y (px)', type: 'number' },
    { path: 'watermark.image.enabled', label: 'Draw the image', type: 'checkbox' },
    { path: 'watermark.image.width', label: 'Image width (px)', type: 'number' },
    { path: 'watermark.image.height', label: 'Image height (px)', type: 'number' },
    { path: 'watermark.image.x', label: 'Image x (px)', type: 'number' },
    { path: 'watermark.image.y', label: 'Image y (px)', type: 'number' },
  ] },
  relays: { label: 'Relays' },
  webhooks: { label: 'Webhooks' },
};

// ---------- Channel page ----------

async function renderChannel(id, tab) {
  const signal = view.controller.signal;
  const state = { channel: await api('GET', `/channels/${encodeURIComponent(id)}`) };
  const channel = state.channel;
  const badge = h('span', { class: 'badge', id: 'live-badge', text: 'Offline' });
  const healthMark = h('a', { href: `#/channels/${channel.id}`, id: 'health-badge', class: 'plain' });
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Channel sections' },
    [['overview', 'Overview'], ...Object.entries(sections).map(([key, section]) => [key, section.label])].map(([key, label]) =>
      h('a', { href: `#/channels/${channel.id}/${key}`, text: label, 'aria-current': key === tab ? 'page' : undefined })));
  const content = h('div', {});
  page(signal, channel.name, h('h1', {}, h('span', { id: 'channel-name', text: channel.name }), badge, healthMark), tabs, content);
  onLive(() => {
    const stream = live.streams.get(channel.id);
    badge.textContent = stream ? 'Live' : 'Offline';
    badge.className = stream ? 'badge live' : 'badge';
    healthMark.replaceChildren(...[stream && healthBadge(stream, null)].filter(Boolean));
  });
  if (tab === 'overview') return renderOverview(state, content, signal);
  if (tab === 'relays') return renderRelays(state, content);
  if (tab === 'webhooks') {
    content.append(h('div', { class: 'panel' }, h('h2', { text: 'Webhooks of this channel' }),
      h('p', { class: 'hint', text: 'Besides the global webhooks (Settings), these receivers get this channel’s events.' }),
      webhookEditor(state.channel.webhooks, 'channel-webhooks', async (webhooks) => { await channelSaver(state)({ webhooks }); })));
    return;
  }
  const section = sections[tab];
  if (!section) return navigate(`#/channels/${channel.id}`);
  const form = settingsForm(section.fields, channel, async (patch) => {
    await channelSaver(state)(patch);
    if (tab === 'watermark') drawWatermarkPreview(state);
  });
  form.id = `${tab}-form`;
  content.append(h('div', { class: 'panel' }, h('h2', { text: section.label }), liveNotice(channel.id, tab), form));
  if (tab === 'general') content.append(dangerZone(state));
  if (tab === 'watermark') content.append(await watermarkImagePanel(state, form));
}

// What saving does while the channel is live: transcoding, watermark and relays change at the
// stream's next keyframe, without the publisher reconnecting; shown only while it is live.
const appliesLive = {
  transcoding: 'The channel is live: a saved ladder applies within a few seconds, at the stream’s next keyframe, without the publisher reconnecting. Players of the stream’s own URLs are not interrupted; a new rendition plays once its first segments are out.',
  watermark: 'The channel is live: a saved watermark reaches the renditions at the stream’s next keyframe. The stream’s own URLs keep what they began with (marked or not) until the next publish, so their players are not interrupted.',
  relays: 'The channel is live: added destinations start and removed ones stop within a few seconds, without the publisher reconnecting.',
};
function liveNotice(channelID, tab) {
  if (!appliesLive[tab]) return null;
  const notice = h('p', { class: 'notice', id: 'live-notice', role: 'status', hidden: true, text: appliesLive[tab] });
  onLive(() => { notice.hidden = !live.streams.get(channelID); });
  return notice;
}

function dangerZone(state) {
  return h('div', { class: 'panel' }, h('h2', { text: 'Delete' }),
    h('p', { class: 'muted', text: 'Deleting a channel stops its push URLs from working. Recordings stay until deleted.' }),
    h('button', { type: 'button', class: 'danger', disabled: !canWrite(), text: 'Delete channel', onclick: async () => {
      if (!confirm(`Delete channel “${state.channel.name}”?`)) return;
      await api('DELETE', `/channels/${state.channel.id}`, { etag: state.channel.etag });
      toast('Channel deleted');
      navigate('#/channels');
    } }));
}

// A URL with copy and QR buttons; the QR code is drawn by the server.
function urlRow(name, url, { id, qr = true } = {}) {
  const image = h('img', { class: 'qr', alt: `QR code of the ${name} URL`, hidden: true, id: id && `${id}-qr` });
  const showQR = async () => {
    const response = await api('POST', '/qr', { json: { text: url, title: `${name} URL` }, raw: true });
    if (image.src) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(await response.blob());
    image.hidden = false;
  };
  const copy = async () => {
    try { await navigator.clipboard.writeText(url); toast(`${name} URL copied`); } catch { toast('Copy failed: select the text and copy it'); }
  };
  const row = h('div', { class: 'url', dataset: { url: name } }, h('div', { class: 'name', text: name }),
    h('div', {}, h('code', { id, text: url }), h('div', { class: 'actions', style: 'margin-top:6px' },
      h('button', { type: 'button', class: 'ghost small', text: 'Copy', 'aria-label': `Copy the ${name} URL`, onclick: copy }),
      qr && h('button', { type: 'button', class: 'ghost small', text: 'QR code', 'aria-label': `Show a QR code of the ${name} URL`, onclick: showQR }))),
    image);
  row.showQR = showQR;
  return row;
}

async function renderOverview(state, content, signal) {
  const channel = state.channel;
  // Push URLs and signed play URLs are credentials: only read-write and admin keys get them.
  const push = canWrite() ? await api('POST', `/channels/${channel.id}/push-url`, { json: {} }) : null;
  const signed = channel.playback.signedUrls && canWrite();
  const play = signed ? await api('POST', `/channels/${channel.id}/play-url`, { json: { ttlSeconds: 6 * 3600 } }) : null;
  const urls = signed ? play.urls : await api('GET', `/channels/${channel.id}/play-urls`);
  const query = signed ? '?' + play.query : '';
  const pushRow = push && urlRow('Push', push.url, { id: 'push-url' });
  const cleanups = view.cleanups;
  const [charts, timeline] = await Promise.all([
    historyCharts(channel.id, { api, isLive: () => live.streams.has(channel.id), cleanups, signal }),
    eventsTimeline(channel.id, { api, cleanups, signal }),
  ]);
  // Live first (health, preview, numbers, charts), then how to publish and play, then what happened.
  content.append(healthPanel(channel),
    h('div', { class: 'grid' }, previewPanel(channel, query), statsPanel(channel, query)),
    charts || '',
    h('div', { class: 'grid' }, publishPanel(channel, push, pushRow), playPanel(channel, urls, signed, play)),
    timeline || '');
  pushRow?.showQR();
}

// The stream's health warnings, shown only while there are some.
function healthPanel(channel) {
  const list = h('ul', { class: 'health-list', id: 'health' });
  const panel = h('div', { class: 'panel warn', id: 'health-panel', hidden: true, role: 'status' }, h('h2', { text: 'Health' }), list);
  onLive(() => {
    const stream = live.streams.get(channel.id);
    const items = stream ? healthList(stream, null) : [];
    list.replaceChildren(...items);
    panel.hidden = items.length === 0;
  });
  return panel;
}

function publishPanel(channel, push, pushRow) {
  const validity = !push ? '' : push.stable || !push.expiresAt
    ? (push.expiresAt ? `Signed; valid until the secret is rotated or the channel expires (${formatDate(push.expiresAt)}).`
      : 'Signed; valid until the secret is rotated.')
    : `Signed; valid until ${formatDate(push.expiresAt)}.`;
  const obsRow = (label, id, text) => h('tr', {}, h('th', { text: label }),
    h('td', {}, h('div', { class: 'copyable' }, h('code', { id, text }), copyButton(`OBS ${label.toLowerCase()}`, () => text, { id: `${id}-copy`, toast }))));
  return h('div', { class: 'panel' }, h('h2', { text: 'Publish' }),
    push ? [pushRow, h('p', { class: 'hint', id: 'push-validity', text: validity }),
      h('h3', { text: 'OBS settings' }),
      h('table', { class: 'obs' }, h('tbody', {},
        h('tr', {}, h('th', { text: 'Service' }), h('td', { text: 'Custom…' })),
        obsRow('Server', 'obs-server', push.server), obsRow('Stream key', 'obs-key', push.streamKey),
        h('tr', {}, h('th', { text: 'Output' }), h('td', { text: 'x264 or hardware H.264, CBR, keyframe interval 2 s, profile high, no B-frames for the lowest latency; AAC 128 kbit/s 48 kHz.' }))))]
      : h('p', { class: 'muted', id: 'push-hidden', text: 'Push URLs are credentials: sign in with a read-write key to see them.' }),
    h('div', { class: 'row', style: 'margin-top:12px' },
      h('button', { type: 'button', class: 'ghost', id: 'kick', disabled: !canWrite(), text: 'Stop the publisher', onclick: async () => {
        try { await api('DELETE', `/streams/${channel.id}`); toast('Publisher stopped'); } catch (error) { toast(error.status === 404 ? 'Nobody is publishing.' : error.message); }
      } }),
      h('button', { type: 'button', class: 'ghost', id: 'rotate', disabled: !canWrite(), text: 'Rotate the secret', onclick: async () => {
        if (!confirm('Rotate the secret? Push URLs handed out so far stop working (and signed play URLs too).')) return;
        await api('POST', `/channels/${channel.id}/rotate-secret`);
        toast('Secret rotated: new URLs below');
        route();
      } })));
}

// The enabled outputs' URLs; the renditions' (two per rung) folded away so they do not push the page down.
function playPanel(channel, urls, signed, play) {
  const isRendition = (name) => /^(hls|flv)-/.test(name);
  const entries = Object.entries(urls);
  const primary = entries.filter(([name]) => !isRendition(name)), renditions = entries.filter(([name]) => isRendition(name));
  const row = ([name, url]) => urlRow(name.toUpperCase(), url, { id: `play-${name}` });
  const outputs = channel.outputs;
  return h('div', { class: 'panel' }, h('h2', { text: 'Play' }),
    primary.length ? primary.map(row) : h('p', { class: 'muted', text: 'No outputs are enabled.' }),
    renditions.length ? h('details', { id: 'rendition-urls' }, h('summary', { text: `Rendition URLs (${renditions.length})` }), renditions.map(row)) : null,
    !outputs.hls && !outputs.llhls && h('p', { class: 'hint', id: 'hls-off-hint' }, 'HLS and LL-HLS are off for this channel (new channels start with HTTP-FLV and RTMP only). ',
      h('a', { href: `#/channels/${channel.id}/general`, text: 'Turn them on in General' }), ' for phones, TVs and low-latency browser playback.'),
    signed && h('p', { class: 'hint', text: `Signed play URLs, valid until ${formatDate(play.expiresAt)}.` }),
    channel.playback.signedUrls && !signed && h('p', { class: 'hint', text: 'This channel needs signed play URLs; minting them needs a read-write key.' }));
}

function previewPanel(channel, query) {
  const video = h('video', { id: 'preview', controls: true, muted: true, autoplay: true, playsinline: true, 'aria-label': 'Live preview' });
  video.muted = true;
  const status = h('p', { id: 'status', class: 'muted', role: 'status', 'aria-live': 'polite', text: 'Pick a protocol to watch.' });
  // The player's seek bar over the DVR window, Go live, captions toggle and thumbnails (HLS and LL-HLS).
  const controls = h('div', { id: 'preview-controls' });
  const outputs = channel.outputs;
  // WebRTC (WHEP) plays any live stream, whatever its outputs: the node refuses it when WebRTC is off.
  const protocols = [outputs.flv && ['flv', 'HTTP-FLV'], outputs.hls && ['hls', 'HLS'], outputs.llhls && ['llhls', 'LL-HLS'],
    ['webrtc', 'WebRTC']].filter(Boolean);
  const protocol = h('select', { id: 'preview-protocol', 'aria-label': 'Preview protocol' },
    protocols.map(([value, label]) => h('option', { value, text: label })));
  const rendition = h('select', { id: 'preview-rendition', 'aria-label': 'Rendition', hidden: !channel.transcode.enabled },
    h('option', { value: '', text: 'Source' }), channel.transcode.renditions.map((name) => h('option', { value: name, text: name })));
  let controller = null;
  const stop = () => { controller?.abort(); controller = null; video.pause(); video.srcObject = null; video.removeAttribute('src'); video.load(); };
  const start = async () => {
    stop();
    controller = new AbortController();
    const signal = controller.signal;
    const base = `/${channel.id}/` + (rendition.value ? `${rendition.value}/` : '');
    const failed = (error) => { if (error.name !== 'AbortError') status.textContent = error.message; };
    if (!live.streams.has(channel.id)) { status.textContent = 'The stream is not live.'; return; }
    if (rendition.value && protocol.value !== 'webrtc' && !(await renditionReady(base, signal).catch(() => false))) return;
    // One viewing per Watch: the server counts HLS, LL-HLS and DASH viewers by the `sid` their URLs carry.
    const viewing = `${query ? query + '&' : '?'}sid=console-${Math.random().toString(36).slice(2, 12)}`;
    if (protocol.value === 'flv') playHTTPFLV(video, base, query, signal).catch(failed);
    else if (protocol.value === 'webrtc') playWebRTC(signal).catch(failed);
    else if (protocol.value === 'llhls') playLowLatencyHLS(video, base, viewing, signal, controls).catch(failed);
    else playClassicHLS(base, viewing, signal).catch(failed);
  };
  // WHEP: the same page logic as /{id}/webrtc.html; a rendition is asked for in the query.
  const playWebRTC = async (signal) => {
    const params = new URLSearchParams(query);
    if (rendition.value) params.set('rendition', rendition.value);
    const search = params.toString() ? `?${params}` : '';
    status.textContent = 'Connecting over WebRTC…';
    const { peer } = await playWHEP(video, `/${channel.id}/`, search, signal);
    peer.addEventListener('connectionstatechange', () => {
      if (!signal.aborted) status.textContent = peer.connectionState === 'connected' ? 'playing over WebRTC' : `WebRTC ${peer.connectionState}`;
    });
  };
  // A rendition switched on while live starts at the source's next keyframe: wait (at most
  // 30 s) for its playlist instead of calling the live stream "not live".
  const renditionReady = async (base, signal) => {
    for (let attempt = 0; attempt < 30 && !signal.aborted; attempt += 1) {
      const response = await fetch(`${base}index.m3u8${query}`, { signal, cache: 'no-store' });
      if (response.ok) return true;
      status.textContent = `Waiting for the ${rendition.value} rendition (it starts at the next keyframe)…`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (!signal.aborted) status.textContent = `The ${rendition.value} rendition has not started: is transcoding on, and the stream live?`;
    return false;
  };
  // The browser's own HLS player, started once the playlist holds three segments: a live
  // playlist shorter than that is where players may not start (RFC 8216, 6.3.3), and
  // Chromium's refuses it.
  const playClassicHLS = async (base, viewing, signal) => {
    const playlist = (rendition.value ? `${base}index.m3u8` : `${base}live.m3u8`) + viewing;
    if (!video.canPlayType('application/vnd.apple.mpegurl')) { status.textContent = 'This browser has no native HLS; try LL-HLS.'; return; }
    for (let attempt = 0; attempt < 60; attempt += 1) {
      const response = await fetch(playlist, { signal, cache: 'no-store' });
      const segments = response.ok ? (await response.text()).split('#EXTINF').length - 1 : 0;
      if (segments >= 3) break;
      status.textContent = response.ok ? `Waiting for HLS segments (${segments} of 3)…` : 'The stream is not live.';
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (signal.aborted) return;
    }
    video.src = playlist;
    video.play().catch(() => {});
    attachControls(controls, video, nativeSource(video), `/${channel.id}/thumbnails.m3u8${viewing}`, signal);
    status.textContent = 'playing HLS natively';
  };
  const button = h('button', { type: 'button', id: 'preview-start', text: 'Watch', disabled: protocols.length === 0, onclick: start });
  view.cleanups.push(stop);
  return h('div', { class: 'panel' }, h('h2', { text: 'Live preview' }),
    h('div', { class: 'row', style: 'margin-bottom:8px' }, protocol, rendition, button,
      h('button', { type: 'button', class: 'ghost', text: 'Stop', onclick: () => { stop(); status.textContent = 'Stopped.'; } })),
    video, controls, status);
}

function statsPanel(channel, query) {
  const stat = (key, label) => h('div', { class: 'stat' }, h('div', { class: 'value', dataset: { stat: key }, text: '—' }), h('div', { class: 'label', text: label }));
  const stats = h('div', { class: 'stats', id: 'stats' }, stat('bitrate', 'Ingest bitrate'), stat('fps', 'Frames per second'),
    stat('resolution', 'Resolution'), stat('codecs', 'Codecs'), stat('captions', 'Captions'), stat('viewers', 'Viewers'), stat('since', 'Live since'));
  const perProtocol = h('p', { class: 'chips', id: 'viewers-by-protocol', 'aria-label': 'Viewers by protocol' });
  const srtLink = h('p', { class: 'chips', id: 'srt-link', 'aria-label': 'SRT link of the publisher', hidden: true });
  const relays = h('ul', { id: 'relay-states' });
  const webRTCViewers = h('div', { id: 'webrtc-link' });
  const snapshot = h('img', { class: 'snapshot', alt: 'Newest snapshot', hidden: true, id: 'snapshot' });
  const noSnapshot = h('p', { class: 'muted', text: channel.record.snapshots.enabled ? 'No snapshot yet.' : 'Snapshots are off for this channel.' });
  let snapshotTag = null;
  const refreshSnapshot = async () => {
    if (!channel.record.snapshots.enabled) return;
    const response = await fetch(`/${channel.id}/snapshot.jpg${query}`, { cache: 'no-cache' }).catch(() => null);
    if (!response?.ok) return;
    const tag = response.headers.get('ETag');
    if (tag && tag === snapshotTag) return;
    snapshotTag = tag;
    if (snapshot.src) URL.revokeObjectURL(snapshot.src);
    snapshot.src = URL.createObjectURL(await response.blob());
    snapshot.hidden = false;
    noSnapshot.hidden = true;
  };
  refreshSnapshot();
  const timer = setInterval(refreshSnapshot, 5000);
  view.cleanups.push(() => clearInterval(timer));
  onLive(() => {
    const stream = live.streams.get(channel.id);
    const values = {
      bitrate: formatBitrate(stream?.ingestBitrate), fps: stream?.frameRate ? stream.frameRate.toFixed(1) : '—',
      resolution: stream?.width ? `${stream.width}×${stream.height}` : '—',
      codecs: stream ? [stream.videoCodec, stream.audioCodec].filter(Boolean).join(' + ') || '—' : '—',
      captions: stream ? (Array.isArray(stream.captions) && stream.captions.length ? stream.captions.join(', ') : 'none') : '—',
      viewers: stream ? String(viewerCount(stream)) : '—', since: stream ? new Date(stream.since).toLocaleTimeString() : '—',
    };
    for (const element of stats.querySelectorAll('[data-stat]')) element.textContent = values[element.dataset.stat];
    perProtocol.replaceChildren(...viewerChips(stream));
    srtLink.replaceChildren(...srtLinkText(stream?.srt));
    srtLink.hidden = !stream?.srt;
    webRTCViewers.replaceChildren(...[webRTCViewerTable(stream)].filter(Boolean));
    relays.replaceChildren(...(stream?.relays?.length ? stream.relays.map(relayItem) : [h('li', { class: 'muted', text: stream ? 'No relays.' : 'Not live.' })]));
  });
  return h('div', { class: 'panel' }, h('h2', { text: 'Live stats' }), stats, perProtocol, srtLink, webRTCViewers,
    h('h3', { text: 'Relays' }), relays, h('h3', { text: 'Newest snapshot' }), snapshot, noSnapshot);
}

// An SRT publisher's link as its ingest node last sampled it (the stream's `srt`), as chips.
function srtLinkText(link) {
  if (!link || typeof link !== 'object') return [];
  const number = (value) => (Number.isFinite(value) ? value : null);
  const parts = [['RTT', number(link.rttMs), (v) => `${Math.round(v)}\u00a0ms`], ['lost', number(link.packetsLost), String],
    ['retransmitted', number(link.packetsReceivedRetransmitted ?? link.packetsRetransmitted), String],
    ['dropped', number(link.packetsDropped), String], ['buffer', number(link.receiveBufferMs), (v) => `${Math.round(v)}\u00a0ms`],
    ['receiving', number(link.mbpsReceive), (v) => `${v.toFixed(2)}\u00a0Mbit/s`]];
  return [h('span', { class: 'chip', text: 'SRT link' }), ...parts.filter(([, value]) => value !== null).map(([label, value, format]) =>
    h('span', { class: 'chip', dataset: { srt: label } }, `${label}\u00a0`, h('strong', { text: format(value) })))];
}

// ---------- Watermark image and preview ----------

async function watermarkImagePanel(state, form) {
  const channel = state.channel;
  const stage = h('div', { class: 'stage', id: 'watermark-stage', role: 'img', 'aria-label': 'Where the watermark lands on a 1920×1080 picture' });
  const file = h('input', { type: 'file', id: 'watermark-file', accept: 'image/png,image/jpeg' });
  const status = h('p', { class: 'error', role: 'alert' });
  state.stage = stage;
  state.form = form;
  const loadImage = async () => {
    const response = await fetch(`/api/v1/channels/${channel.id}/watermark-image`, { credentials: 'same-origin' });
    state.imageURL = response.ok ? URL.createObjectURL(await response.blob()) : null;
    drawWatermarkPreview(state);
  };
  file.addEventListener('change', async () => {
    status.textContent = '';
    const chosen = file.files[0];
    if (!chosen) return;
    try {
      state.channel = await api('PUT', `/channels/${channel.id}/watermark-image`, { body: chosen, type: chosen.type || 'application/octet-stream' });
      toast('Image uploaded');
      await loadImage();
    } catch (error) { status.textContent = error.message; }
  });
  form.addEventListener('input', () => drawWatermarkPreview(state));
  await loadImage();
  return h('div', { class: 'panel' }, h('h2', { text: 'Image and preview' }),
    h('div', { class: 'field' }, h('label', { for: 'watermark-file', text: 'Upload a PNG or JPEG (at most 1 MiB)' }), file), status,
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'ghost', disabled: !canWrite(), text: 'Remove the image', onclick: async () => {
      try { await api('DELETE', `/channels/${channel.id}/watermark-image`); toast('Image removed'); await loadImage(); } catch (error) { status.textContent = error.message; }
    } })),
    h('h3', { text: 'Preview (1920×1080 picture)' }), stage);
}

// Places the text and image as the transcoder would on a 1920×1080 picture, from the form's values.
function drawWatermarkPreview(state) {
  if (!state.stage) return;
  const mark = state.form.read().watermark;
  const scale = state.stage.clientWidth / 1920 || 0.3;
  const children = [];
  if (mark.image.enabled && state.imageURL) {
    children.push(h('img', { class: 'mark-image', src: state.imageURL, alt: '',
      style: `left:${mark.image.x * scale}px;top:${mark.image.y * scale}px;width:${mark.image.width * scale}px;height:${mark.image.height * scale}px` }));
  }
  if (mark.text.enabled && mark.text.text) {
    const text = h('span', { class: 'mark-text', text: mark.text.text });
    text.style.left = `${mark.text.x * scale}px`;
    text.style.top = `${mark.text.y * scale}px`;
    text.style.fontSize = `${Math.max(1, mark.text.fontSize * scale)}px`;
    text.style.color = /^#[0-9a-fA-F]{6}$/.test(mark.text.color) ? mark.text.color : '#fff';
    children.push(text);
  }
  state.stage.replaceChildren(...children);
}

// ---------- Relays ----------

function renderRelays(state, content) {
  const list = h('div', { id: 'relay-list' });
  const error = h('p', { class: 'error', role: 'alert' });
  const addRow = (relay = { url: '', enabled: true }) => {
    const index = list.children.length;
    const url = h('input', { type: 'url', value: relay.url, placeholder: 'rtmp://live.example.com/app/streamkey', 'aria-label': `Relay ${index + 1} URL` });
    url.value = relay.url;
    const enabled = h('input', { type: 'checkbox', checked: relay.enabled, 'aria-label': `Relay ${index + 1} enabled` });
    const row = h('div', { class: 'row relay', style: 'margin-bottom:8px' }, h('div', { class: 'spacer' }, url),
      h('label', { class: 'row', style: 'font-weight:500' }, enabled, 'On'),
      h('button', { type: 'button', class: 'ghost small', text: 'Remove', 'aria-label': `Remove relay ${index + 1}`, onclick: () => row.remove() }));
    row.read = () => ({ url: url.value.trim(), enabled: enabled.checked });
    list.append(row);
  };
  for (const relay of state.channel.relays) addRow(relay);
  const states = h('ul', { id: 'relay-states' });
  onLive(() => {
    const stream = live.streams.get(state.channel.id);
    states.replaceChildren(...(stream ? stream.relays.map(relayItem)
      : [h('li', { class: 'muted', text: 'The stream is not live.' })]));
  });
  content.append(h('div', { class: 'panel' }, h('h2', { text: 'Relay to other platforms' }),
    h('p', { class: 'hint', text: 'Each enabled rtmp:// or rtmps:// destination gets the stream while it is live.' }),
    liveNotice(state.channel.id, 'relays'),
    session.scope !== 'admin' && h('p', { class: 'hint', text: 'Stream keys show as …redacted to keys below admin; a destination left as it is keeps its key.' }),
    list, error,
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'ghost', text: 'Add a destination', onclick: () => addRow() }),
      h('button', { type: 'button', id: 'relays-save', disabled: !canWrite(), text: 'Save', onclick: async () => {
        error.textContent = '';
        try {
          await channelSaver(state)({ relays: [...list.children].map((row) => row.read()).filter((relay) => relay.url) });
        } catch (failure) { error.textContent = failure.fields.map((f) => `${f.field}: ${f.message}`).join('. ') || failure.message; }
      } }))),
  h('div', { class: 'panel' }, h('h2', { text: 'Relay states' }), states));
}

// ---------- Recordings ----------

// Recordings (MP4 files, VOD sessions, motion clips) and pictures (snapshots, motion
// snapshots) are two tabs, recordings first: a page of snapshots no longer hides the files.
const recordingTabs = {
  media: { label: 'Recordings', kinds: [['mp4', 'MP4 recordings'], ['vod-playlist', 'VOD sessions'], ['motion-clip', 'Motion clips']] },
  snapshots: { label: 'Snapshots', kinds: [['snapshot', 'Snapshots'], ['motion-snapshot', 'Motion snapshots']] },
};

async function renderRecordings(tab) {
  const signal = view.controller.signal;
  const channels = (await api('GET', '/channels?limit=500')).items;
  const names = new Map(channels.map((channel) => [channel.id, channel.name]));
  const nameOf = (asset) => names.get(asset.channelId) || asset.channelId;
  const kinds = recordingTabs[tab].kinds;
  const channel = h('select', { id: 'filter-channel' }, h('option', { value: '', text: 'All channels' }),
    channels.map((c) => h('option', { value: c.id, text: c.name })));
  const kind = h('select', { id: 'filter-kind' }, h('option', { value: '', text: `All ${recordingTabs[tab].label.toLowerCase()}` }),
    kinds.map(([value, text]) => h('option', { value, text })));
  const day = h('input', { type: 'date', id: 'filter-day' });
  const player = h('div', { id: 'asset-player' });
  const more = h('button', { type: 'button', class: 'ghost', hidden: true, text: 'More' });
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Recordings sections' }, Object.entries(recordingTabs).map(([key, { label }]) =>
    h('a', { href: key === 'media' ? '#/recordings' : '#/recordings/snapshots', id: `recordings-tab-${key}`, text: label, 'aria-current': key === tab ? 'page' : undefined })));
  const actions = (asset) => h('span', { class: 'row' },
    !asset.kind.endsWith('snapshot') && h('button', { type: 'button', class: 'small', text: 'Play', onclick: () => playAsset(player, asset, nameOf(asset)) }),
    asset.kind !== 'vod-playlist' && h('a', { class: 'button ghost small', href: asset.downloadUrl, download: '', text: 'Download' }),
    canWrite() && h('button', { type: 'button', class: 'ghost small', text: 'Delete', onclick: (event) => removeAsset(asset, event.target.closest('figure, tr')) }));
  const card = (asset) => asset.kind.endsWith('snapshot')
    ? h('figure', { dataset: { asset: asset.id } }, h('img', { src: asset.downloadUrl, alt: `Snapshot of ${nameOf(asset)} at ${formatDate(asset.start)}`, loading: 'lazy' }),
      h('figcaption', {}, h('span', { text: `${nameOf(asset)} · ${new Date(asset.start).toLocaleTimeString()}` }), actions(asset)))
    : h('tr', { dataset: { asset: asset.id } }, h('td', { text: nameOf(asset) }), h('td', { text: asset.kind }),
      h('td', { text: formatDate(asset.start) }), h('td', { class: 'hide-narrow', text: `${asset.duration.toFixed(1)}\u00a0s · ${formatBytes(asset.size)}` }), h('td', {}, actions(asset)));
  const body = tab === 'media' ? h('tbody') : h('div', { class: 'thumbs' });
  const container = tab === 'media'
    ? h('div', { class: 'panel' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Channel' }), h('th', { text: 'Kind' }),
      h('th', { text: 'Start' }), h('th', { class: 'hide-narrow', text: 'Length' }), h('th', { text: '' }))), body))
    : h('div', { class: 'panel' }, body);
  const empty = h('p', { class: 'muted panel', text: tab === 'media' ? 'No recordings match.' : 'No snapshots match.' });
  // One cursor per kind: the API lists one kind (or all) per query, so "all recordings" asks each kind.
  let sources = [];
  const load = async (append) => {
    if (!append) sources = (kind.value ? [kind.value] : kinds.map(([value]) => value)).map((value) => ({ kind: value, next: null, done: false }));
    const asked = sources.filter((source) => !source.done);
    const pages = await Promise.all(asked.map((source) => {
      const query = new URLSearchParams({ limit: '60', kind: source.kind });
      if (channel.value) query.set('channel', channel.value);
      if (day.value) {
        const from = new Date(day.value + 'T00:00:00');
        query.set('from', from.toISOString());
        query.set('to', new Date(from.getTime() + 86400000).toISOString());
      }
      if (append && source.next) query.set('after', source.next);
      return api('GET', `/assets?${query}`);
    }));
    asked.forEach((source, index) => { source.next = pages[index].next || null; source.done = !source.next; });
    const items = pages.flatMap((list) => list.items).sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : 0));
    if (!append) body.replaceChildren();
    body.append(...items.map(card));
    more.hidden = sources.every((source) => source.done);
    container.hidden = body.children.length === 0;
    empty.hidden = body.children.length > 0;
  };
  for (const control of [channel, kind, day]) control.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
  page(signal, recordingTabs[tab].label, h('h1', { text: 'Recordings' }), tabs,
    h('div', { class: 'panel form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'filter-channel', text: 'Channel' }), channel),
      h('div', { class: 'field' }, h('label', { for: 'filter-kind', text: 'Kind' }), kind),
      h('div', { class: 'field' }, h('label', { for: 'filter-day', text: 'Day' }), day)),
    player, h('div', { id: 'assets' }, container, empty), more);
  await load(false);
}

async function removeAsset(asset, element) {
  if (!confirm('Delete this file?')) return;
  await api('DELETE', `/assets/${asset.id}`);
  element.remove();
  toast('Deleted');
}

// Plays a recording in the page. A VOD session still being recorded has a playlist without
// #EXT-X-ENDLIST: it is said so (and played from the start when it already holds three
// segments, the least a browser starts a growing playlist with); any playback error is shown.
async function playAsset(player, asset, name) {
  const video = h('video', { id: 'asset-video', controls: true, autoplay: true, muted: true, playsinline: true, 'aria-label': `Recording of ${name}` });
  const status = h('p', { class: 'muted', id: 'asset-status', role: 'status', 'aria-live': 'polite' });
  video.addEventListener('error', () => { status.textContent = `This recording could not be played${video.error?.message ? `: ${video.error.message}` : '.'}`; });
  player.replaceChildren(h('div', { class: 'panel' }, h('div', { class: 'row' }, h('h2', { text: `${name} · ${formatDate(asset.start)}` }),
    h('span', { class: 'spacer' }), h('button', { type: 'button', class: 'ghost small', text: 'Close', onclick: () => player.replaceChildren() })), video, status));
  player.scrollIntoView({ behavior: 'smooth' });
  if (asset.kind !== 'vod-playlist') { video.src = asset.downloadUrl; return; }
  const playlist = `/vod/${asset.sessionId}/index.m3u8`;
  const response = await fetch(playlist, { cache: 'no-store' }).catch(() => null);
  const text = response?.ok ? await response.text() : '';
  const segments = text.split('#EXTINF').length - 1;
  if (!response?.ok) { status.textContent = `This session's playlist could not be read (${response ? `HTTP ${response.status}` : 'network error'}).`; return; }
  if (!text.includes('#EXT-X-ENDLIST')) {
    status.textContent = segments >= 3
      ? 'Still recording — playing what is recorded so far; the whole session is available when it ends.'
      : 'Still recording — available when the session ends.';
    status.dataset.recording = 'true';
    if (segments < 3) { video.hidden = true; return; }
  }
  video.src = playlist;
}

// ---------- Global settings ----------

async function renderSettings() {
  const signal = view.controller.signal;
  const admin = session.scope === 'admin';
  const urls = await api('GET', '/settings');
  const form = settingsForm([
    { path: 'pushBaseURL', label: 'Push base URL', type: 'url', optional: true, placeholder: 'rtmp://live.example.com:1935', hint: 'Empty: the address this server listens on.' },
    { path: 'playBaseURL', label: 'Play base URL', type: 'url', optional: true, placeholder: 'https://play.example.com', hint: 'Empty: the address this server listens on.' },
  ], urls, async (values) => {
    const clean = Object.fromEntries(Object.entries(values).filter(([, value]) => value));
    await api('PUT', '/settings', { json: clean });
    toast('Saved');
  });
  form.id = 'urls-form';
  if (!admin) form.querySelector('button').disabled = true;
  const children = [h('h1', { text: 'Settings' }), h('div', { class: 'panel' }, h('h2', { text: 'URL bases' }), form)];
  if (admin) children.push(await keysPanel());
  if (admin) {
    const hooks = await api('GET', '/webhooks');
    children.push(h('div', { class: 'panel' }, h('h2', { text: 'Global webhooks' }),
      h('p', { class: 'hint', text: 'Every channel’s events go to these receivers (channels can add their own).' }),
      webhookEditor(hooks.webhooks, 'global-webhooks', async (webhooks) => { await api('PUT', '/webhooks', { json: { webhooks } }); toast('Saved'); }),
      h('h3', { text: 'Signing secret' }),
      h('p', { class: 'hint', text: 'X-Sluice-Signature: t=UNIX,v1=hex(HMAC-SHA256(secret, "t.body")). Check it, and that t is recent.' }),
      h('code', { id: 'signing-secret', text: hooks.signingSecret })));
  }
  children.push(deliveriesPanel());
  page(signal, 'Settings', ...children);
}

// A list of webhook receivers (URL and the events it wants) with one Save; API field errors
// (webhooks[1].url) are shown under the list.
function webhookEditor(webhooks, id, save) {
  const list = h('div', { id });
  const error = h('p', { class: 'error', role: 'alert' });
  const types = ['stream.online', 'stream.offline', 'publish.rejected', 'relay.started', 'relay.failed', 'motion.started', 'motion.ended', 'recording.ready', 'snapshot.ready', 'stream.health'];
  const addRow = (hook = { url: '' }) => {
    const index = list.children.length + 1;
    const url = h('input', { type: 'url', placeholder: 'https://hooks.example.com/sluice', 'aria-label': `Webhook ${index} URL` });
    url.value = hook.url;
    const all = h('input', { type: 'checkbox', checked: !hook.events, 'aria-label': `Webhook ${index}: every event` });
    const boxes = types.map((type) => h('label', { class: 'row', style: 'font-weight:500;font-size:13px' },
      h('input', { type: 'checkbox', value: type, checked: !!hook.events?.includes(type), disabled: !hook.events }), type));
    all.addEventListener('change', () => boxes.forEach((label) => { label.firstChild.disabled = all.checked; }));
    const row = h('fieldset', { class: 'webhook' }, h('legend', { text: `Receiver ${index}` }),
      h('div', { class: 'row' }, h('div', { class: 'spacer' }, url),
        h('button', { type: 'button', class: 'ghost small', text: 'Remove', 'aria-label': `Remove webhook ${index}`, onclick: () => row.remove() })),
      h('div', { class: 'row', style: 'margin-top:6px' }, h('label', { class: 'row', style: 'font-weight:600' }, all, 'Every event'), boxes));
    row.read = () => {
      const hook = { url: url.value.trim() };
      if (!all.checked) hook.events = boxes.map((label) => label.firstChild).filter((box) => box.checked).map((box) => box.value);
      return hook;
    };
    list.append(row);
  };
  for (const hook of webhooks) addRow(hook);
  return h('div', {}, list, error, h('div', { class: 'row' },
    h('button', { type: 'button', class: 'ghost', text: 'Add a receiver', onclick: () => addRow() }),
    h('button', { type: 'button', id: `${id}-save`, disabled: !canWrite(), text: 'Save webhooks', onclick: async () => {
      error.textContent = '';
      try {
        await save([...list.children].map((row) => row.read()).filter((hook) => hook.url));
      } catch (failure) { error.textContent = failure.fields.map((f) => `${f.field}: ${f.message}`).join('. ') || failure.message; }
    } })));
}

// The node's recent webhook deliveries, refreshed every few seconds.
function deliveriesPanel() {
  const body = h('tbody', { id: 'deliveries' });
  const draw = async () => {
    const { items } = await api('GET', '/webhooks/deliveries');
    body.replaceChildren(...(items.length ? items.map((delivery) => h('tr', { dataset: { status: delivery.status } },
      h('td', { text: delivery.eventType }),
      h('td', {}, statusBadge(delivery.status, 'delivered')),
      h('td', { text: String(delivery.attempts) }),
      h('td', { class: 'hide-narrow', text: delivery.url }),
      h('td', { text: delivery.error || (delivery.httpStatus ? `HTTP ${delivery.httpStatus}` : '') }),
      h('td', { class: 'hide-narrow', text: formatDate(delivery.updatedAt) })))
      : [h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'Nothing delivered yet.' }))]));
  };
  draw();
  const timer = setInterval(() => draw().catch(() => {}), 3000);
  view.cleanups.push(() => clearInterval(timer));
  return h('div', { class: 'panel' }, h('h2', { text: 'Recent webhook deliveries' }),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Event' }), h('th', { text: 'Status' }), h('th', { text: 'Attempts' }),
      h('th', { class: 'hide-narrow', text: 'Receiver' }), h('th', { text: 'Result' }), h('th', { class: 'hide-narrow', text: 'When' }))), body));
}

async function keysPanel() {
  const body = h('tbody');
  const created = h('div', { role: 'status', 'aria-live': 'polite' });
  const draw = async () => {
    const keys = (await api('GET', '/keys')).items;
    body.replaceChildren(...keys.map((key) => h('tr', {}, h('td', { text: key.name }), h('td', { text: key.scope }),
      h('td', { class: 'hide-narrow', text: formatDate(key.createdAt) }),
      h('td', {}, h('button', { type: 'button', class: 'ghost small', text: 'Revoke', 'aria-label': `Revoke key ${key.name}`, onclick: async () => {
        if (!confirm(`Revoke “${key.name}”? Anything using it stops working (this console too, if signed in with it).`)) return;
        await api('DELETE', `/keys/${key.id}`);
        toast('Key revoked');
        draw();
      } })))));
  };
  const form = settingsForm([
    { path: 'name', label: 'Name', type: 'text' },
    { path: 'scope', label: 'Scope', type: 'select', options: ['read-only', 'read-write', 'admin'] },
  ], { name: '', scope: 'read-only' }, async (values) => {
    const made = await api('POST', '/keys', { json: values });
    created.replaceChildren(h('p', { class: 'newkey' }, 'New key (shown once, copy it now): ', h('code', { text: made.key })));
    await draw();
  }, 'Make a key');
  await draw();
  return h('div', { class: 'panel' }, h('h2', { text: 'API keys' }),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Name' }), h('th', { text: 'Scope' }), h('th', { class: 'hide-narrow', text: 'Created' }), h('th', { text: '' }))), body),
    h('h3', { text: 'New key' }), form, created);
}

// ---------- Start ----------

document.getElementById('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
try {
  signedIn(await api('GET', '/console/session'));
} catch {
  session.csrf = null;
}
route();
