#if !FUZZING
import Events
import Foundation
@testable import Media
import NIOCore
@testable import RTMP

/// Writes the seed corpus (`Fuzz/Corpus/<target>/`) from real encoder output in `fixtures`:
/// `ffmpeg-publish.bin` (Tests/RTMPTests/Fixtures), `sample.flv`, `cqm.h264`, `baseline.h264`,
/// `high422.h264` and `hevc.h265` (made by the ffmpeg commands in Fuzz/README.md). Text seeds
/// (paths, JSON) are written out as the API documents them. Run by hand; the files are committed.
struct SeedMaker {
    let fixtures: String
    let fuzzDirectory: String

    func run() throws {
        let capture = try read("ffmpeg-publish.bin")
        let tags = try flvTags(try read("sample.flv"))
        writeRTMP(capture)
        writeFLV(tags, file: try read("sample.flv"))
        try writeCodecs(tags)
        writeText()
    }

    // MARK: RTMP

    private func writeRTMP(_ capture: [UInt8]) {
        let handshakeSize = 1 + 2 * ServerHandshake.packetSize
        let handshake = Array(capture.prefix(handshakeSize))
        save("rtmp-handshake", "ffmpeg-digest.bin", handshake)
        save("rtmp-handshake", "plain.bin", [3] + [UInt8](repeating: 0, count: 2 * ServerHandshake.packetSize))

        let chunks = Array(capture.dropFirst(handshakeSize))
        save("rtmp-chunk", "ffmpeg-publish-whole.bin", [0x00] + chunks.prefix(12_288))
        save("rtmp-chunk", "ffmpeg-publish-embedded-reads-of-64.bin", [0x81] + chunks.prefix(8192))
        save("rtmp-chunk", "ffmpeg-publish-byte-by-byte.bin", [0x02] + chunks.prefix(2048))

        var decoder = ChunkDecoder()
        var buffer = ByteBuffer(bytes: chunks)
        let messages = ((try? decoder.decodeAvailable(&buffer)) ?? []).compactMap { output -> RTMPMessage? in
            if case .message(let message) = output { return message }
            return nil
        }
        for message in messages where message.type == .commandAMF0 || message.type == .dataAMF0 {
            let name = (try? RTMPCommand(message: message).name) ?? "data"
            save("amf0", "ffmpeg-\(name).bin", Array(message.payload.readableBytesView))
        }
        writeSessions(messages)
    }

    private func writeSessions(_ messages: [RTMPMessage]) {
        func script(_ messages: [RTMPMessage], after command: String, insert codes: [UInt8], end: [UInt8],
                    limit: Int = 16_384) -> [UInt8] {
            var script = ByteBuffer()
            for message in messages where script.readableBytes < limit {
                SessionScript.write(code: message.typeID, streamID: message.streamID, body: message.payload, into: &script)
                if (try? RTMPCommand(message: message).name) == command {
                    for code in codes { SessionScript.write(code: code, into: &script) }
                }
            }
            for code in end { SessionScript.write(code: code, into: &script) }
            return Array(script.readableBytesView)
        }
        save("rtmp-session", "ffmpeg-publish-accepted.bin",
             script(messages, after: "publish", insert: [SessionScript.accept], end: [SessionScript.connectionClosed]))
        save("rtmp-session", "ffmpeg-publish-rejected.bin",
             script(messages, after: "publish", insert: [SessionScript.reject], end: []))
        save("rtmp-session", "ffmpeg-publish-stopped.bin",
             script(messages, after: "publish", insert: [SessionScript.accept], end: [SessionScript.stop], limit: 4096))
        let connect = messages.prefix { (try? RTMPCommand(message: $0).name) != "releaseStream" }
        let play = [
            RTMPCommand(name: "createStream", transactionID: 2).message(),
            RTMPCommand(name: "play", transactionID: 3, arguments: [.string("demo?token=abc")]).message(streamID: 1),
        ]
        save("rtmp-session", "play-accepted.bin",
             script(Array(connect) + play, after: "play", insert: [SessionScript.accept],
                    end: [SessionScript.playbackEnded]))
    }

    // MARK: FLV and codecs

    private func flvTags(_ file: [UInt8]) throws -> [FLVReadTag] {
        var reader = FLVStreamReader()
        reader.feed(ByteBuffer(bytes: file))
        var tags: [FLVReadTag] = []
        while let tag = try reader.nextTag() { tags.append(tag) }
        return tags
    }

    private func writeFLV(_ tags: [FLVReadTag], file: [UInt8]) {
        save("flv-stream", "ffmpeg-h264-aac.flv", Array(file.prefix(16_384)))
        let video = tags.filter { $0.type == .video }
        let audio = tags.filter { $0.type == .audio }
        let named = [("video-sequence-header", video.first), ("video-keyframe", video.dropFirst().first),
                     ("video-inter", video.dropFirst(2).first), ("audio-sequence-header", audio.first),
                     ("audio-frame", audio.dropFirst().first)]
        for case let (name, tag?) in named {
            save("tag-info", "ffmpeg-\(name).bin", Array(tag.body.readableBytesView.prefix(4096)))
        }
        if let script = tags.first(where: { $0.type == .script }) {
            save("amf0", "ffmpeg-onMetaData-tag.bin", Array(script.body.readableBytesView))
        }
        for (name, tag) in [("video", video.dropFirst().first), ("audio", audio.dropFirst().first)] {
            guard let tag, let frame = MediaFrame(tag: tag.type, body: tag.body.getSlice(at: 0, length: min(2048, tag.body.readableBytes))!,
                                                  dts: Int64(tag.timestamp), sessionID: 0x0123_4567_89AB_CDEF, sequence: 7)
            else { continue }
            save("media-frame", "ffmpeg-\(name).bin", Array(MediaFrameCodec.encode(frame).readableBytesView))
        }
        if let sequence = video.first {
            let frame = MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], codec: "avc1", dts: 0,
                                   sessionID: 1, sequence: 0, rendition: "720p", payload: sequence.body)
            save("media-frame", "rendition-sequence-header.bin", Array(MediaFrameCodec.encode(frame).readableBytesView))
        }
    }

    private func writeCodecs(_ tags: [FLVReadTag]) throws {
        if let sequence = tags.first(where: { $0.type == .video }) {
            let record = Array(sequence.body.readableBytesView.dropFirst(5))
            save("avc-config", "ffmpeg-x264-high.bin", record)
            if let config = try? AVCConfiguration(record: ByteBuffer(bytes: record)) {
                save("sps", "x264-high.bin", config.sequenceParameterSets[0])
            }
        }
        if let audio = tags.first(where: { $0.type == .audio }) {
            save("aac-config", "ffmpeg-aac-lc.bin", Array(audio.body.readableBytesView.dropFirst(2)))
        }
        save("aac-config", "explicit-rate.bin", [0x17, 0x80, 0x00, 0xBB, 0x80, 0x10])
        save("aac-config", "escaped-object-type.bin", [0xF8, 0x11, 0x90])
        for name in ["cqm.h264", "baseline.h264", "high422.h264"] {
            let stream = try read(name)
            save("annexb", name.replacingOccurrences(of: ".", with: "-") + ".bin", Array(stream.prefix(2048)))
            for sps in AnnexB.parameterSets(in: stream, codec: .h264)[7] ?? [] { save("sps", "x264-\(name).bin", sps) }
            let sets = AnnexB.parameterSets(in: stream, codec: .h264)
            if let record = try? AVCConfiguration.record(sequenceParameterSets: sets[7] ?? [], pictureParameterSets: sets[8] ?? []) {
                save("avc-config", "x264-\(name).bin", record)
            }
        }
        let hevc = try read("hevc.h265")
        save("annexb", "x265-hevc.bin", Array(hevc.prefix(2048)))
        let sets = AnnexB.parameterSets(in: hevc, codec: .hevc)
        for sps in sets[33] ?? [] { save("sps", "x265.bin", sps) }
        let record = try HEVCConfiguration.record(videoParameterSets: sets[32] ?? [], sequenceParameterSets: sets[33] ?? [],
                                                  pictureParameterSets: sets[34] ?? [])
        save("hevc-config", "x265.bin", record)
        let header = FLV.videoBody(codec: .hevc, keyframe: true, sequenceHeader: true, data: ByteBuffer(bytes: record))
        save("tag-info", "enhanced-hevc-sequence-header.bin", Array(header.readableBytesView))
        let frame = FLV.videoBody(codec: .hevc, keyframe: true, compositionTime: 40,
                                  data: AnnexB.lengthPrefixed(Array(hevc.prefix(1024)), codec: .hevc))
        save("tag-info", "enhanced-hevc-keyframe.bin", Array(frame.readableBytesView))
        save("amf3", "scalars.bin", [0x00, 0x01, 0x02, 0x03, 0x04, 0x7F, 0x04, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0x05, 0x40, 0x59, 0, 0, 0, 0, 0, 0, 0x06, 0x0B] + Array("hello".utf8))
        save("amf3", "u29-widths.bin", [0x04, 0x81, 0x00, 0x04, 0x81, 0x80, 0x00, 0x04, 0x81, 0x80, 0x80, 0x00, 0x06, 0x01])
    }

    // MARK: Text

    private func writeText() {
        let session = "0123456789abcdef"
        let routes = [
            "/demo/live.flv", "/demo/live.flv?token=1700000000-abc", "/demo/720p/live.flv", "/demo/live.m3u8",
            "/demo/llhls.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES", "/demo/llhls-video.m3u8?_HLS_msn=12&_HLS_part=3",
            "/demo/manifest.mpd", "/demo/index.m3u8", "/demo/index-llhls.m3u8", "/demo/index.mpd", "/demo/480p/index.m3u8",
            "/demo/ts/\(session)-42.ts", "/demo/cmaf/\(session)/video-init.mp4", "/demo/cmaf/\(session)/audio-42.m4s",
            "/demo/360p/cmaf/\(session)/video-42.3.m4s", "/vod/\(session)/index.m3u8", "/vod/\(session)/7.ts",
            "/demo/snapshot.jpg", "/demo/hls.html", "/demo/flv.html", "/demo/dash.html", "/console", "/console/app.js",
            "/api/v1/channels?limit=10&name=gate", "/videostream/abc", "/healthz", "/readyz", "/metrics",
        ]
        for (index, route) in routes.enumerated() { save("http-route", "route-\(index).txt", Array(route.utf8)) }
        let packaged = ["live.m3u8", "llhls.m3u8", "llhls-video.m3u8?_HLS_msn=5&_HLS_part=2", "llhls-audio.m3u8?_HLS_skip=v2",
                        "manifest.mpd", "ts/\(session)-42.ts", "cmaf/\(session)/video-init.mp4", "cmaf/\(session)/audio-42.m4s",
                        "cmaf/\(session)/video-42.3.m4s?token=abc"]
        for (index, path) in packaged.enumerated() { save("packaged-path", "path-\(index).txt", Array(path.utf8)) }
        let channels = [
            #"{"name":"Lobby","description":"Front door","outputs":{"flv":true,"hls":true,"dash":false},"hls":{"segmentSeconds":2,"listSize":6,"partSeconds":0.5}}"#,
            #"{"name":"gate","motion":{"enabled":true,"pixelPercent":5,"pixelDiff":30,"holdSeconds":10,"maxSeconds":120},"record":{"retentionDays":7}}"#,
            #"{"name":"x","relays":[{"url":"rtmp://yt.example/live/key","enabled":true}],"transcode":{"enabled":true,"renditions":["720p","360p"],"preset":"veryfast"}}"#,
            ##"{"name":"w","watermark":{"text":{"enabled":true,"text":"LIVE","fontSize":24,"color":"#FFFFFF","x":10,"y":10}},"webhooks":[{"url":"https://hooks.example/sluice","events":["stream.online"]}],"admissionURL":"https://hooks.example/admit","expiresAt":"2027-03-01T00:00:00Z"}"##,
            #"{"name":"x","hls":{"segmentSeconds":"two"}}"#,
        ]
        for (index, body) in channels.enumerated() { save("channel-json", "channel-\(index).json", Array(body.utf8)) }
        let seeds = [
            #"{"videoname":"gate","outdate":"2027-03-01","isFlv":true,"isHls":"true","hls_time":4,"hls_list_size":"5","isCodec":"true","codec":"libx265","ld":true,"hd":"true","isMotion":false,"motion_percent":"40","isRelay":true,"relayURL":"rtmp://yt.example/live/key"}"#,
            ##"{"videoname":"door","isWaterMark":true,"WaterMarkText":"LIVE","WaterMarkFontSize":"24","WaterMarkFontColor":"#FF0000","WaterMarkTop":10,"WaterMarkLeft":"10","isImageWaterMark":false,"ImageWidth":100,"ImageHeight":50,"isVideo":true,"video_time":"600","isImage":true,"image_time":30,"isOnDemand":true,"ondemand_time":60}"##,
            #"{"videoname":"x","motion_percent":1e300,"hls_list_size":"1e30","ImageWidth":2.5}"#,
        ]
        for (index, body) in seeds.enumerated() { save("videostream-json", "videostream-\(index).json", Array(body.utf8)) }
        let urlRequests = [
            #"{"expiresAt":"2027-03-01T00:00:00Z"}"#,
            #"{"ttlSeconds":600,"clientIP":"203.0.113.7"}"#,
            #"{"ttlSeconds":9223372036854775807,"clientIP":"::1"}"#,
            #"{"expiresAt":"9999-12-31T23:59:59Z","ttlSeconds":-1}"#,
        ]
        for (index, body) in urlRequests.enumerated() { save("url-request-json", "url-request-\(index).json", Array(body.utf8)) }
    }

    // MARK: Files

    private func read(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: "\(fixtures)/\(name)") else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: "\(fixtures)/\(name)"])
        }
        return Array(data)
    }

    private func save(_ target: String, _ name: String, _ bytes: [UInt8]) {
        let folder = "\(fuzzDirectory)/Corpus/\(target)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(folder)/\(name)", contents: Data(bytes))
    }
}
#endif
