import Testing
@testable import Sluice

@Suite struct LineLogHandlerTests {
    @Test func controlCharactersCannotForgeALine() {
        let forged = "cam\n2026-12-06T00:00:00+0000 critical sluice : forged"
        #expect(LineLogHandler.escaped(forged) == #"cam\n2026-12-06T00:00:00+0000 critical sluice : forged"#)
        #expect(LineLogHandler.escaped("\u{1b}[2J\r\t\u{7f}\u{85}") == #"\u{1b}[2J\r\t\u{7f}\u{85}"#)
        #expect(LineLogHandler.escaped(#"a\nb"#) == #"a\\nb"#)
        #expect(LineLogHandler.escaped("evil\u{202E}txt.exe") == #"evil\u{202e}txt.exe"#)
    }

    @Test func plainTextIsUntouched() {
        for text in ["stream online", "Sluice 直播 ✓", "key=abc?sign=<redacted>", ""] {
            #expect(LineLogHandler.escaped(text) == text)
        }
    }
}

@Suite struct LogFieldTests {
    @Test func aValueCannotAddFieldsOfItsOwn() {
        #expect(LineLogHandler.field("plain") == "plain")
        #expect(LineLogHandler.field("") == #""""#)
        #expect(LineLogHandler.field("denied stream=other admin=yes") == #""denied stream=other admin=yes""#)
        #expect(LineLogHandler.field(#"a"b"#) == #""a\"b""#)
        #expect(LineLogHandler.field("x\u{2028}y\u{2066}") == #"x\u{2028}y\u{2066}"#)
    }
}
