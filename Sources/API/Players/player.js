// Sluice's small player: Media Source Extensions fed by LL-HLS CMAF parts or by HTTP-FLV
// remuxed to fMP4 here, one SourceBuffer per track. No library, nothing from a CDN.

// A signed page URL's `expires` and `token`, to send on to the stream's first URL (playlists
// the server answers carry them on to everything they list); '' for unsigned pages.
export function signedQuery(search) {
  const params = new URLSearchParams(search);
  return params.has('token') ? `?expires=${encodeURIComponent(params.get('expires'))}&token=${encodeURIComponent(params.get('token'))}` : '';
}

// `uri` with more query parameters, whether or not it has a query already.
const withQuery = (uri, query) => uri + (uri.includes('?') ? '&' : '?') + query;

const log = (...args) => { const el = document.getElementById('status'); if (el) el.textContent = args.join(' '); };

// Appends to one SourceBuffer in order; MSE allows one append at a time.
class TrackBuffer {
  constructor(mediaSource, mime) {
    this.buffer = mediaSource.addSourceBuffer(mime);
    this.buffer.mode = 'segments';
    this.queue = [];
    this.buffer.addEventListener('updateend', () => this.pump());
  }
  append(bytes) { this.queue.push(bytes); this.pump(); }
  pump() {
    if (this.buffer.updating || this.queue.length === 0) return;
    try { this.buffer.appendBuffer(this.queue.shift()); } catch (error) { log('append failed:', error.message); }
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

// ---------- LL-HLS over MSE ----------

function parseAttributes(text) {
  const attributes = {};
  for (const match of text.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) attributes[match[1]] = match[2].replace(/^"|"$/g, '');
  return attributes;
}

function parseMediaPlaylist(text) {
  const playlist = { mediaSequence: 0, segments: [], map: null, partTarget: 0.5 };
  let sequence = null, parts = [], map = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) sequence = parseInt(line.slice(22), 10);
    else if (line.startsWith('#EXT-X-SKIP:')) sequence += parseInt(parseAttributes(line.slice(12))['SKIPPED-SEGMENTS'], 10);
    else if (line.startsWith('#EXT-X-MAP:')) map = parseAttributes(line.slice(11)).URI;
    else if (line.startsWith('#EXT-X-PART-INF:')) playlist.partTarget = parseFloat(parseAttributes(line.slice(16))['PART-TARGET']);
    else if (line.startsWith('#EXT-X-PART:')) parts.push(parseAttributes(line.slice(12)).URI);
    else if (line && !line.startsWith('#')) {
      playlist.segments.push({ msn: sequence, uri: line, parts, map, finished: true });
      sequence += 1; parts = [];
    }
  }
  playlist.segments.push({ msn: sequence, uri: null, parts, map, finished: false });
  return playlist;
}

async function fetchBytes(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

// Follows one media playlist: the newest whole segment first, then every part, with
// blocking playlist reloads (_HLS_msn/_HLS_part) instead of polling.
async function followTrack(base, uri, track, signal) {
  let text = await (await fetch(base + uri, { signal })).text();
  let playlist = parseMediaPlaylist(text);
  const finished = playlist.segments.filter((s) => s.finished);
  const start = finished[finished.length - 1];
  let map = start.map;
  track.append(await fetchBytes(base + map, signal));
  track.append(await fetchBytes(base + start.uri, signal));
  let next = { msn: start.msn + 1, part: 0 };
  for (;;) {
    const segment = playlist.segments.find((s) => s.msn === next.msn);
    if (segment && segment.map && segment.map !== map) {
      map = segment.map;
      track.append(await fetchBytes(base + map, signal));
    }
    if (segment && next.part < segment.parts.length) {
      track.append(await fetchBytes(base + segment.parts[next.part], signal));
      next.part += 1;
    } else if (segment && segment.finished) {
      next = { msn: next.msn + 1, part: 0 };
    } else {
      const response = await fetch(withQuery(base + uri, `_HLS_msn=${next.msn}&_HLS_part=${next.part}`), { signal });
      if (response.status === 404) { log('stream ended'); return; }
      if (!response.ok) { await new Promise((r) => setTimeout(r, 500)); continue; }
      playlist = parseMediaPlaylist(await response.text());
    }
  }
}

// `signal` (optional) stops fetching and following when it aborts; likewise for HTTP-FLV.
export async function playLowLatencyHLS(video, base, query = '', signal = undefined) {
  const master = await (await fetch(base + 'llhls.m3u8' + query, { signal })).text();
  const lines = master.split('\n');
  const variantIndex = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  const variant = parseAttributes(lines[variantIndex].slice(18));
  const codecs = variant.CODECS.split(',');
  const audioLine = lines.find((l) => l.startsWith('#EXT-X-MEDIA:TYPE=AUDIO'));
  const mediaSource = await openMediaSource(video);
  const follows = [];
  const videoCodec = codecs.find((c) => !c.startsWith('mp4a'));
  if (videoCodec) follows.push(followTrack(base, lines[variantIndex + 1], new TrackBuffer(mediaSource, `video/mp4; codecs="${videoCodec}"`), signal));
  const audioCodec = codecs.find((c) => c.startsWith('mp4a'));
  const audioURI = audioLine ? parseAttributes(audioLine.slice(13)).URI : (!videoCodec ? lines[variantIndex + 1] : null);
  if (audioCodec && audioURI) follows.push(followTrack(base, audioURI, new TrackBuffer(mediaSource, `audio/mp4; codecs="${audioCodec}"`), signal));
  followLiveEdge(video, 3, signal);
  log('playing LL-HLS over MSE');
  await Promise.all(follows);
}

// The browser's own HLS player (Safari's plays LL-HLS); if it cannot play the stream (some
// native players take no CMAF or alternate audio), `fallback` takes over.
export function playNativeHLS(video, base, fallback, query = '') {
  video.addEventListener('error', () => {
    if (!fallback) return;
    log('native HLS failed; switching to MSE');
    video.removeAttribute('src');
    fallback();
  }, { once: true });
  video.src = base + 'llhls.m3u8' + query;
  video.play().catch(() => {});
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
