// The console's DOM and formatting helpers. Text only: nothing from the API is ever parsed as
// HTML, and styles go through the CSSOM (the page's CSP refuses style attributes).

// An element with attributes (`on…` are listeners, `text` its text) and children.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name === 'style') element.style.cssText = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name in element && typeof value !== 'string') element[name] = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

// An SVG element (charts are drawn by hand: no library, nothing from a CDN).
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) element.setAttribute(name, value);
  for (const child of children.flat()) if (child) element.append(child);
  return element;
}

// Number and unit joined by a no-break space, so a stat tile never wraps between them.
const NBSP = '\u00a0';
export const formatBitrate = (bits) => bits == null ? '—'
  : bits >= 1e6 ? `${(bits / 1e6).toFixed(2)}${NBSP}Mbit/s` : `${Math.round(bits / 1e3)}${NBSP}kbit/s`;
export const formatBytes = (bytes) => bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(2)}${NBSP}GiB`
  : bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)}${NBSP}MiB` : `${Math.ceil(bytes / 1024)}${NBSP}KiB`;
export const formatDate = (text) => text ? new Date(text).toLocaleString() : '—';
export const formatTime = (text) => text ? new Date(text).toLocaleTimeString() : '—';

// A status as a badge: green when it is `good`, red when it is `bad`, grey otherwise.
export const statusBadge = (status, good, bad = 'failed') =>
  h('span', { class: status === good ? 'badge live' : status === bad ? 'badge failed' : 'badge', text: status });

// The protocols viewers are counted under (the streams API's `viewers` keys), in display order.
export const protocolNames = { llhls: 'LL-HLS', hls: 'HLS', dash: 'DASH', flv: 'HTTP-FLV', rtmp: 'RTMP', srt: 'SRT', webrtc: 'WebRTC' };

// A stream's viewers: the API's total when it sends one, else the sum over protocols.
export const viewerCount = (stream) => {
  if (!stream) return 0;
  if (Number.isFinite(stream.viewerCount)) return stream.viewerCount;
  return Object.values(stream.viewers || {}).reduce((sum, count) => sum + (Number.isFinite(count) ? count : 0), 0);
};

// A stream's health warnings (the streams API's `health`), or the channel list's, or none.
export const healthOf = (stream, channel) => (Array.isArray(stream?.health) ? stream.health
  : Array.isArray(channel?.health) ? channel.health : []);

// A copy-to-clipboard button for `text()`; `what` names it for people and screen readers.
export function copyButton(what, text, { id, toast } = {}) {
  return h('button', { type: 'button', class: 'ghost small', id, text: 'Copy', 'aria-label': `Copy the ${what}`, onclick: async () => {
    try { await navigator.clipboard.writeText(text()); toast?.(`${what[0].toUpperCase()}${what.slice(1)} copied`); }
    catch { toast?.('Copy failed: select the text and copy it'); }
  } });
}
