// CEA-608 closed captions for Sluice's MSE player: the caption bytes ride in the video's SEI
// (ATSC A/53 Part 4: ITU-T T.35 user data, 'GA94', user_data_type_code 3, cc_data), so the
// player reads them out of each fMP4 fragment it appends and turns CC1 into VTTCues on a
// TextTrack. Pop-on, roll-up and paint-on basics; CC1 (field 1, data channel 1) only.
// No library, nothing from a CDN.

// ---------- ISO BMFF: boxes, the track's timescale, each sample's bytes and time ----------

const u32At = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

// The boxes directly inside bytes[start, end), each { type, body, end }; stops at a box that
// does not fit (a truncated fragment yields what it holds).
export function boxesIn(bytes, start = 0, end = bytes.length) {
  const found = [];
  for (let at = start; at + 8 <= end;) {
    let size = u32At(bytes, at), body = at + 8;
    if (size === 1 && at + 16 <= end) { size = u32At(bytes, at + 8) * 2 ** 32 + u32At(bytes, at + 12); body = at + 16; }
    if (size < body - at || at + size > end) break;
    found.push({ type: String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]), start: at, body, end: at + size });
    at += size;
  }
  return found;
}

// The first box along `path` (e.g. ['moof', 'traf', 'tfdt']), or null.
export function findBox(bytes, path, start = 0, end = bytes.length) {
  let box = null;
  for (const type of path) {
    box = boxesIn(bytes, start, end).find((b) => b.type === type);
    if (!box) return null;
    ({ body: start, end } = box);
  }
  return box;
}

// The media timescale of an init segment's first track (mdhd), or null.
export function timescaleOf(init) {
  const mdhd = findBox(init, ['moov', 'trak', 'mdia', 'mdhd']);
  if (!mdhd || mdhd.end - mdhd.body < 24) return null;
  const scale = u32At(init, mdhd.body + (init[mdhd.body] === 1 ? 20 : 12));
  return scale > 0 ? scale : null;
}

// A fragment's baseMediaDecodeTime (tfdt), in timescale units, or null.
export function decodeTimeOf(fragment) {
  const tfdt = findBox(fragment, ['moof', 'traf', 'tfdt']);
  if (!tfdt || tfdt.end - tfdt.body < 8) return null;
  const body = tfdt.body;
  return fragment[body] === 1 && tfdt.end - body >= 12 ? u32At(fragment, body + 4) * 2 ** 32 + u32At(fragment, body + 8) : u32At(fragment, body + 4);
}

// Each sample of a CMAF fragment (one moof, default-base-is-moof): its bytes and presentation
// time in timescale units; [] for anything else.
export function samplesOf(fragment) {
  const moof = findBox(fragment, ['moof']), traf = moof && findBox(fragment, ['traf'], moof.body, moof.end);
  if (!traf) return [];
  const inside = boxesIn(fragment, traf.body, traf.end);
  const tfhd = inside.find((b) => b.type === 'tfhd'), trun = inside.find((b) => b.type === 'trun');
  if (!tfhd || !trun || tfhd.end - tfhd.body < 8 || trun.end - trun.body < 8) return [];
  const tfhdFlags = u32At(fragment, tfhd.body) & 0xffffff;
  let at = tfhd.body + 8 + (tfhdFlags & 1 ? 8 : 0) + (tfhdFlags & 2 ? 4 : 0);
  const defaultDuration = tfhdFlags & 8 ? u32At(fragment, at) : 0;
  const defaultSize = tfhdFlags & 0x10 ? u32At(fragment, at + (tfhdFlags & 8 ? 4 : 0)) : 0;
  const flags = u32At(fragment, trun.body) & 0xffffff, count = u32At(fragment, trun.body + 4);
  at = trun.body + 8;
  let offset = moof.start + (flags & 1 ? u32At(fragment, at) | 0 : 0);
  at += (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0);
  const samples = [];
  let time = decodeTimeOf(fragment) ?? 0;
  for (let i = 0; i < count && at <= trun.end; i++) {
    const duration = flags & 0x100 ? u32At(fragment, at) : defaultDuration;
    const size = flags & 0x200 ? u32At(fragment, at + (flags & 0x100 ? 4 : 0)) : defaultSize;
    const skip = (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0);
    const composition = flags & 0x800 ? u32At(fragment, at + skip) | 0 : 0;
    at += skip + (flags & 0x800 ? 4 : 0);
    if (offset < 0 || offset + size > fragment.length) break;
    samples.push({ time: time + composition, data: fragment.subarray(offset, offset + size) });
    offset += size; time += duration;
  }
  return samples;
}

// ---------- SEI: the cc_data pairs of field 1 ----------

// The (cc_data_1, cc_data_2) pairs for field 1 in one sample's NAL units (4-byte lengths).
export function fieldOnePairs(sample, hevc) {
  const pairs = [];
  for (let at = 0; at + 4 <= sample.length;) {
    const length = u32At(sample, at), start = at + 4;
    at = start + length;
    if (length < 3 || at > sample.length) break;
    const type = hevc ? (sample[start] >> 1) & 0x3f : sample[start] & 0x1f;
    if (hevc ? type === 39 || type === 40 : type === 6) seiPairs(unescape(sample.subarray(start + (hevc ? 2 : 1), at)), pairs);
  }
  return pairs;
}

// The RBSP without its emulation prevention bytes (00 00 03 → 00 00).
function unescape(bytes) {
  const out = [];
  for (let i = 0, zeros = 0; i < bytes.length; i++) {
    if (zeros >= 2 && bytes[i] === 3) { zeros = 0; continue; }
    zeros = bytes[i] === 0 ? zeros + 1 : 0;
    out.push(bytes[i]);
  }
  return out;
}

function seiPairs(rbsp, pairs) {
  for (let at = 0; at < rbsp.length && rbsp[at] !== 0x80;) {
    let type = 0, size = 0;
    while (at < rbsp.length && rbsp[at] === 0xff) { type += 255; at++; }
    type += rbsp[at++] ?? 0;
    while (at < rbsp.length && rbsp[at] === 0xff) { size += 255; at++; }
    size += rbsp[at++] ?? 0;
    if (at + size > rbsp.length) return;
    if (type === 4) a53Pairs(rbsp.slice(at, at + size), pairs);
    at += size;
  }
}

// user_data_registered_itu_t_t35: country 0xB5, provider 0x0031, 'GA94', type 3 (cc_data).
function a53Pairs(p, pairs) {
  if (p.length < 10 || p[0] !== 0xb5 || p[1] !== 0 || p[2] !== 0x31 || String.fromCharCode(...p.slice(3, 7)) !== 'GA94' || p[7] !== 3) return;
  if (!(p[8] & 0x40)) return;
  const count = p[8] & 0x1f;
  for (let i = 0; i < count && 10 + i * 3 + 2 < p.length; i++) {
    const [flags, one, two] = p.slice(10 + i * 3, 13 + i * 3);
    if ((flags & 0x04) && (flags & 0x03) === 0) pairs.push([one, two]);
  }
}

// ---------- CEA-608 CC1 ----------

const oddParity = (b) => { let ones = 0; for (let v = b; v; v >>= 1) ones += v & 1; return ones % 2 === 1; };
const standard = { 0x2a: 'á', 0x5c: 'é', 0x5e: 'í', 0x5f: 'ó', 0x60: 'ú', 0x7b: 'ç', 0x7c: '÷', 0x7d: 'Ñ', 0x7e: 'ñ', 0x7f: '█' };
const special = '®°½¿™¢£♪à èâêîôû';
// The row of a preamble address code (first byte 0x10–0x17 less the channel bit, second byte bit 0x20).
const pacRows = { 0x11: [1, 2], 0x12: [3, 4], 0x15: [5, 6], 0x16: [7, 8], 0x17: [9, 10], 0x10: [11, 11], 0x13: [12, 13], 0x14: [14, 15] };

const blankScreen = () => new Map();

// Decodes CC1 byte pairs (given with their presentation time, seconds) into cues on `track`:
// each change of what is shown ends the cue that showed before it.
export class CEA608Decoder {
  constructor(track) {
    this.track = track;
    this.reset();
  }

  reset() {
    this.mode = 'pop-on';
    this.shown = blankScreen(); this.hidden = blankScreen();
    this.row = 15; this.column = 0; this.rollRows = 2;
    this.lastControl = null; this.channel = 1; this.cue = null;
    this.sawCaptions = false;
  }

  // The screen text goes to (the hidden one in pop-on mode).
  get target() { return this.mode === 'pop-on' ? this.hidden : this.shown; }

  push(time, one, two) {
    if (!oddParity(one) || !oddParity(two)) return;
    const a = one & 0x7f, b = two & 0x7f;
    if (a === 0 && b === 0) return;
    if (a >= 0x10 && a <= 0x1f) {
      // Control codes come twice; the repeat is ignored.
      const control = (a << 8) | b;
      if (this.lastControl === control) { this.lastControl = null; return; }
      this.lastControl = control;
      this.channel = a & 0x08 ? 2 : 1;
      if (this.channel === 1) this.control(time, a & 0x17, b);
      return;
    }
    this.lastControl = null;
    if (this.channel !== 1) return;
    for (const code of [a, b]) if (code >= 0x20) this.write(time, standard[code] ?? String.fromCharCode(code));
  }

  control(time, a, b) {
    if (a === 0x11 && b >= 0x30 && b <= 0x3f) { this.write(time, special[b - 0x30]); return; }
    if (a === 0x11 && b >= 0x20 && b <= 0x2f) { this.write(time, ' '); return; }
    if ((a === 0x12 || a === 0x13) && b >= 0x20 && b <= 0x3f) return; // extended characters: the standard one sent before stays
    if (a === 0x17 && b >= 0x21 && b <= 0x23) { this.column = Math.min(31, this.column + (b - 0x20)); return; }
    if (b >= 0x40 && b <= 0x7f && pacRows[a]) { this.preamble(time, pacRows[a][b & 0x20 ? 1 : 0], b); return; }
    if (a !== 0x14 || b < 0x20 || b > 0x2f) return;
    this.command(time, b);
  }

  command(time, b) {
    switch (b) {
      case 0x20: this.mode = 'pop-on'; break;
      case 0x29: this.mode = 'paint-on'; break;
      case 0x25: case 0x26: case 0x27:
        if (this.mode !== 'roll-up') { this.shown = blankScreen(); this.hidden = blankScreen(); this.show(time); }
        this.mode = 'roll-up'; this.rollRows = b - 0x23; this.row = 15; this.column = 0; break;
      case 0x21: this.backspace(time); break;
      case 0x24: this.truncate(time); break;
      case 0x2c: this.shown = blankScreen(); this.show(time); break;
      case 0x2e: this.hidden = blankScreen(); break;
      case 0x2d: this.carriageReturn(time); break;
      case 0x2f: [this.shown, this.hidden] = [this.hidden, this.shown]; this.show(time); break;
      default: break;
    }
  }

  preamble(time, row, b) {
    if (this.mode === 'roll-up' && row !== this.row) {
      // The roll-up window moves to the new base row, keeping its rows.
      const moved = blankScreen();
      for (const [r, text] of this.shown) if (r - this.row + row >= 1) moved.set(r - this.row + row, text);
      this.shown = moved; this.show(time);
    }
    this.row = row;
    this.column = b >= 0x50 && b <= 0x5f ? ((b - 0x50) >> 1) * 4 : 0;
  }

  write(time, text) {
    if (!text) return;
    this.sawCaptions = true;
    const screen = this.target;
    const cells = (screen.get(this.row) ?? '').padEnd(32, ' ').split('');
    for (const ch of text) { if (this.column < 32) cells[this.column] = ch; this.column = Math.min(32, this.column + 1); }
    screen.set(this.row, cells.join('').trimEnd());
    if (screen === this.shown) this.show(time);
  }

  backspace(time) {
    if (this.column === 0) return;
    this.column -= 1;
    const screen = this.target, cells = (screen.get(this.row) ?? '').padEnd(32, ' ').split('');
    cells[this.column] = ' ';
    screen.set(this.row, cells.join('').trimEnd());
    if (screen === this.shown) this.show(time);
  }

  truncate(time) {
    const screen = this.target;
    screen.set(this.row, (screen.get(this.row) ?? '').slice(0, this.column).trimEnd());
    if (screen === this.shown) this.show(time);
  }

  carriageReturn(time) {
    if (this.mode !== 'roll-up') { this.row = Math.min(15, this.row + 1); this.column = 0; return; }
    const rolled = blankScreen();
    for (const [r, text] of this.shown) if (r > this.row - this.rollRows + 1 && r <= this.row) rolled.set(r - 1, text);
    this.shown = rolled; this.column = 0;
    this.show(time);
  }

  // What is shown changed at `time`: the cue showing ends, a new one begins (empty: none).
  show(time) {
    const text = [...this.shown.entries()].sort((x, y) => x[0] - y[0]).map(([, t]) => t.trim()).filter(Boolean).join('\n');
    if (this.cue && this.cue.text === text) return;
    if (this.cue) {
      if (time > this.cue.startTime) this.cue.endTime = time;
      else this.track.removeCue(this.cue);
      this.cue = null;
    }
    if (!text) return;
    // Open-ended until the next change; clamped when it comes.
    this.cue = new VTTCue(time, time + 3600, text);
    this.cue.line = -1;
    this.track.addCue(this.cue);
  }

  // Forgets the screens and removes every cue (after a seek the fragments come again).
  clear() {
    for (const cue of [...(this.track.cues ?? [])]) this.track.removeCue(cue);
    const saw = this.sawCaptions;
    this.reset();
    this.sawCaptions = saw;
  }
}

// Reads a video track's fragments as they are appended: `fragment(bytes, timescale, offset)`
// with the SourceBuffer's timestampOffset (seconds), in presentation order per fragment.
export class CaptionReader {
  constructor(track, hevc) {
    this.decoder = new CEA608Decoder(track);
    this.hevc = hevc;
  }

  fragment(bytes, timescale, offset) {
    if (!timescale) return;
    const samples = samplesOf(bytes).sort((x, y) => x.time - y.time);
    for (const sample of samples) {
      const time = sample.time / timescale + offset;
      for (const [one, two] of fieldOnePairs(sample.data, this.hevc)) this.decoder.push(time, one, two);
    }
  }

  get sawCaptions() { return this.decoder.sawCaptions; }
  clear() { this.decoder.clear(); }
}
