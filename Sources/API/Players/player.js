// Sluice's small player: Media Source Extensions fed by LL-HLS CMAF parts or by HTTP-FLV
// remuxed to fMP4 here, one SourceBuffer per track. No library, nothing from a CDN.

import { CaptionReader, decodeTimeOf, timescaleOf } from './cea608.js';
import { attachControls, nativeSource } from './player-controls.js';

// A signed page URL's `expires` and `token`, to send on to the stream's first URL (playlists
// the server answers carry them on to everything they list); '' for unsigned pages.
export function signedQuery(search) {
  const params = new URLSearchParams(search);
  return params.has('token') ? `?expires=${encodeURIComponent(params.get('expires'))}&token=${encodeURIComponent(params.get('token'))}` : '';
}

// `uri` with more query parameters, whether or not it has a query already.
const withQuery = (uri, query) => uri + (uri.includes('?') ? '&' : '?') + query;

const log = (...args) => { const el = document.getElementById('status'); if (el) el.textContent = args.join(' '); };

// Appends to one SourceBuffer in order (MSE allows one operation at a time): init segments,
// media fragments (with the timestampOffset that places them, when given) and removals.
// `inspect(bytes, timestampOffset)` sees each media fragment as it goes in (captions).
class TrackBuffer {
  constructor(mediaSource, mime) {
    this.buffer = mediaSource.addSourceBuffer(mime);
    this.buffer.mode = 'segments';
    this.queue = [];
    this.timescale = null;
    this.inspect = null;
    this.clearing = false;
    this.buffer.addEventListener('updateend', () => {
      if (this.current?.clears) this.clearing = false;
      this.pump();
    });
  }
  append(bytes, offset = undefined, media = false) { this.queue.push({ bytes, offset, media }); this.pump(); }
  remove(start, end) { this.queue.push({ remove: [start, end] }); this.pump(); }
  // Forgets what is queued and everything buffered (a seek starts over).
  reset() {
    this.queue = [];
    try { this.buffer.abort(); } catch { /* a removal under way finishes; the one queued next clears what it kept */ }
    this.clearing = true;
    this.queue.push({ remove: [0, Infinity], clears: true });
    this.pump();
  }
  // Seconds buffered past `time` in the range holding it.
  ahead(time) {
    const ranges = this.buffer.buffered;
    for (let i = 0; i < ranges.length; i++) if (time >= ranges.start(i) - 0.5 && time <= ranges.end(i)) return ranges.end(i) - time;
    return 0;
  }
  pump() {
    if (this.buffer.updating || this.queue.length === 0) return;
    const next = this.current = this.queue.shift();
    try {
      if (next.remove) { this.buffer.remove(...next.remove); return; }
      if (next.offset !== undefined) this.buffer.timestampOffset = next.offset;
      this.buffer.appendBuffer(next.bytes);
      if (next.media) this.inspect?.(next.bytes, this.buffer.timestampOffset);
    } catch (error) { log('append failed:', error.message); }
  }
}

function openMediaSource(video) {
  const mediaSource = new MediaSource();
  video.src = URL.createObjectURL(mediaSource);
  return new Promise((resolve) => mediaSource.addEventListener('sourceopen', () => resolve(mediaSource), { once: true }));
}

// Starts playback once something is buffered, and keeps the player near the live edge (until
// `signal` aborts).
function followLiveEdge(video, maxLatency, signal) {
  const timer = setInterval(() => {
    if (video.buffered.length === 0) return;
    const end = video.buffered.end(video.buffered.length - 1);
    if (video.paused) { video.currentTime = Math.max(video.buffered.start(0), end - maxLatency / 2); video.play().catch(() => {}); }
    else if (end - video.currentTime > maxLatency) video.currentTime = end - maxLatency / 2;
  }, 250);
  signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

// ---------- LL-HLS over MSE, seekable over the playlist's window ----------

function parseAttributes(text) {
  const attributes = {};
  for (const match of text.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) attributes[match[1]] = match[2].replace(/^"|"$/g, '');
  return attributes;
}

const seconds = (text) => Math.max(0, parseFloat(text) || 0);

// A media playlist: each segment with its media sequence number, URI, parts ({ uri, duration }),
// init segment, program date (Unix ms: EXT-X-PROGRAM-DATE-TIME, carried on by the durations)
// and duration; last, the segment being written (parts only, unfinished).
function parseMediaPlaylist(text) {
  const playlist = { mediaSequence: 0, skipped: 0, segments: [], partTarget: 0.5, canSkip: false };
  let sequence = 0, parts = [], map = null, date = null, duration = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) sequence = playlist.mediaSequence = parseInt(line.slice(22), 10) || 0;
    else if (line.startsWith('#EXT-X-SKIP:')) sequence += (playlist.skipped = parseInt(parseAttributes(line.slice(12))['SKIPPED-SEGMENTS'], 10) || 0);
    else if (line.startsWith('#EXT-X-MAP:')) map = parseAttributes(line.slice(11)).URI;
    else if (line.startsWith('#EXT-X-PART-INF:')) playlist.partTarget = seconds(parseAttributes(line.slice(16))['PART-TARGET']) || 0.5;
    else if (line.startsWith('#EXT-X-SERVER-CONTROL:')) playlist.canSkip = 'CAN-SKIP-UNTIL' in parseAttributes(line.slice(22));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) { const d = Date.parse(line.slice(25)); date = Number.isFinite(d) ? d : null; }
    else if (line.startsWith('#EXTINF:')) duration = seconds(line.slice(8));
    else if (line.startsWith('#EXT-X-PART:')) { const a = parseAttributes(line.slice(12)); parts.push({ uri: a.URI, duration: seconds(a.DURATION) }); }
    else if (line && !line.startsWith('#')) {
      playlist.segments.push({ msn: sequence, uri: line, parts, map, date, duration, finished: true });
      sequence += 1; parts = [];
      if (date !== null) date += duration * 1000;
    }
  }
  const written = parts.reduce((sum, part) => sum + part.duration, 0);
  playlist.segments.push({ msn: sequence, uri: null, parts, map, date, duration: written, finished: false });
  return playlist;
}

// A delta update (EXT-X-SKIP) with the skipped segments taken from the playlist before it; null
// when that one does not hold them all.
function mergePlaylist(previous, next) {
  if (!next.skipped) return next;
  const first = next.segments[0].msn;
  const kept = (previous?.segments ?? []).filter((s) => s.finished && s.msn >= next.mediaSequence && s.msn < first);
  return kept.length === next.skipped ? { ...next, segments: [...kept, ...next.segments] } : null;
}

async function fetchBytes(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// One media playlist followed into one SourceBuffer, from the segment holding an instant (or
// the newest whole one, for live): whole segments while behind, then every part, with blocking
// reloads (_HLS_msn/_HLS_part, delta updates where the server offers them) instead of polling.
// Fragments are placed on the session's wall-clock timeline: media time = (program date −
// origin) / 1000, one timestampOffset per init segment (a new one after a discontinuity).
class TrackFollower {
  constructor(session, uri, buffer) {
    Object.assign(this, { session, uri, buffer, playlist: null, loadedAt: 0 });
  }

  // Loads the playlist (blocking when `directives` are given); the answer's status.
  async load(signal, directives = '') {
    const skip = this.playlist?.canSkip ? '_HLS_skip=YES' : '';
    const query = [directives, skip].filter(Boolean).join('&');
    const response = await fetch(query ? withQuery(this.session.base + this.uri, query) : this.session.base + this.uri, { signal, cache: 'no-store' });
    if (!response.ok) return response.status;
    const merged = mergePlaylist(this.playlist, parseMediaPlaylist(await response.text()));
    if (!merged) { this.playlist = null; return this.load(signal); }
    this.playlist = merged;
    this.loadedAt = Date.now();
    return 200;
  }

  // The segment to start from: the one holding `date`, or the newest whole one.
  first(date) {
    const finished = this.playlist.segments.filter((s) => s.finished);
    const newest = finished[finished.length - 1] ?? this.playlist.segments[0];
    if (date === null) return newest;
    return finished.find((s) => s.date !== null && date < s.date + s.duration * 1000) ?? newest;
  }

  place(bytes, date, signal) {
    signal.throwIfAborted();
    let offset;
    if (this.offset === null && date !== null && this.session.origin !== null && this.buffer.timescale) {
      const decodeTime = decodeTimeOf(bytes);
      if (decodeTime !== null) this.offset = offset = (date - this.session.origin) / 1000 - decodeTime / this.buffer.timescale;
    }
    this.buffer.append(bytes, offset, true);
  }

  async run(date, signal) {
    const base = this.session.base;
    let next = { msn: this.first(date).msn, part: 0 }, map = null;
    this.offset = null;
    while (!signal.aborted) {
      const segment = this.playlist.segments.find((s) => s.msn === next.msn);
      if (!segment && next.msn < this.playlist.mediaSequence) { next = { msn: this.playlist.mediaSequence, part: 0 }; continue; }
      if (segment && segment.map && segment.map !== map) {
        map = segment.map;
        const init = await fetchBytes(base + map, signal);
        signal.throwIfAborted();
        this.buffer.timescale = timescaleOf(init);
        this.buffer.append(init);
        this.offset = null;
      }
      if (segment && segment.finished && next.part === 0) {
        await this.session.room(this.buffer, signal);
        this.place(await fetchBytes(base + segment.uri, signal), segment.date, signal);
        next = { msn: next.msn + 1, part: 0 };
      } else if (segment && next.part < segment.parts.length) {
        const before = segment.parts.slice(0, next.part).reduce((sum, part) => sum + part.duration, 0);
        this.place(await fetchBytes(base + segment.parts[next.part].uri, signal), segment.date === null ? null : segment.date + before * 1000, signal);
        next.part += 1;
      } else if (segment && segment.finished) {
        next = { msn: next.msn + 1, part: 0 };
      } else {
        const status = await this.load(signal, `_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
        if (status === 404) { log('stream ended'); return; }
        if (status !== 200) await sleep(500, signal);
      }
    }
  }
}

// A live stream played from its LL-HLS playlists through MSE, seekable over the window the
// playlists list. The media timeline is the wall clock: time t is `origin` + t seconds (origin
// the window's start when playback began), so the seek bar, its thumbnails and the captions'
// cues all speak program dates.
class LowLatencySession {
  constructor(video, base, signal) {
    Object.assign(this, { video, base, signal, followers: [], origin: null, live: true, pending: { live: true },
                          controller: null, captions: null, hasCaptions: false, maxLatency: 3 });
    this.ended = new Promise((resolve, reject) => { this.finish = resolve; this.fail = reject; });
  }

  // Waits while `buffer` holds more than 20 s ahead of the position (a seek far back does not
  // fetch the whole window at once).
  async room(buffer, signal) {
    while (!signal.aborted && buffer.ahead(this.video.currentTime) > 20) await sleep(250, signal);
  }

  // (Re)starts every track at `date` (null: the live edge), dropping what is buffered.
  restart(date) {
    this.controller?.abort();
    const controller = this.controller = new AbortController();
    this.signal?.addEventListener('abort', () => controller.abort(), { once: true, signal: controller.signal });
    for (const follower of this.followers) if (follower.buffer.buffer.buffered.length || follower.buffer.queue.length) follower.buffer.reset();
    // The window can grow back past the origin (a server that just began packaging the stream
    // lists the archive a moment later): nothing stays buffered, so the timeline moves back with
    // it and media times stay positive.
    const start = this.timeline?.segments[0].date;
    if (start !== null && start !== undefined && start < this.origin) this.origin = start;
    this.captions?.clear();
    for (const follower of this.followers) {
      follower.run(date, controller.signal).then(() => { if (!controller.signal.aborted) this.finish(); })
        .catch((error) => { if (error.name !== 'AbortError' && !controller.signal.aborted) this.fail(error); });
    }
  }

  get timeline() { return this.followers[0]?.playlist; }

  state() {
    const playlist = this.timeline;
    if (!playlist || this.origin === null) return null;
    const first = playlist.segments[0], open = playlist.segments[playlist.segments.length - 1];
    if (first.date === null || open.date === null) return null;
    const position = this.pending?.date ?? this.origin + this.video.currentTime * 1000;
    return { start: first.date, end: open.date + open.duration * 1000, position, live: this.live, wallClock: true,
             captions: this.hasCaptions || Boolean(this.captions?.sawCaptions) };
  }

  // Sets the position; `seeking` events for it are this session's own.
  setTime(time) { this.expected = time; this.video.currentTime = time; }

  seek(date) {
    const time = (date - this.origin) / 1000, ranges = this.video.buffered;
    this.live = false;
    for (let i = 0; i < ranges.length; i++) {
      if (time >= ranges.start(i) && time < ranges.end(i) - 0.5) { this.setTime(time); this.video.play().catch(() => {}); return; }
    }
    this.pending = { date };
    this.restart(date);
  }

  goLive() {
    this.live = true;
    this.pending = { live: true };
    this.restart(null);
  }

  // A seek made with the video's own controls: within what is buffered it stands, else the
  // tracks start over there; near the end it is live again.
  seeked() {
    const time = this.video.currentTime;
    if (Math.abs(time - (this.expected ?? -1)) < 0.01 || this.origin === null) return;
    const state = this.state();
    if (state && state.end - (this.origin + time * 1000) < 6000) { this.live = true; return; }
    this.seek(this.origin + time * 1000);
  }

  captionsTrack() { return this.captions?.decoder.track ?? null; }

  // Every 250 ms: start where a (re)start asked once data is there; when live, stay near the
  // edge; keep the window fresh while the tracks are busy behind live; drop what is long played.
  tick() {
    const video = this.video, ranges = video.buffered;
    if (this.pending && this.followers.some((f) => f.buffer.clearing)) return;
    if (this.pending && ranges.length) {
      const end = ranges.end(ranges.length - 1);
      if (this.pending.live) this.setTime(Math.max(ranges.start(0), end - this.maxLatency / 2));
      else {
        const time = (this.pending.date - this.origin) / 1000;
        let index = 0;
        while (index < ranges.length - 1 && ranges.end(index) <= time) index += 1;
        if (ranges.end(index) <= time) return;
        this.setTime(Math.max(time, ranges.start(index)));
      }
      this.pending = null;
      video.play().catch(() => {});
    } else if (this.live && !video.paused && ranges.length && ranges.end(ranges.length - 1) - video.currentTime > this.maxLatency) {
      this.setTime(ranges.end(ranges.length - 1) - this.maxLatency / 2);
    }
    const timeline = this.followers[0];
    if (timeline?.playlist && Date.now() - timeline.loadedAt > 2000 && !this.refreshing) {
      this.refreshing = timeline.load(this.signal).catch(() => {}).finally(() => { this.refreshing = null; });
    }
    for (const follower of this.followers) {
      const buffered = follower.buffer.buffer.buffered;
      if (buffered.length && video.currentTime - buffered.start(0) > 60 && !follower.buffer.buffer.updating) follower.buffer.remove(0, video.currentTime - 30);
    }
  }
}

// Plays `base`'s LL-HLS through MSE; `signal` (optional) stops fetching and following when it
// aborts (likewise for HTTP-FLV). With `controls` (an element), draws the seek bar, Go live,
// the captions toggle and thumbnails there.
export async function playLowLatencyHLS(video, base, query = '', signal = undefined, controls = undefined) {
  const master = await (await fetch(base + 'llhls.m3u8' + query, { signal })).text();
  const lines = master.split('\n');
  const variantIndex = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  const variant = parseAttributes(lines[variantIndex].slice(18));
  const codecs = variant.CODECS.split(',');
  const audioLine = lines.find((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'));
  const imageLine = lines.find((l) => l.startsWith('#EXT-X-IMAGE-STREAM-INF:'));
  const mediaSource = await openMediaSource(video);
  const session = new LowLatencySession(video, base, signal);
  session.hasCaptions = Boolean(variant['CLOSED-CAPTIONS']) && variant['CLOSED-CAPTIONS'] !== 'NONE';
  const videoCodec = codecs.find((c) => !c.startsWith('mp4a'));
  if (videoCodec) {
    const buffer = new TrackBuffer(mediaSource, `video/mp4; codecs="${videoCodec}"`);
    session.captions = new CaptionReader(captionTrack(video), /^(hvc1|hev1)/.test(videoCodec));
    buffer.inspect = (bytes, offset) => session.captions.fragment(bytes, buffer.timescale, offset);
    session.followers.push(new TrackFollower(session, lines[variantIndex + 1], buffer));
  }
  const audioCodec = codecs.find((c) => c.startsWith('mp4a'));
  const audioURI = audioLine ? parseAttributes(audioLine.slice(13)).URI : (!videoCodec ? lines[variantIndex + 1] : null);
  if (audioCodec && audioURI) session.followers.push(new TrackFollower(session, audioURI, new TrackBuffer(mediaSource, `audio/mp4; codecs="${audioCodec}"`)));
  for (const follower of session.followers) if ((await follower.load(signal)) !== 200) throw new Error(`${follower.uri}: not live`);
  session.origin = session.timeline.segments[0].date;
  video.sluiceSession = session;
  session.restart(null);
  const timer = setInterval(() => session.tick(), 250);
  video.addEventListener('seeking', () => session.seeked(), { signal });
  signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
  if (controls) {
    const thumbnails = imageLine ? base + parseAttributes(imageLine.slice(24)).URI : null;
    attachControls(controls, video, session, thumbnails, signal);
  }
  log('playing LL-HLS over MSE');
  try { await session.ended; } finally { clearInterval(timer); }
}

// The video's CC1 text track, made once per video element (a track cannot be removed).
function captionTrack(video) {
  video.sluiceCaptions ??= video.addTextTrack('captions', 'CC1', '');
  video.sluiceCaptions.mode = 'hidden';
  return video.sluiceCaptions;
}

// The browser's own HLS player (Safari's plays LL-HLS); if it cannot play the stream (some
// native players take no CMAF or alternate audio), `fallback` takes over. With `controls`, the
// same controls as the MSE player's, over what the browser offers (`nativeSource`).
export function playNativeHLS(video, base, fallback, query = '', controls = undefined) {
  const stop = new AbortController();
  video.addEventListener('error', () => {
    if (!fallback) return;
    log('native HLS failed; switching to MSE');
    stop.abort();
    video.removeAttribute('src');
    fallback();
  }, { once: true });
  video.src = base + 'llhls.m3u8' + query;
  video.play().catch(() => {});
  if (controls) attachControls(controls, video, nativeSource(video), base + 'thumbnails.m3u8' + query, stop.signal);
  log('playing HLS natively');
}

// ---------- HTTP-FLV remuxed to fMP4 ----------

const text4 = (s) => [...s].map((c) => c.charCodeAt(0));
const u32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const u16 = (v) => [(v >>> 8) & 255, v & 255];
function box(type, ...payloads) {
  const body = payloads.flat();
  return [...u32(body.length + 8), ...text4(type), ...body];
}
const fullBox = (type, version, flags, ...payloads) => box(type, [version, ...u32(flags).slice(1)], ...payloads);
const matrix = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000].flatMap(u32);

function initSegment(track) {
  const video = track.kind === 'video';
  const sampleEntry = video
    ? box('avc1', new Array(6).fill(0), u16(1), new Array(16).fill(0), u16(track.width), u16(track.height),
        u32(0x480000), u32(0x480000), u32(0), u16(1), new Array(32).fill(0), u16(0x18), u16(0xffff), box('avcC', track.config))
    : box('mp4a', new Array(6).fill(0), u16(1), new Array(8).fill(0), u16(track.channels), u16(16), u32(0),
        u32(track.sampleRate * 65536), fullBox('esds', 0, 0, esDescriptor(track.config)));
  return new Uint8Array([
    ...box('ftyp', text4('iso6'), u32(0), text4('iso6'), text4('mp41')),
    ...box('moov',
      fullBox('mvhd', 0, 0, u32(0), u32(0), u32(1000), u32(0), u32(0x00010000), u16(0x0100), new Array(10).fill(0), matrix,
        new Array(24).fill(0), u32(2)),
      box('trak',
        fullBox('tkhd', 0, 3, u32(0), u32(0), u32(1), new Array(20).fill(0), u16(video ? 0 : 0x0100), u16(0), matrix,
          u32((track.width || 0) * 65536), u32((track.height || 0) * 65536)),
        box('mdia',
          fullBox('mdhd', 0, 0, u32(0), u32(0), u32(track.timescale), u32(0), u16(0x55c4), u16(0)),
          fullBox('hdlr', 0, 0, u32(0), text4(video ? 'vide' : 'soun'), new Array(12).fill(0), text4('flv'), [0]),
          box('minf',
            video ? fullBox('vmhd', 0, 1, new Array(8).fill(0)) : fullBox('smhd', 0, 0, u32(0)),
            box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))),
            box('stbl', fullBox('stsd', 0, 0, u32(1), sampleEntry), fullBox('stts', 0, 0, u32(0)),
              fullBox('stsc', 0, 0, u32(0)), fullBox('stsz', 0, 0, u32(0), u32(0)), fullBox('stco', 0, 0, u32(0)))))),
      box('mvex', fullBox('trex', 0, 0, u32(1), u32(1), u32(0), u32(0), u32(0)))),
  ]);
}

function esDescriptor(config) {
  const descriptor = (tag, body) => [tag, 0x80, 0x80, 0x80, body.length, ...body];
  const decoderConfig = descriptor(4, [0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...descriptor(5, [...config])]);
  return descriptor(3, [0, 1, 0, ...decoderConfig, ...descriptor(6, [2])]);
}

function fragment(sequence, baseTime, samples) {
  const trunEntries = samples.flatMap((s) => [...u32(s.duration), ...u32(s.data.length), ...u32(s.sync ? 0x02000000 : 0x01010000), ...u32(s.cts)]);
  const build = (offset) => box('moof', fullBox('mfhd', 0, 0, u32(sequence)),
    box('traf', fullBox('tfhd', 0, 0x020000, u32(1)),
      fullBox('tfdt', 1, 0, u32(Math.floor(baseTime / 2 ** 32)), u32(baseTime >>> 0)),
      fullBox('trun', 1, 0xf01, u32(samples.length), u32(offset), trunEntries)));
  const moof = build(0);
  const total = samples.reduce((n, s) => n + s.data.length, 0);
  const bytes = new Uint8Array(moof.length + 8 + total);
  bytes.set(build(moof.length + 8));
  bytes.set([...u32(total + 8), ...text4('mdat')], moof.length);
  let at = moof.length + 8;
  for (const s of samples) { bytes.set(s.data, at); at += s.data.length; }
  return bytes;
}

// Width and height from the SPS of an AVCDecoderConfigurationRecord (H.264 §7.3.2.1.1).
function avcPictureSize(record) {
  const spsLength = (record[6] << 8) | record[7];
  const raw = record.subarray(9, 8 + spsLength);
  const bytes = [];
  for (let i = 0, zeros = 0; i < raw.length; i++) {
    if (zeros >= 2 && raw[i] === 3) { zeros = 0; continue; }
    zeros = raw[i] === 0 ? zeros + 1 : 0; bytes.push(raw[i]);
  }
  let bit = 0;
  const read = (n) => { let v = 0; for (let i = 0; i < n; i++, bit++) v = v * 2 + ((bytes[bit >> 3] >> (7 - (bit & 7))) & 1); return v; };
  const ue = () => { let z = 0; while (read(1) === 0) z++; return 2 ** z - 1 + read(z); };
  const se = () => { const c = ue(); return c % 2 ? (c + 1) / 2 : -c / 2; };
  const profile = read(8); read(16); ue();
  let chroma = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chroma = ue(); if (chroma === 3) read(1); ue(); ue(); read(1);
    if (read(1)) for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (read(1)) {
      let last = 8, next = 8;
      for (let j = 0; j < (i < 6 ? 16 : 64); j++) { if (next) next = (last + se() + 256) % 256; last = next || last; }
    }
  }
  ue(); const poc = ue();
  if (poc === 0) ue(); else if (poc === 1) { read(1); se(); se(); const n = ue(); for (let i = 0; i < n; i++) se(); }
  ue(); read(1);
  const w = ue() + 1, h = ue() + 1, frameOnly = read(1);
  if (!frameOnly) read(1);
  read(1);
  let crop = [0, 0, 0, 0];
  if (read(1)) crop = [ue(), ue(), ue(), ue()];
  const unitX = chroma === 0 || chroma === 3 ? 1 : 2, unitY = (chroma === 1 ? 2 : 1) * (2 - frameOnly);
  return [w * 16 - (crop[0] + crop[1]) * unitX, (2 - frameOnly) * h * 16 - (crop[2] + crop[3]) * unitY];
}

// Reads FLV tags from the HTTP-FLV response as they arrive and remuxes H.264 and AAC into one
// fMP4 fragment per video frame (and per few audio frames).
export async function playHTTPFLV(video, base, query = '', signal = undefined) {
  const response = await fetch(base + 'live.flv' + query, { signal });
  if (!response.ok) { log('stream not live'); return; }
  const mediaSource = await openMediaSource(video);
  const reader = response.body.getReader();
  const tracks = {};
  let pending = new Uint8Array(0), headerDone = false, sequence = 1, audioQueue = [];
  const emitAudio = (force) => {
    const track = tracks.audio;
    if (!track || audioQueue.length === 0 || (!force && audioQueue.length < 4)) return;
    track.buffer.append(fragment(sequence++, audioQueue[0].time, audioQueue));
    audioQueue = [];
  };
  followLiveEdge(video, 2, signal);
  log('playing HTTP-FLV remuxed to fMP4');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) { log('stream ended'); return; }
    const joined = new Uint8Array(pending.length + value.length);
    joined.set(pending); joined.set(value, pending.length);
    let at = 0;
    if (!headerDone) { if (joined.length < 13) { pending = joined; continue; } at = 13; headerDone = true; }
    while (joined.length - at >= 11) {
      const size = (joined[at + 1] << 16) | (joined[at + 2] << 8) | joined[at + 3];
      if (joined.length - at < 11 + size + 4) break;
      const type = joined[at] & 0x1f;
      const time = ((joined[at + 7] << 24) | (joined[at + 4] << 16) | (joined[at + 5] << 8) | joined[at + 6]) >>> 0;
      const body = joined.subarray(at + 11, at + 11 + size);
      at += 11 + size + 4;
      if (type === 9 && (body[0] & 0x0f) === 7) {
        const cts = ((body[2] << 16) | (body[3] << 8) | body[4]) << 8 >> 8;
        if (body[1] === 0) {
          if (tracks.video) continue;
          const [width, height] = avcPictureSize(body.subarray(5));
          const codec = 'avc1.' + [...body.subarray(6, 9)].map((b) => b.toString(16).padStart(2, '0')).join('');
          tracks.video = { buffer: new TrackBuffer(mediaSource, `video/mp4; codecs="${codec}"`), last: null };
          tracks.video.buffer.append(initSegment({ kind: 'video', config: [...body.subarray(5)], width, height, timescale: 1000 }));
        } else if (body[1] === 1 && tracks.video) {
          const frame = { time, cts, sync: (body[0] >> 4) === 1, data: body.slice(5) };
          const previous = tracks.video.last;
          if (previous) {
            previous.duration = Math.max(1, time - previous.time);
            tracks.video.buffer.append(fragment(sequence++, previous.time, [previous]));
          }
          tracks.video.last = frame;
        }
      } else if (type === 8 && (body[0] >> 4) === 10) {
        if (body[1] === 0) {
          if (tracks.audio) continue;
          const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
          const sampleRate = rates[((body[2] & 7) << 1) | (body[3] >> 7)], channels = (body[3] >> 3) & 15;
          tracks.audio = { buffer: new TrackBuffer(mediaSource, 'audio/mp4; codecs="mp4a.40.2"'), sampleRate };
          tracks.audio.buffer.append(initSegment({ kind: 'audio', config: [...body.subarray(2)], sampleRate, channels, timescale: sampleRate }));
        } else if (tracks.audio) {
          audioQueue.push({ time: Math.round(time * tracks.audio.sampleRate / 1000), cts: 0, sync: true, duration: 1024, data: body.slice(2) });
          emitAudio(false);
        }
      }
    }
    pending = joined.slice(at);
  }
}
