import Testing
import TestSupport
@testable import Access

/// Every streamid form README.md documents, read and written back; what is refused and why;
/// seeded random and cut input that must end in "parses, or throws".
@Suite struct SRTStreamIDTests {
    static let id = "98724e64-bcd1-4887-af4a-60be440709aa"
    static let sign = "1670544000-63497837275539bdb8e21800887e2db9"
    static let token = String(repeating: "ab", count: 32)

    static func parse(_ text: String) throws(SRTStreamID.Malformed) -> SRTStreamID { try SRTStreamID(parsing: text) }

    @Test(arguments: [
        ("#!::r=stream/\(id),m=publish,s=\(sign)", SRTStreamID(mode: .publish, name: id, query: ["sign": sign])),
        ("#!::m=publish,s=\(sign),r=stream/\(id)", SRTStreamID(mode: .publish, name: id, query: ["sign": sign])),
        ("#!::r=\(id),m=publish,s=\(sign),u=encoder,h=example.com,x=y",
         SRTStreamID(mode: .publish, app: nil, name: id, query: ["sign": sign])),
        ("#!::r=stream/\(id),m=PUBLISH", SRTStreamID(mode: .publish, name: id)),
        ("#!::r=stream/\(id),m=request", SRTStreamID(mode: .play, name: id)),
        ("#!::r=stream/\(id)", SRTStreamID(mode: .play, name: id)),
        ("#!::r=stream/\(id),m=request,t=stream", SRTStreamID(mode: .play, name: id)),
        ("#!::r=stream/\(id),m=request,t=1700000000-\(token)",
         SRTStreamID(mode: .play, name: id, query: ["expires": "1700000000", "token": token])),
        ("#!::r=stream/cam1,m=request,s=ignored-when-playing", SRTStreamID(mode: .play, name: "cam1")),
        ("publish:stream/\(id)?sign=\(sign)", SRTStreamID(mode: .publish, name: id, query: ["sign": sign])),
        ("publish:\(id)?sign=\(sign)", SRTStreamID(mode: .publish, app: nil, name: id, query: ["sign": sign])),
        ("stream/\(id)?sign=\(sign)", SRTStreamID(mode: .publish, name: id, query: ["sign": sign])),
        ("\(id)?sign=\(sign)&note=x", SRTStreamID(mode: .publish, app: nil, name: id, query: ["sign": sign, "note": "x"])),
        ("stream/cam1", SRTStreamID(mode: .play, name: "cam1")),
        ("read:stream/cam1?expires=1700000000&token=\(token)",
         SRTStreamID(mode: .play, name: "cam1", query: ["expires": "1700000000", "token": token])),
        ("play:cam1", SRTStreamID(mode: .play, app: nil, name: "cam1")),
        ("live/cam1?sign=\(sign)", SRTStreamID(mode: .publish, app: "live", name: "cam1", query: ["sign": sign])),
    ])
    func acceptedFormsRead(_ text: String, _ expected: SRTStreamID) throws {
        #expect(try Self.parse(text) == expected)
    }

    /// The access-control text reads back as the same request, in either direction.
    @Test(arguments: [
        SRTStreamID(mode: .publish, name: id, query: ["sign": sign]),
        SRTStreamID(mode: .publish, app: nil, name: "cam1", query: ["sign": "0-00000000000000000000000000000000"]),
        SRTStreamID(mode: .play, name: id),
        SRTStreamID(mode: .play, name: "cam_1.x", query: ["expires": "1700000000", "token": token]),
    ])
    func accessControlTextRoundTrips(_ value: SRTStreamID) throws {
        #expect(try Self.parse(value.accessControlText) == value)
    }

    @Test func accessControlTextIsTheDocumentedOne() {
        #expect(SRTStreamID(mode: .publish, name: "cam1", query: ["sign": Self.sign]).accessControlText
            == "#!::r=stream/cam1,m=publish,s=\(Self.sign)")
        #expect(SRTStreamID(mode: .play, name: "cam1", query: ["expires": "5", "token": "ff"]).accessControlText
            == "#!::r=stream/cam1,m=request,t=5-ff")
    }

    @Test(arguments: [
        "", "#!:r=stream/x", "#!::", "#!::m=publish", "#!::r=stream/x,m=bidirectional", "#!::r=stream/x,,m=publish",
        "#!::r=stream/x,m", "#!::=x,r=stream/x", "#!::r=stream/x,r=stream/y", "#!::r=stream/x,s=a,s=b,m=publish",
        "#!::r=/x", "#!::r=stream/", "#!::r=a/b/c", "#!::r=stream/x,t=notatoken", "stream/x?sign=a&sign=b",
        "stream/x?=a", "a b", "stream/a,b", "#!::r=stream/a?sign=x,m=publish", "stream/x\u{7F}", "strëam/x", "/x", "x/", "publish:", "publish:?sign=1",
        String(repeating: "a", count: 129), "#!::r=stream/" + String(repeating: "a", count: 500),
    ])
    func malformedStreamIDsAreRefused(_ text: String) {
        #expect(throws: SRTStreamID.Malformed.self) { try Self.parse(text) }
    }

    @Test func refusalsSayWhyWithoutEchoingTheInput() throws {
        let secret = "s3cr3t-value"
        do {
            _ = try Self.parse("#!::r=stream/x,m=publish,s=\(secret),s=\(secret)")
            Issue.record("a repeated key was accepted")
        } catch {
            #expect(!error.message.contains(secret))
            #expect(error.message.contains("twice"))
        }
    }

    /// Random bytes, and cuts of every accepted form, parse or throw; whatever parses writes an
    /// access-control text that parses to the same mode and name.
    @Test func randomAndTruncatedInputParsesOrThrows() {
        var random = SeededGenerator(seed: 0x5254_5354)
        let alphabet = Array("#!:=,/?&-_.rmstuabc0123456789 publish:request".utf8)
        var inputs: [String] = []
        for _ in 0..<3000 {
            let length = Int.random(in: 0...80, using: &random)
            inputs.append(String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self))
        }
        for form in ["#!::r=stream/\(Self.id),m=publish,s=\(Self.sign)", "publish:stream/cam1?sign=\(Self.sign)",
                     "#!::r=stream/cam1,m=request,t=1700000000-\(Self.token)"] {
            inputs += (0...form.utf8.count).map { String(decoding: form.utf8.prefix($0), as: UTF8.self) }
        }
        for input in inputs {
            guard let parsed = try? Self.parse(input), !parsed.query.values.contains(where: { $0.contains(",") }),
                  parsed.accessControlText.utf8.count <= SRTStreamID.maxBytes else { continue }
            let again = try? Self.parse(parsed.accessControlText)
            #expect(again?.mode == parsed.mode && again?.name == parsed.name && again?.app == parsed.app, "\(input)")
        }
    }
}
