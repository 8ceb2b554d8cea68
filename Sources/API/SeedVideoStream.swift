import Events
import Foundation

/// The seed system's flat `/videostream` record, mapped onto the channel model. Booleans may be
/// `true`/`false` or the strings "true"/"false"; numbers may be numbers or numeric strings.
///
/// Mapping: `isFlv`/`isHls`/`isCMAF` → outputs (CMAF is served as DASH), `hls_time`,
/// `hls_list_size` → hls; `isVideo`/`video_time` → MP4 recording, `isOnDemand`/`ondemand_time`
/// → VOD, `isImage`/`image_time` → snapshots; `isMotion`, `motion_percent`, `motion_diff`,
/// `motion_timeout` (seconds of stillness that end an event), `motion_duration` (longest event);
/// `isWaterMark` and `WaterMark*` → text watermark (`WaterMarkLeft`/`Top` → x/y);
/// `isImageWaterMark`, `ImageWidth`/`Height` → image watermark; `isCodec`, `codec`
/// (libx264|libx265), `ld`/`sd`/`hd`/`ud` → transcoding to 360p/480p/720p/1080p; `isRelay`,
/// `relayURL` → the first relay; `outdate` (YYYY-MM-DD) → expiry at midnight UTC.
enum SeedVideoStream {
    struct Failure: Error {
        var fields: [FieldError]
    }

    /// Applies the seed fields present in `record` to `channel`.
    static func apply(_ record: [String: JSONValue], to channel: inout StreamChannel) throws(Failure) {
        var reader = FieldReader(record: record)
        if let name = reader.string("videoname") { channel.name = name }
        if let description = reader.string("description") { channel.description = description }
        if let outdate = reader.string("outdate") {
            if let date = Self.day(outdate) { channel.expiresAt = date } else { reader.fail("outdate", "must be YYYY-MM-DD") }
        }
        reader.bool("isFlv") { channel.outputs.flv = $0 }
        reader.bool("isHls") { channel.outputs.hls = $0 }
        reader.bool("isCMAF") { channel.outputs.dash = $0 }
        reader.number("hls_time") { channel.hls.segmentSeconds = $0 }
        reader.integer("hls_list_size") { channel.hls.listSize = $0 }
        reader.bool("isVideo") { channel.record.mp4.enabled = $0 }
        reader.integer("video_time") { channel.record.mp4.segmentSeconds = $0 }
        reader.bool("isImage") { channel.record.snapshots.enabled = $0 }
        reader.integer("image_time") { channel.record.snapshots.intervalSeconds = $0 }
        reader.bool("isOnDemand") { channel.record.vod.enabled = $0 }
        reader.integer("ondemand_time") { channel.record.vod.segmentSeconds = $0 }
        reader.bool("isMotion") { channel.motion.enabled = $0 }
        reader.integer("motion_percent") { channel.motion.pixelPercent = $0 }
        reader.integer("motion_diff") { channel.motion.pixelDiff = $0 }
        reader.integer("motion_timeout") { channel.motion.holdSeconds = $0 }
        reader.integer("motion_duration") { channel.motion.maxSeconds = $0 }
        reader.bool("isWaterMark") { channel.watermark.text.enabled = $0 }
        if let text = reader.string("WaterMarkText") { channel.watermark.text.text = text }
        reader.integer("WaterMarkFontSize") { channel.watermark.text.fontSize = $0 }
        if let color = reader.string("WaterMarkFontColor") { channel.watermark.text.color = color }
        reader.integer("WaterMarkTop") { channel.watermark.text.y = $0 }
        reader.integer("WaterMarkLeft") { channel.watermark.text.x = $0 }
        reader.bool("isImageWaterMark") { channel.watermark.image.enabled = $0 }
        reader.integer("ImageWidth") { channel.watermark.image.width = $0 }
        reader.integer("ImageHeight") { channel.watermark.image.height = $0 }
        reader.bool("isCodec") { channel.transcode.enabled = $0 }
        if let codec = reader.string("codec") {
            switch codec {
            case "libx264": channel.transcode.codec = .h264
            case "libx265": channel.transcode.codec = .h265
            default: reader.fail("codec", "must be libx264 or libx265")
            }
        }
        for (field, rendition) in [("ld", StreamChannel.Rendition.p360), ("sd", .p480), ("hd", .p720), ("ud", .p1080)] {
            reader.bool(field) { on in
                channel.transcode.renditions.removeAll { $0 == rendition }
                if on { channel.transcode.renditions.append(rendition) }
            }
        }
        channel.transcode.renditions.sort()
        applyRelay(&reader, to: &channel)
        let unknown = Set(record.keys).subtracting(Self.fieldNames).sorted()
        let errors = reader.errors + unknown.map { FieldError($0, "is not a videostream field") }
        guard errors.isEmpty else { throw Failure(fields: errors) }
    }

    private static func applyRelay(_ reader: inout FieldReader, to channel: inout StreamChannel) {
        let url = reader.string("relayURL")
        var enabled: Bool?
        reader.bool("isRelay") { enabled = $0 }
        guard url != nil || enabled != nil else { return }
        var relay = channel.relays.first ?? StreamChannel.Relay(url: "", enabled: false)
        if let url { relay.url = url }
        if let enabled { relay.enabled = enabled }
        if relay.url.isEmpty {
            channel.relays = []
        } else if channel.relays.isEmpty {
            channel.relays = [relay]
        } else {
            channel.relays[0] = relay
        }
    }

    /// The flat record of a channel, plus `id` and `key` (the push sign valid until `outdate`;
    /// left out when nil, as for read-only keys). `relayURL` is shown as `channel` has it: the
    /// caller passes a redacted channel to non-admin keys.
    static func record(of channel: StreamChannel, key: String?) -> JSONValue {
        func number(_ value: Int) -> JSONValue { .number(Double(value)) }
        let renditions = channel.transcode.renditions
        var record: [String: JSONValue] = [
            "id": .string(channel.id.description), "videoname": .string(channel.name),
            "description": .string(channel.description),
            "isFlv": .bool(channel.outputs.flv), "isHls": .bool(channel.outputs.hls), "isCMAF": .bool(channel.outputs.dash),
            "hls_time": .number(channel.hls.segmentSeconds), "hls_list_size": number(channel.hls.listSize),
            "isVideo": .bool(channel.record.mp4.enabled), "video_time": number(channel.record.mp4.segmentSeconds),
            "isImage": .bool(channel.record.snapshots.enabled),
            "image_time": number(channel.record.snapshots.intervalSeconds),
            "isOnDemand": .bool(channel.record.vod.enabled), "ondemand_time": number(channel.record.vod.segmentSeconds),
            "isMotion": .bool(channel.motion.enabled), "motion_percent": number(channel.motion.pixelPercent),
            "motion_diff": number(channel.motion.pixelDiff), "motion_timeout": number(channel.motion.holdSeconds),
            "motion_duration": number(channel.motion.maxSeconds),
            "isWaterMark": .bool(channel.watermark.text.enabled), "WaterMarkText": .string(channel.watermark.text.text),
            "WaterMarkFontSize": number(channel.watermark.text.fontSize),
            "WaterMarkFontColor": .string(channel.watermark.text.color),
            "WaterMarkTop": number(channel.watermark.text.y), "WaterMarkLeft": number(channel.watermark.text.x),
            "isImageWaterMark": .bool(channel.watermark.image.enabled),
            "ImageWidth": number(channel.watermark.image.width), "ImageHeight": number(channel.watermark.image.height),
            "isCodec": .bool(channel.transcode.enabled),
            "codec": .string(channel.transcode.codec == .h264 ? "libx264" : "libx265"),
            "ld": .bool(renditions.contains(.p360)), "sd": .bool(renditions.contains(.p480)),
            "hd": .bool(renditions.contains(.p720)), "ud": .bool(renditions.contains(.p1080)),
            "isRelay": .bool(channel.relays.first?.enabled ?? false), "relayURL": .string(channel.relays.first?.url ?? ""),
        ]
        if let expires = channel.expiresAt { record["outdate"] = .string(dayFormatter.string(from: expires)) }
        if let key { record["key"] = .string(key) }
        return .object(record)
    }

    static let fieldNames: Set<String> = [
        "videoname", "description", "outdate", "isFlv", "isHls", "isCMAF", "hls_time", "hls_list_size", "isVideo",
        "video_time", "isImage", "image_time", "isOnDemand", "ondemand_time", "isMotion", "motion_percent",
        "motion_diff", "motion_duration", "motion_timeout", "isWaterMark", "WaterMarkText", "WaterMarkFontSize",
        "WaterMarkFontColor", "WaterMarkTop", "WaterMarkLeft", "isImageWaterMark", "ImageWidth", "ImageHeight",
        "isCodec", "codec", "ld", "sd", "hd", "ud", "isRelay", "relayURL",
        "id", "key",  // echoed back by clients that PUT what they got; ignored
    ]

    static var dayFormatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }

    /// Midnight UTC of a `YYYY-MM-DD` day.
    static func day(_ text: String) -> Date? {
        guard text.count == 10 else { return nil }
        return dayFormatter.date(from: text)
    }
}

/// Reads loosely typed seed fields, collecting what does not parse.
struct FieldReader {
    let record: [String: JSONValue]
    var errors: [FieldError] = []

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field, message))
    }

    mutating func string(_ field: String) -> String? {
        switch record[field] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default:
            fail(field, "must be a string")
            return nil
        }
    }

    mutating func bool(_ field: String, _ apply: (Bool) -> Void) {
        switch record[field] {
        case nil, .null?: return
        case .bool(let flag)?: apply(flag)
        case .string(let text)? where ["true", "false"].contains(text.lowercased()): apply(text.lowercased() == "true")
        default: fail(field, "must be true or false")
        }
    }

    mutating func number(_ field: String, _ apply: (Double) -> Void) {
        switch record[field] {
        case nil, .null?: return
        case .number(let value)? where value.isFinite: apply(value)
        case .string(let text)?:
            if let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite {
                apply(value)
            } else {
                fail(field, "must be a number")
            }
        default: fail(field, "must be a number")
        }
    }

    /// A whole number that fits 32 bits; anything else is a field error, never a trap.
    mutating func integer(_ field: String, _ apply: (Int) -> Void) {
        var parsed: Double?
        number(field) { parsed = $0 }
        guard let parsed else { return }
        guard parsed.rounded() == parsed, let value = Int32(exactly: parsed) else {
            fail(field, "must be a whole number")
            return
        }
        apply(Int(value))
    }
}
