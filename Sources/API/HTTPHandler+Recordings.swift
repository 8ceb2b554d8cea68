import Access
import Events
import NIOCore
import NIOHTTP1
import NIOPosix
import State

/// VOD recordings over HTTP: the recording's channel decides who plays it (signed URLs,
/// admission hook, tickets), exactly as for the live stream; segments are sent from the local
/// file (byte ranges, never read whole into memory) or redirected to the object store.
extension HTTPHandler {
    /// The largest VOD playlist read into memory (a day of 2 s segments is about 2 MiB).
    static let maxPlaylistBytes = 8 << 20

    func answerVOD(session: UInt64, file: String, context: ChannelHandlerContext) {
        let lookup = context.eventLoop.makePromise(of: Result<VODRecording?, any Error>.self)
        let recorded = recorded
        lookup.completeWithTask {
            do { return .success(try await recorded?.vodRecording(session)) } catch { return .failure(error) }
        }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        onLoop(lookup.futureResult, context: context) { found in
            let (handler, context) = loopBound.value
            guard case .success(let recording) = found else {
                handler.storageFailed(found, context: context)
                return
            }
            guard let recording else {
                let missing = APIError(.notFound, code: "not_found", message: "No such recording or file.")
                handler.send(missing.status, body: missing.body, context: context)
                return
            }
            let isPlaylist = file == "index.m3u8"
            handler.admit(recording.stream, protocol: "vod", kind: isPlaylist ? .playlist : .follower, context: context) {
                handler, context, carried in
                let location = "\(recording.folder)/\(file)"
                if isPlaylist {
                    handler.answerVODPlaylist(location, carrying: carried, context: context)
                } else {
                    handler.answerStoredFile(location, headers: ["Content-Type": "video/mp2t",
                                                                 "Cache-Control": "public, max-age=31536000, immutable"],
                                             context: context)
                }
            }
        }
    }

    /// The playlist grows until the stream ends; the admission ticket and signed URL go on to
    /// its segment URIs.
    private func answerVODPlaylist(_ location: String, carrying carried: String?, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        let recorded = recorded
        let logger = logger
        // A start-over past the DVR window lands here with the seconds into the recording.
        let offset = StartOver.vodOffset(in: head?.uri)
        promise.completeWithTask {
            do {
                guard let body = try await recorded?.read(location), body.readableBytes <= Self.maxPlaylistBytes else {
                    return APIResponse.error(APIError(.notFound, code: "not_found", message: "No such recording or file."))
                }
                let stored = StartOver.starting(String(buffer: body), at: offset)
                let text = carried.map { TokenCarrier.carry($0, intoPlaylist: stored) } ?? stored
                return APIResponse(status: .ok, headers: ["Content-Type": "application/vnd.apple.mpegurl", "Cache-Control": "max-age=2"],
                                   body: ByteBuffer(string: text))
            } catch {
                logger.error("asset store failed", metadata: ["location": "\(location)", "error": "\(error)"])
                return APIResponse.error(APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed."))
            }
        }
        sendWhenAnswered(promise.futureResult, context: context)
    }

    /// A stored file from disk (one byte range when asked, sent with `sendfile`) or a redirect
    /// to the object store's own URL.
    func answerStoredFile(_ location: String, headers: HTTPHeaders, context: ChannelHandlerContext) {
        typealias Opened = (source: StoredFileSource, file: NIOFileHandle?, region: FileRegion?)?
        let lookup = context.eventLoop.makePromise(of: StoredFileSource?.self)
        let recorded = recorded
        lookup.completeWithTask { try await recorded?.source(location) }
        let eventLoop = context.eventLoop
        let opened = lookup.futureResult.flatMap { source -> EventLoopFuture<Opened> in
            guard let source else { return eventLoop.makeSucceededFuture(nil) }
            guard case .file(let path) = source else { return eventLoop.makeSucceededFuture((source, nil, nil)) }
            return NonBlockingFileIO(threadPool: .singleton).openFile(_deprecatedPath: path, eventLoop: eventLoop)
                .map { (source, $0.0, $0.1) }
        }.map { Result<Opened, any Error>.success($0) }.recover { .failure($0) }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        onLoop(opened, context: context) { result in
            let (handler, context) = loopBound.value
            guard case .success(let found) = result else {
                handler.storageFailed(result, context: context)
                return
            }
            switch found {
            case nil:
                let missing = APIError(.notFound, code: "not_found", message: "No such recording or file.")
                handler.send(missing.status, body: missing.body, context: context)
            case (.redirect(let url), _, _)?:
                handler.send(.found, body: nil, extraHeaders: ["Location": url, "Cache-Control": "no-store"], context: context)
            case (_, let file?, let region?)?:
                handler.sendFile(file, region: region, headers: headers, context: context)
            default:
                let failure = APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed.")
                handler.send(failure.status, body: failure.body, context: context)
            }
        }
    }

    /// A 503 for a store that failed; the cause is logged, never sent.
    private func storageFailed<Value>(_ result: Result<Value, any Error>, context: ChannelHandlerContext) {
        if case .failure(let error) = result { logger.error("asset store failed", metadata: ["error": "\(error)"]) }
        let failure = APIError(.serviceUnavailable, code: "storage_unavailable", message: "The asset store failed.")
        send(failure.status, body: failure.body, context: context)
    }

    /// Writes the head, the file (or its one asked-for range) and the end; closes the file
    /// when the write is done.
    private func sendFile(_ file: NIOFileHandle, region whole: FileRegion, headers given: HTTPHeaders,
                          context: ChannelHandlerContext) {
        let size = whole.readableBytes
        var headers = given
        headers.replaceOrAdd(name: "Accept-Ranges", value: "bytes")
        var status = HTTPResponseStatus.ok
        var region = whole
        if let range = head?.headers.first(name: "Range") {
            guard let bounds = ByteRange.parse(range, size: size) else {
                try? file.close()
                headers.add(name: "Content-Range", value: "bytes */\(size)")
                send(.rangeNotSatisfiable, body: nil, extraHeaders: headers, context: context)
                return
            }
            status = .partialContent
            headers.add(name: "Content-Range", value: "bytes \(bounds.lowerBound)-\(bounds.upperBound)/\(size)")
            region = FileRegion(fileHandle: file, readerIndex: bounds.lowerBound, endIndex: bounds.upperBound + 1)
        }
        writeHead(status, contentLength: region.readableBytes, headers: headers, context: context)
        if !isHead && region.readableBytes > 0 { context.write(wrapOutboundOut(.body(.fileRegion(region))), promise: nil) }
        finish(status, context: context).whenComplete { _ in try? file.close() }
    }
}
