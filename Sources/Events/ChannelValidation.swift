import Foundation

/// One field that failed validation, by its JSON path (`hls.segmentSeconds`, `relays[1].url`).
public struct FieldError: Codable, Sendable, Hashable {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}

extension StreamChannel {
    /// Most relays one channel may have.
    public static let maxRelays = 10

    /// Every problem with the channel's fields; empty when it is valid.
    public func validationErrors() -> [FieldError] {
        var errors: [FieldError] = []
        func check(_ condition: Bool, _ field: String, _ message: String) {
            if !condition { errors.append(FieldError(field, message)) }
        }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        check(!trimmed.isEmpty && name.count <= 200, "name", "must be 1–200 characters, not blank")
        check(description.count <= 2000, "description", "must be at most 2000 characters")
        check((1...30).contains(hls.segmentSeconds), "hls.segmentSeconds", "must be 1–30")
        check((2...60).contains(hls.listSize), "hls.listSize", "must be 2–60")
        if let part = hls.partSeconds {
            check(part >= 0.1 && part <= hls.segmentSeconds, "hls.partSeconds", "must be 0.1 up to hls.segmentSeconds")
        }
        check((10...3600).contains(record.mp4.segmentSeconds), "record.mp4.segmentSeconds", "must be 10–3600")
        check((10...3600).contains(record.vod.segmentSeconds), "record.vod.segmentSeconds", "must be 10–3600")
        check((1...3600).contains(record.snapshots.intervalSeconds), "record.snapshots.intervalSeconds", "must be 1–3600")
        check((0...3650).contains(record.retentionDays), "record.retentionDays", "must be 0–3650 (0 keeps everything)")
        check((1...100).contains(motion.pixelPercent), "motion.pixelPercent", "must be 1–100")
        check((1...255).contains(motion.pixelDiff), "motion.pixelDiff", "must be 1–255")
        check((1...600).contains(motion.holdSeconds), "motion.holdSeconds", "must be 1–600")
        check((motion.holdSeconds...3600).contains(motion.maxSeconds), "motion.maxSeconds",
              "must be motion.holdSeconds–3600")
        if let hook = admissionURL {
            let url = URLComponents(string: hook)
            check(["http", "https"].contains(url?.scheme?.lowercased() ?? "") && !(url?.host ?? "").isEmpty
                  && hook.count <= 2048, "admissionURL", "must be an http:// or https:// URL")
        }
        if let passphrase = srt.passphrase {
            check(SRT.passphraseLengths.contains(passphrase.count) && passphrase.utf8.allSatisfy { (0x20...0x7E).contains($0) },
                  "srt.passphrase", "must be 10–79 printable ASCII characters")
        }
        check(SRT.latencies.contains(srt.latencyMs), "srt.latencyMs", "must be 20–8000")
        errors += timeShiftErrors() + watermarkErrors() + transcodeErrors() + relayErrors() + Webhook.validationErrors(webhooks, field: "webhooks")
        // The floor no operator lifts (metadata, link-local …); the API adds its allow-list's check.
        errors += destinationErrors(policy: .alwaysRefusedOnly).filter { !errors.map(\.field).contains($0.field) }
        return errors
    }

    /// URL fields (`admissionURL`, `relays[].url`, `webhooks[].url`) whose host `policy`
    /// refuses before any lookup: a refused IP literal or `localhost`. Names are judged again
    /// on their addresses when connected to.
    public func destinationErrors(policy: DestinationPolicy) -> [FieldError] {
        var errors: [FieldError] = []
        if let hook = admissionURL, case .failure(let refusal) = policy.validate(urlString: hook) {
            errors.append(FieldError("admissionURL", refusal.fieldMessage))
        }
        for (index, relay) in relays.enumerated() {
            if case .failure(let refusal) = policy.validate(urlString: relay.url) {
                errors.append(FieldError("relays[\(index)].url", refusal.fieldMessage))
            }
        }
        return errors + Webhook.destinationErrors(webhooks, field: "webhooks", policy: policy)
    }

    private func watermarkErrors() -> [FieldError] {
        var errors: [FieldError] = []
        let text = watermark.text
        if text.enabled, text.text.trimmingCharacters(in: .whitespaces).isEmpty {
            errors.append(FieldError("watermark.text.text", "must not be empty when the text watermark is enabled"))
        }
        if text.text.count > 200 { errors.append(FieldError("watermark.text.text", "must be at most 200 characters")) }
        if !(8...200).contains(text.fontSize) { errors.append(FieldError("watermark.text.fontSize", "must be 8–200")) }
        if !Self.isHexColor(text.color) { errors.append(FieldError("watermark.text.color", "must be #RRGGBB")) }
        for (field, value) in [("watermark.text.x", text.x), ("watermark.text.y", text.y),
                               ("watermark.image.x", watermark.image.x), ("watermark.image.y", watermark.image.y)]
            where !(0...7680).contains(value) {
            errors.append(FieldError(field, "must be 0–7680"))
        }
        for (field, value) in [("watermark.image.width", watermark.image.width),
                               ("watermark.image.height", watermark.image.height)] where !(1...4096).contains(value) {
            errors.append(FieldError(field, "must be 1–4096"))
        }
        return errors
    }

    private func transcodeErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if transcode.enabled, transcode.renditions.isEmpty {
            errors.append(FieldError("transcode.renditions", "must name at least one rendition when transcoding"))
        }
        if Set(transcode.renditions).count != transcode.renditions.count {
            errors.append(FieldError("transcode.renditions", "must not repeat a rendition"))
        }
        if !StreamChannel.Transcode.presets.contains(transcode.preset) {
            errors.append(FieldError("transcode.preset", "must be one of " + StreamChannel.Transcode.presets.joined(separator: ", ")))
        }
        if !StreamChannel.Transcode.tunes.contains(transcode.tune) {
            errors.append(FieldError("transcode.tune", "must be empty or one of " + StreamChannel.Transcode.tunes.dropFirst().joined(separator: ", ")))
        }
        return errors
    }

    private func relayErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if relays.count > Self.maxRelays { errors.append(FieldError("relays", "must have at most \(Self.maxRelays) entries")) }
        for (index, relay) in relays.enumerated() {
            let url = URLComponents(string: relay.url)
            let valid = ["rtmp", "rtmps"].contains(url?.scheme?.lowercased() ?? "") && !(url?.host ?? "").isEmpty
                && relay.url.count <= 2048
            if !valid { errors.append(FieldError("relays[\(index)].url", "must be an rtmp:// or rtmps:// URL")) }
        }
        return errors
    }

    static func isHexColor(_ value: String) -> Bool {
        value.count == 7 && value.hasPrefix("#") && value.dropFirst().allSatisfy(\.isHexDigit)
    }
}
