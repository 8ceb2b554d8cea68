import Events
import NIOCore
import Packager

/// HLS, LL-HLS and DASH viewers: each answered playlist, manifest, segment or part is a fetch of
/// a viewing (`HTTPViewerSessions`).
extension HTTPHandler {
    /// `answer`, noting the request as a fetch of its viewing once it is answered with content
    /// (2xx or 304: errors and streams not live count for no one).
    func counting(_ answer: EventLoopFuture<APIResponse>, of id: StreamID, fetch: HTTPViewerSessions.Fetch,
                  context: ChannelHandlerContext) -> EventLoopFuture<APIResponse> {
        guard let packaged, let viewers = packaged.viewers, let head else { return answer }
        let identity = HTTPViewerSessions.identity(query: APIRequest.query(of: head.uri),
                                                   clientIP: context.channel.remoteAddress?.ipAddress,
                                                   userAgent: head.headers.first(name: "User-Agent"))
        let packager = packaged.packager
        return answer.map { response in
            if (200..<300).contains(response.status.code) || response.status == .notModified {
                let target = packager.package(for: id)?.configuration.segmentSeconds
                viewers.record(fetch, of: id, identity: identity, targetSeconds: target)
            }
            return response
        }
    }
}

extension PackagedResource {
    /// What answering it is to a viewing: playlists and manifests open one; media refreshes the
    /// viewing of the protocols whose players fetch it (CMAF media serves LL-HLS and DASH).
    var viewerFetch: HTTPViewerSessions.Fetch {
        switch self {
        case .classicPlaylist, .llhlsMultivariant, .llhlsMedia, .dashManifest: return .playlist(protocolName)
        case .tsSegment: return .media(["hls"])
        case .dashSegment: return .media(["dash"])
        case .cmafPart: return .media(["llhls"])
        case .initSegment, .cmafSegment: return .media(["llhls", "dash"])
        }
    }
}
