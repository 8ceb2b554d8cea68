import Testing

/// Every end-to-end test runs one at a time: each starts real processes (sluice, ffmpeg,
/// ffprobe) and waits on them, and in parallel they would crowd a 2-core machine and the
/// threads other tests run on.
@Suite(.serialized)
enum EndToEnd {}
