// WHEP playback (WebRTC-HTTP Egress Protocol): one RTCPeerConnection receives the stream's video
// and audio. The offer is POSTed at once, without waiting for ICE gathering: the server is
// ICE-lite and learns the browser's address from its connectivity checks, so the offer's own
// candidates are not needed. The session ends with DELETE on its Location.

// The error text of a refused offer: the JSON error's message, else the status.
async function refusal(response) {
  const text = await response.text().catch(() => '');
  try {
    return JSON.parse(text).error.message || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// The query a WHEP request carries on: a signed play URL (expires, token), an admission
// ticket (adm) and the rendition.
export function whepQuery(search) {
  const params = new URLSearchParams(search);
  const kept = new URLSearchParams();
  for (const name of ['expires', 'token', 'adm', 'rendition']) if (params.has(name)) kept.set(name, params.get(name));
  const text = kept.toString();
  return text ? `?${text}` : '';
}

// Plays `{base}whep{query}` in `video`; `base` is the stream's folder (`/{id}/`). Resolves once
// the answer is applied, with the peer connection and `stop()` (also run when `signal` aborts);
// rejects with the server's reason when the offer is refused.
export async function playWHEP(video, base, query = '', signal = undefined) {
  const peer = new RTCPeerConnection();
  peer.addTransceiver('video', { direction: 'recvonly' });
  peer.addTransceiver('audio', { direction: 'recvonly' });
  const media = new MediaStream();
  peer.ontrack = (event) => {
    media.addTrack(event.track);
    if (video.srcObject !== media) video.srcObject = media;
    video.play().catch(() => {});
  };
  let location = null;
  const stop = () => {
    peer.close();
    if (video.srcObject === media) video.srcObject = null;
    // keepalive: the DELETE still goes out when the page is being unloaded.
    if (location) fetch(location, { method: 'DELETE', keepalive: true }).catch(() => {});
    location = null;
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await peer.setLocalDescription(await peer.createOffer());
    const endpoint = new URL(`${base}whep${query}`, window.location.href);
    const response = await fetch(endpoint, {
      method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: peer.localDescription.sdp, signal,
    });
    if (response.status !== 201) throw new Error(await refusal(response));
    location = new URL(response.headers.get('Location'), endpoint).href;
    await peer.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  } catch (error) {
    stop();
    throw error;
  }
  return { peer, stop };
}

// One line of the receiver's numbers: frames decoded, packets lost, NACKs sent, round trip.
export async function receiverSummary(peer) {
  const stats = await peer.getStats();
  let video = null;
  let pair = null;
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'video') video = report;
    if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') pair = report;
  });
  const parts = [];
  if (video) parts.push(`${video.framesDecoded ?? 0} frames`, `${video.packetsLost ?? 0} lost`, `${video.nackCount ?? 0} NACKs`);
  if (pair?.currentRoundTripTime !== undefined) parts.push(`RTT ${Math.round(pair.currentRoundTripTime * 1000)} ms`);
  return parts.join(' · ');
}
