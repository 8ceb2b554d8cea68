import Foundation

/// The secrets inside a channel's settings and their redacted forms. Relay destinations carry
/// the owner's stream key on another platform (`rtmp://a.rtmp.youtube.com/live2/<key>`);
/// webhook and admission URLs often carry tokens in their path or query. Only admin keys see
/// them; everyone else, and the `sluice.channels` audit trail, sees the redacted forms.
///
/// A write that sends a redacted form back (a client that PUTs what it read) keeps the stored
/// value: see `StreamChannel.restoringSecrets(from:)`.
public enum ChannelRedaction {
    /// What stands in for the hidden part of a URL.
    public static let marker = "…redacted"

    /// `rtmp[s]://host[:port]/app/…redacted`: scheme, host, port and app path kept; the stream
    /// key, query, user info and fragment replaced. A URL that does not parse is all marker.
    /// A redacted form stays as it is.
    public static func relayURL(_ url: String) -> String {
        let url = url.replacingOccurrences(of: marker, with: "x")
        guard let origin = origin(of: url), let components = URLComponents(string: url) else { return marker }
        let app = components.percentEncodedPath.split(separator: "/").dropLast().map(String.init)
        return ([origin] + app + [marker]).joined(separator: "/")
    }

    /// `http[s]://host[:port]/…redacted`: only where the receiver is.
    public static func webhookURL(_ url: String) -> String {
        origin(of: url.replacingOccurrences(of: marker, with: "x")).map { "\($0)/\(marker)" } ?? marker
    }

    /// `scheme://host[:port]`, without user info; nil without a scheme and host.
    private static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.percentEncodedHost, !host.isEmpty else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)" + (components.port.map { ":\($0)" } ?? "")
    }
}

extension StreamChannel {
    /// This channel as non-admin keys and the audit trail see it: relay, webhook and admission
    /// URLs in their redacted forms, and the SRT passphrase as the marker alone.
    public var redacted: StreamChannel {
        var channel = self
        for index in channel.relays.indices { channel.relays[index].url = ChannelRedaction.relayURL(relays[index].url) }
        for index in channel.webhooks.indices { channel.webhooks[index].url = ChannelRedaction.webhookURL(webhooks[index].url) }
        channel.admissionURL = admissionURL.map(ChannelRedaction.webhookURL)
        if srt.passphrase != nil { channel.srt.passphrase = ChannelRedaction.marker }
        return channel
    }

    /// This channel as a client sent it, with every URL that equals the redacted form of a
    /// stored one put back to the stored URL. A relay or webhook takes the stored entry at its
    /// own position when that one redacts to what it sent (an entry edited in place), else the
    /// first stored entry, in stored order, not taken yet that does (an entry moved). Entries
    /// that redact alike (two YouTube keys) cannot be told apart: removing the first of two with
    /// a key below admin keeps the first stored key for the one left.
    public func restoringSecrets(from stored: StreamChannel) -> StreamChannel {
        var channel = self
        channel.relays = Self.restoring(relays, from: stored.relays, url: \.url, redact: ChannelRedaction.relayURL)
        channel.webhooks = Self.restoring(webhooks, from: stored.webhooks, url: \.url, redact: ChannelRedaction.webhookURL)
        if let sent = admissionURL, let kept = stored.admissionURL, sent == ChannelRedaction.webhookURL(kept) {
            channel.admissionURL = kept
        }
        if srt.passphrase == ChannelRedaction.marker, let kept = stored.srt.passphrase { channel.srt.passphrase = kept }
        return channel
    }

    /// Redacted values that matched nothing stored: a client may not store the marker as a URL.
    public func redactedValueErrors() -> [FieldError] {
        let message = "is a redacted value that matches no stored one; send the full URL"
        var errors: [FieldError] = []
        for (index, relay) in relays.enumerated() where relay.url.contains(ChannelRedaction.marker) {
            errors.append(FieldError("relays[\(index)].url", message))
        }
        for (index, hook) in webhooks.enumerated() where hook.url.contains(ChannelRedaction.marker) {
            errors.append(FieldError("webhooks[\(index)].url", message))
        }
        if admissionURL?.contains(ChannelRedaction.marker) == true { errors.append(FieldError("admissionURL", message)) }
        if srt.passphrase?.contains(ChannelRedaction.marker) == true {
            errors.append(FieldError("srt.passphrase", "is a redacted value and no passphrase is stored; send the passphrase"))
        }
        return errors
    }

    private static func restoring<Entry>(_ sent: [Entry], from stored: [Entry], url: WritableKeyPath<Entry, String>,
                                         redact: (String) -> String) -> [Entry] {
        func matches(_ index: Int, _ candidate: Int) -> Bool {
            redact(stored[candidate][keyPath: url]) == sent[index][keyPath: url]
        }
        var result = sent
        var taken = Set<Int>()
        var moved: [Int] = []
        for index in sent.indices where sent[index][keyPath: url].contains(ChannelRedaction.marker) {
            guard stored.indices.contains(index), matches(index, index) else {
                moved.append(index)
                continue
            }
            result[index][keyPath: url] = stored[index][keyPath: url]
            taken.insert(index)
        }
        for index in moved {
            guard let match = stored.indices.first(where: { !taken.contains($0) && matches(index, $0) }) else { continue }
            result[index][keyPath: url] = stored[match][keyPath: url]
            taken.insert(match)
        }
        return result
    }
}
