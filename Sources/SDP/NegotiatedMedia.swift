/// What an answer agreed for one media section: the one codec both sides use and the feedback
/// the answer accepted.
public struct NegotiatedMedia: Sendable, Equatable {
    public var mid: String
    public var kind: SDPMediaKind
    /// The payload type both sides write in RTP (the offer's number for the codec).
    public var payloadType: UInt8
    public var codec: OfferedCodec
    /// The offerer's primary media SSRC for this section, when it announced one (WHIP senders do).
    public var remoteSSRC: UInt32?
    /// Generic NACK accepted (RFC 4585 §4.2): the receiver asks for lost packets again.
    public var nack: Bool
    /// Picture loss indication accepted (video only).
    public var pli: Bool
    /// The SSRC the answerer sends with, announced with `a=ssrc` (a sending answerer only).
    public var localSSRC: UInt32?

    public init(mid: String, kind: SDPMediaKind, payloadType: UInt8, codec: OfferedCodec, remoteSSRC: UInt32?,
                nack: Bool, pli: Bool, localSSRC: UInt32?) {
        self.mid = mid
        self.kind = kind
        self.payloadType = payloadType
        self.codec = codec
        self.remoteSSRC = remoteSSRC
        self.nack = nack
        self.pli = pli
        self.localSSRC = localSSRC
    }
}
