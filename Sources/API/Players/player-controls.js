// The controls Sluice's players draw under the video: a seek bar over the playlist's window
// (DVR), a "Go live" button, the position's wall clock or distance behind live, thumbnails
// while hovering or dragging the seek bar (the stream's thumbnail image playlist: JPEG sprites
// of EXT-X-TILES tiles) and a captions toggle. No library, nothing from a CDN; styles are the
// page's (`.sluice-controls`), set through the CSSOM only (the console's CSP).
//
// A `source` says where playback is: `state()` gives { start, end, position } (Unix ms, or
// media ms when `wallClock` is false), `live`, `captions` (the stream carries them), and it
// offers seek(ms), goLive() and captionsTrack() (a TextTrack or null).

// Within this distance of the live edge the player counts as live.
const LIVE_MS = 8000;

const el = (tag, attributes = {}, ...children) => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') element.textContent = value; else element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
};

const pad = (n) => String(n).padStart(2, '0');
// 75 000 ms → "1:15", 3 725 000 → "1:02:05".
export function duration(ms) {
  const total = Math.max(0, Math.round(ms / 1000)), hours = Math.floor(total / 3600), minutes = Math.floor(total / 60) % 60;
  return hours ? `${hours}:${pad(minutes)}:${pad(total % 60)}` : `${minutes}:${pad(total % 60)}`;
}
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// ---------- The thumbnail track ----------

// The sprites of an image media playlist (EXT-X-IMAGES-ONLY), each with its start (Unix ms),
// tile layout and tile duration; URIs resolved against the playlist's URL.
export function parseImagePlaylist(text, url) {
  const sprites = [];
  let date = null, duration = 0, tiles = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) { const d = Date.parse(line.slice(25)); date = Number.isFinite(d) ? d : null; }
    else if (line.startsWith('#EXTINF:')) duration = Math.max(0, parseFloat(line.slice(8)) || 0);
    else if (line.startsWith('#EXT-X-TILES:')) {
      const resolution = /RESOLUTION=(\d+)x(\d+)/.exec(line), layout = /LAYOUT=(\d+)x(\d+)/.exec(line), tile = /DURATION=([\d.]+)/.exec(line);
      tiles = resolution && layout && tile ? { width: +resolution[1], height: +resolution[2], columns: +layout[1], rows: +layout[2], seconds: parseFloat(tile[1]) } : null;
    } else if (line && !line.startsWith('#')) {
      if (date !== null && tiles && tiles.seconds > 0 && tiles.columns > 0) sprites.push({ uri: new URL(line, url).href, date, duration, ...tiles });
      if (date !== null) date += duration * 1000;
      tiles = null;
    }
  }
  return sprites;
}

// The stream's thumbnail track (`thumbnails.m3u8`), read when first asked and again at most
// every 10 s; `at(ms)` gives the sprite and the tile's place for an instant, or null.
export class ThumbnailTrack {
  constructor(url) { this.url = url; this.sprites = []; this.readAt = 0; this.reading = null; }

  refresh() {
    if (this.reading || Date.now() - this.readAt < 10000) return;
    this.readAt = Date.now();
    const url = new URL(this.url, location.href).href;
    this.reading = fetch(url, { cache: 'no-store' })
      .then((response) => (response.ok ? response.text() : ''))
      .then((text) => { this.sprites = text ? parseImagePlaylist(text, url) : []; })
      .catch(() => {})
      .finally(() => { this.reading = null; });
  }

  at(ms) {
    this.refresh();
    const sprite = this.sprites.find((s) => ms >= s.date && ms < s.date + s.duration * 1000);
    if (!sprite) return null;
    const index = Math.min(sprite.columns * sprite.rows - 1, Math.floor((ms - sprite.date) / (sprite.seconds * 1000)));
    return { uri: sprite.uri, x: (index % sprite.columns) * sprite.width, y: Math.floor(index / sprite.columns) * sprite.height,
             width: sprite.width, height: sprite.height };
  }
}

// ---------- The controls ----------

// Draws the controls into `container` for `source` until `signal` aborts; `thumbnailsURL`
// (optional) is the stream's thumbnail playlist.
export function attachControls(container, video, source, thumbnailsURL, signal) {
  const live = el('button', { type: 'button', class: 'sluice-live', text: 'Go live', 'aria-label': 'Go live: jump to the live edge' });
  const range = el('input', { type: 'range', class: 'sluice-seekbar', 'aria-label': 'Position in the DVR window', min: '0', max: '1', step: '1' });
  const image = el('div', { class: 'sluice-thumbnail-image' }), stamp = el('span', { class: 'sluice-thumbnail-time' });
  const preview = el('div', { class: 'sluice-thumbnail', 'aria-hidden': 'true' }, image, stamp);
  preview.hidden = true;
  const seek = el('div', { class: 'sluice-seek' }, range, preview);
  const time = el('span', { class: 'sluice-time', text: '' });
  const captions = el('button', { type: 'button', class: 'sluice-captions', text: 'CC', 'aria-label': 'CC (closed captions)', 'aria-pressed': 'false' });
  captions.hidden = true;
  const bar = el('div', { class: 'sluice-controls', role: 'group', 'aria-label': 'Playback controls' }, live, seek, time, captions);
  bar.hidden = true;
  container.replaceChildren(bar);
  const thumbnails = thumbnailsURL ? new ThumbnailTrack(thumbnailsURL) : null;
  let dragging = false, state = null;

  const showThumbnail = (ms) => {
    const tile = state?.wallClock !== false && thumbnails?.at(ms);
    if (!tile) { preview.hidden = true; return; }
    image.style.width = `${tile.width}px`; image.style.height = `${tile.height}px`;
    image.style.backgroundImage = `url("${tile.uri}")`;
    image.style.backgroundPosition = `-${tile.x}px -${tile.y}px`;
    image.dataset.sprite = tile.uri;
    stamp.textContent = clock(ms);
    const fraction = (ms / 1000 - range.min) / Math.max(1, range.max - range.min);
    const left = Math.min(Math.max(0, fraction * range.clientWidth - tile.width / 2), Math.max(0, range.clientWidth - tile.width));
    preview.style.left = `${left}px`;
    preview.hidden = false;
  };
  const hovered = (event) => {
    const box = range.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / Math.max(1, box.width)));
    return (Number(range.min) + fraction * (range.max - range.min)) * 1000;
  };
  const seekTo = (ms) => { if (state && ms >= state.end - LIVE_MS / 2) source.goLive(); else source.seek(ms); };

  range.addEventListener('input', () => { dragging = true; showThumbnail(range.value * 1000); describe(range.value * 1000); });
  range.addEventListener('change', () => { dragging = false; preview.hidden = true; seekTo(range.value * 1000); });
  range.addEventListener('pointermove', (event) => { if (!dragging) showThumbnail(hovered(event)); });
  range.addEventListener('pointerleave', () => { if (!dragging) preview.hidden = true; });
  range.addEventListener('keydown', (event) => {
    const step = { ArrowLeft: -10000, ArrowDown: -10000, ArrowRight: 10000, ArrowUp: 10000 }[event.key];
    const now = step && source.state();
    if (!now) return;
    event.preventDefault();
    // From the position now, not the one drawn last: quick presses add up.
    seekTo(Math.min(now.end, Math.max(now.start, now.position + step)));
    update();
  });
  live.addEventListener('click', () => source.goLive());
  captions.addEventListener('click', () => {
    const track = source.captionsTrack();
    if (!track) return;
    const on = captions.getAttribute('aria-pressed') !== 'true';
    track.mode = on ? 'showing' : 'hidden';
    captions.setAttribute('aria-pressed', String(on));
  });

  // The position in words, for the label and the slider's aria-valuetext.
  const describe = (ms) => {
    if (!state) return;
    const behind = state.end - ms;
    const where = behind < LIVE_MS ? 'live' : `−${duration(behind)} behind live`;
    const text = state.wallClock === false ? where : `${clock(ms)} · ${where}`;
    time.textContent = text;
    range.setAttribute('aria-valuetext', text);
  };

  const update = () => {
    state = source.state();
    const seekable = state && state.end - state.start >= 2000;
    bar.hidden = !seekable;
    captions.hidden = !(state && state.captions);
    if (!seekable) return;
    range.min = String(state.start / 1000);
    range.max = String(state.end / 1000);
    if (!dragging) { range.value = String(state.position / 1000); describe(state.position); }
    live.disabled = state.end - state.position < LIVE_MS && state.live;
    bar.dataset.live = String(state.end - state.position < LIVE_MS);
  };
  const timer = setInterval(update, 250);
  signal?.addEventListener('abort', () => { clearInterval(timer); container.replaceChildren(); }, { once: true });
  update();
}

// The source for the browser's own HLS player (Safari): the seek bar spans `video.seekable`,
// on the wall clock when the browser says where position 0 is (`getStartDate`, from
// EXT-X-PROGRAM-DATE-TIME); its 608 captions are the text tracks it exposes.
export function nativeSource(video) {
  const epoch = () => {
    const date = video.getStartDate?.();
    return date && Number.isFinite(date.getTime()) ? date.getTime() : null;
  };
  const captionsTrack = () => [...video.textTracks].find((t) => t.kind === 'captions' || t.kind === 'subtitles') ?? null;
  return {
    state() {
      const seekable = video.seekable;
      if (!seekable.length) return null;
      const zero = epoch(), ms = (t) => (zero ?? 0) + t * 1000;
      const end = ms(seekable.end(seekable.length - 1)), position = ms(video.currentTime);
      return { start: ms(seekable.start(0)), end, position, live: end - position < LIVE_MS, wallClock: zero !== null, captions: captionsTrack() !== null };
    },
    seek(ms) { video.currentTime = (ms - (epoch() ?? 0)) / 1000; video.play().catch(() => {}); },
    goLive() {
      if (video.seekable.length) video.currentTime = Math.max(0, video.seekable.end(video.seekable.length - 1) - 3);
      video.play().catch(() => {});
    },
    captionsTrack,
  };
}
