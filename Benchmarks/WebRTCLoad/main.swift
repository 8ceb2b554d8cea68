// WHEP viewers and ingest-to-RTP latency against a running Sluice (Benchmarks/webrtc.sh).
print("WebRTCLoad: not written yet")
