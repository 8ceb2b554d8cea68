# Quick start on a fresh Debian 12 machine, as root: `make run`, `make test`.
export PATH := /opt/swift/usr/bin:$(PATH)

SLUICE_FLAGS ?=

.PHONY: deps build run test api-fuzz fuzz bench bench-callgrind bench-hls bench-access bench-transcode bench-cluster soak clean-data cluster-up cluster-down

deps:
	./ops/install-deps.sh

build: deps
	swift build -c release --product sluice

## Builds and starts `sluice serve`; it prints the push and play URLs. Webhooks, hooks and relays
## may reach this machine's own loopback (a local hook or nginx-rtmp); other private ranges stay refused.
run: build
	.build/release/sluice serve --allow-destination 127.0.0.0/8 --allow-destination ::1/128 $(SLUICE_FLAGS)

## Runs every test: unit tests and end-to-end tests with ffmpeg/ffprobe.
test: deps
	./ops/check-imports.py
	./ops/check-shape.py
	swift build --product sluice
	swift build --build-tests
	# Unit tests first, on their own: some are timing-bound, and the end-to-end suites after them
	# run in three processes at once (ops/e2e-lanes.sh) that keep both cores busy.
	swift test --skip-build --skip EndToEndTests --skip '^SRTTests\.' --skip UDPLossRelayTests --skip MPEGTSOverSRTTests \
		--skip TranscodeLiveSettingsTests --skip CaptionTranscodeTests --skip ThumbnailSpritesTests --skip DVRWorkerTests \
		--skip '^WebRTCTests\.' --skip '^WebRTCMediaTests\.' --skip 'WHIPIngestServiceTests|WHIPPublishLoopbackTests' \
		--skip '^SluiceTests\.' --skip TranscodeLeaseTests
	# Tests that wait on threads and programs (libsrt callers, ffmpeg, UDP relays) hold threads of
	# Swift's cooperative pool, which has one per core, and five real-time transcodings take both
	# cores: in the same process as the rest they starve its async work (PostgreSQL answers, SRT
	# admissions) into timeouts. Each group runs on its own (caption transcoding to H.264 and
	# H.265, thumbnail sprites checked with ffmpeg and DVR archives of ffmpeg-made media too; the
	# WebRTC transport's real UDP peers, openssl s_client and the WHEP/WHIP codecs on ffmpeg media;
	# the node compositions, each node with its loops, stores and WebRTC parts: beside the rest
	# they starved the PostgreSQL store tests into timeouts again).
	swift test --skip-build --filter '^SRTTests\.'
	swift test --skip-build --filter 'UDPLossRelayTests|MPEGTSOverSRTTests'
	swift test --skip-build --filter 'TranscodeLiveSettingsTests|CaptionTranscodeTests|TranscodeLeaseTests'
	swift test --skip-build --filter 'ThumbnailSpritesTests|DVRWorkerTests'
	swift test --skip-build --filter '^WebRTCTests\.|^WebRTCMediaTests\.|WHIPIngestServiceTests|WHIPPublishLoopbackTests'
	swift test --skip-build --filter '^SluiceTests\.'
	./ops/e2e-lanes.sh
	swift build --product SluiceFuzz
	.build/debug/SluiceFuzz
	./ops/api-fuzz.sh

## schemathesis against the OpenAPI document (part of `make test`; more examples here).
api-fuzz:
	swift build --product sluice
	./ops/api-fuzz.sh 200

## libFuzzer over every parser and request path, FUZZ_SECONDS (default 60) per target (Fuzz/README.md).
## Builds in .build-fuzz so the normal .build stays as it is; fails on any crash, leak or timeout.
FUZZ_SECONDS ?= 60
fuzz:
	swift build --product SluiceFuzz --scratch-path .build-fuzz --sanitize fuzzer \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library -Xswiftc -O
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./Fuzz/run.sh

## Release build, then the fan-out benchmark (Sluice and nginx-rtmp, one core each).
bench:
	./ops/install-deps.sh --bench
	swift build -c release --product sluice
	swift build -c release --product LoadGenerator
	./Benchmarks/run.sh

## Release build, then instructions per delivered frame per viewer in the fan-out, by stage (callgrind).
bench-callgrind:
	./ops/install-deps.sh --bench
	swift build -c release --product FanoutBench
	./Benchmarks/callgrind.sh

## Release build, then the HLS/LL-HLS latency and blocking-client benchmark (with nginx-rtmp's HLS).
bench-hls:
	./ops/install-deps.sh --bench
	swift build -c release --product sluice
	./Benchmarks/hls.sh

## Release build, then what signed play URLs cost per request (wrk against one core).
bench-access:
	./ops/install-deps.sh --bench
	swift build -c release --product sluice
	./Benchmarks/access.sh

## Release build, then Sluice's transcoding pipeline against the ffmpeg command line (same ladder, same x264 settings).
bench-transcode:
	./ops/install-deps.sh --bench
	swift build -c release --product TranscodeBench
	./Benchmarks/transcode.sh

## Release build, then what Kafka adds to ingest -> viewer latency, and one ingest node's throughput into it.
bench-cluster:
	./ops/install-deps.sh --bench
	swift build -c release --product sluice
	swift build -c release --product LoadGenerator
	swift build -c release --product BusBench
	./Benchmarks/cluster.sh

## A local cluster on loopback (Tansu, Redis, PostgreSQL, two ingest, two API nodes, a worker); stop it with make cluster-down.
cluster-up: build
	./ops/cluster-up.sh

cluster-down:
	./ops/cluster-down.sh

## Release build, then 30 minutes of recording (MP4, VOD, snapshots): RSS over time, segments listed once.
soak:
	./ops/install-deps.sh --bench
	swift build -c release --product sluice
	./Benchmarks/soak.sh

clean-data:
	rm -rf ./data
