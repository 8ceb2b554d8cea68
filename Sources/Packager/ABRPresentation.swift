import Events
import Foundation
import Media
import NIOCore

/// A transcoded stream's renditions as one presentation, at `/{id}/…`: the classic HLS master
/// playlist, the LL-HLS master playlist and the multi-representation DASH manifest.
public enum ABRResource: String, Sendable, CaseIterable {
    case classic = "index.m3u8"
    case lowLatency = "index-llhls.m3u8"
    case dash = "index.mpd"

    public var contentType: String { self == .dash ? "application/dash+xml" : "application/vnd.apple.mpegurl" }

    /// As admission hooks are told.
    public var protocolName: String {
        switch self {
        case .classic: return "hls"
        case .lowLatency: return "llhls"
        case .dash: return "dash"
        }
    }
}

extension PackagerHub {
    /// The live renditions of `stream` with their packages, lowest first.
    private func renditionPackages(of stream: StreamID) -> [(name: String, package: StreamPackage)] {
        renditions(of: stream).compactMap { name in package(for: stream, rendition: name).map { (name, $0) } }
            .sorted { lhs, rhs in
                (StreamChannel.Rendition(rawValue: lhs.name)?.height ?? 0) < (StreamChannel.Rendition(rawValue: rhs.name)?.height ?? 0)
            }
    }

    /// The presentation over the renditions live now; `.notFound` while there are none (or none
    /// packaged for that output).
    public func respond(to resource: ABRResource, of stream: StreamID) -> PackagedResponse {
        let renditions = renditionPackages(of: stream)
        let text: String?
        switch resource {
        case .classic: text = Self.classicMaster(renditions)
        case .lowLatency: text = Self.lowLatencyMaster(renditions.filter { $0.package.configuration.llhls })
        case .dash: text = Self.manifest(renditions.filter { $0.package.configuration.dash })
        }
        guard let text else { return .notFound }
        let body = ByteBuffer(string: text)
        return .content(body, contentType: resource.contentType, entityTag: EntityTag.of(body), isPlaylist: true)
    }

    /// A rendition's LL-HLS media playlist with an `EXT-X-RENDITION-REPORT` for each other live
    /// rendition (RFC 8216bis §4.4.5.4), so players can switch without an extra reload. Other
    /// responses pass through.
    public func reportingRenditions(_ response: PackagedResponse, for resource: PackagedResource, of stream: StreamID,
                                    rendition: String) -> PackagedResponse {
        guard !rendition.isEmpty, case .llhlsMedia(let kind) = resource,
              case .content(let body, let contentType, _, true) = response else { return response }
        let reports = renditionPackages(of: stream).filter { $0.name != rendition }.compactMap { name, package in
            package.lastPart(kind).map {
                MediaPlaylist.RenditionReport(uri: "../\(name)/\(resource.relativePath)", lastMediaSequence: $0.mediaSequence,
                                              lastPart: $0.part)
            }
        }
        var text = String(buffer: body)
        guard !reports.isEmpty, !text.contains("#EXT-X-ENDLIST") else { return response }
        text += reports.map(\.line).joined(separator: "\n") + "\n"
        let reported = ByteBuffer(string: text)
        return .content(reported, contentType: contentType, entityTag: EntityTag.of(reported), isPlaylist: true)
    }

    /// Variants `{rendition}/index.m3u8` (MPEG-TS, audio muxed in), with the measured peak bit
    /// rate (the template's VBV maximum plus audio until a segment is finished).
    private static func classicMaster(_ renditions: [(name: String, package: StreamPackage)]) -> String? {
        let variants = renditions.compactMap { name, package -> MultivariantPlaylist.Variant? in
            guard let facts = package.variantFacts else { return nil }
            return MultivariantPlaylist.Variant(uri: "\(name)/index.m3u8", bandwidth: facts.peakBitRate ?? fallbackBandwidth(name),
                                                codecs: facts.codecs, resolution: facts.size, frameRate: facts.frameRate)
        }
        guard !variants.isEmpty else { return nil }
        var master = MultivariantPlaylist(version: 3, variants: variants)
        master.describe(captions: captionChannels(of: renditions))
        master.trickPlay = trickPlay(of: renditions, iFrames: true)
        return master.render()
    }

    /// Variants `{rendition}/llhls-video.m3u8`, all with the lowest rendition's audio playlist
    /// (every rendition carries the same audio).
    private static func lowLatencyMaster(_ renditions: [(name: String, package: StreamPackage)]) -> String? {
        var master = MultivariantPlaylist(version: 9, variants: [])
        for (name, package) in renditions {
            guard let own = package.lowLatencyMaster(), let facts = package.variantFacts else { continue }
            if master.audio.isEmpty, var audio = own.audio.first {
                audio.uri = "\(name)/\(audio.uri)"
                master.audio = [audio]
            }
            for var variant in own.variants {
                variant.uri = "\(name)/\(variant.uri)"
                variant.frameRate = facts.frameRate
                variant.audioGroup = master.audio.first?.groupID
                master.variants.append(variant)
            }
        }
        guard !master.variants.isEmpty else { return nil }
        master.trickPlay = trickPlay(of: renditions, iFrames: false)
        master.describe(captions: captionChannels(of: renditions))
        return master.render()
    }

    /// The caption channels of every rendition's video: all variants name one group, as RFC
    /// 8216bis §4.4.6.2 wants of `CLOSED-CAPTIONS` (a rendition whose encoder lost them would
    /// otherwise make the others' captions unlisted).
    private static func captionChannels(of renditions: [(name: String, package: StreamPackage)]) -> CaptionChannels {
        renditions.reduce(CaptionChannels()) { $0.union($1.package.captionChannels()) }
    }

    /// The lowest rendition's manifest, with every rendition's video as a representation of one
    /// adaptation set per period.
    private static func manifest(_ renditions: [(name: String, package: StreamPackage)]) -> String? {
        let manifests = renditions.compactMap { name, package in package.dashManifest().map { (name, $0) } }
        guard var combined = manifests.first?.1 else { return nil }
        combined.periods = combined.periods.map { period in
            var merged = period
            let audio = period.representations.filter { $0.contentType == "audio" }.map { relocate($0, under: manifests[0].0) }
            let video = manifests.compactMap { name, manifest -> DASHManifest.Representation? in
                guard let same = manifest.periods.first(where: { $0.id == period.id }),
                      let representation = same.representations.first(where: { $0.contentType == "video" }) else { return nil }
                var relocated = relocate(representation, under: name)
                relocated.id = name
                return relocated
            }
            merged.representations = video + audio + period.representations.filter { $0.thumbnailTiles != nil }
            return merged
        }
        return combined.render()
    }

    /// Segment templates as seen from the stream's folder: under the rendition's own.
    private static func relocate(_ representation: DASHManifest.Representation, under name: String) -> DASHManifest.Representation {
        var moved = representation
        moved.initialization = name + "/" + representation.initialization.replacingOccurrences(of: "$RepresentationID$",
                                                                                               with: representation.id)
        moved.media = name + "/" + representation.media.replacingOccurrences(of: "$RepresentationID$", with: representation.id)
        return moved
    }

    private static func fallbackBandwidth(_ name: String) -> Int {
        (StreamChannel.Rendition(rawValue: name)?.bitRate ?? 2_000_000) * 3 / 2 + 128_000
    }
}

extension StreamPackage {
    /// The manifest an ABR MPD takes this rendition's representations from: over its DVR window
    /// where it has one (as its own `manifest.mpd`), else over memory.
    func dashManifest() -> DASHManifest? {
        state.withLockedValue { state in
            if let listing = state.dvr.listing, case .success(let manifest)? = state.timeline.dvrDashManifest(listing) {
                return manifest
            }
            return state.timeline.dashManifest()
        }
    }

    func captionChannels() -> CaptionChannels {
        state.withLockedValue { $0.timeline.captionChannels }
    }

    func lowLatencyMaster() -> MultivariantPlaylist? {
        state.withLockedValue { $0.timeline.multivariantPlaylist() }
    }

    /// The newest part an LL-HLS playlist of `kind` lists.
    func lastPart(_ kind: TrackKind) -> (mediaSequence: Int, part: Int)? {
        state.withLockedValue { $0.timeline.lastPart(kind) }
    }
}

extension LiveTimeline {
    func lastPart(_ kind: TrackKind) -> (mediaSequence: Int, part: Int)? {
        if let open = position(of: kind).flatMap({ segment($0.mediaSequence) }), let count = open.parts[kind]?.count, count > 0 {
            return (open.mediaSequence, count - 1)
        }
        guard let last = segments.last(where: { $0.isFinished(kind) }), let count = last.parts[kind]?.count, count > 0 else {
            return nil
        }
        return (last.mediaSequence, count - 1)
    }
}
