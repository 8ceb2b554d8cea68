import Testing
@testable import Sluice

@Suite struct TextLogHandlerTests {
    @Test func controlCharactersCannotForgeALine() {
        let forged = "cam\n2026-12-06T00:00:00+0000 critical sluice : forged"
        #expect(TextLogHandler.escaped(forged) == #"cam\n2026-12-06T00:00:00+0000 critical sluice : forged"#)
        #expect(TextLogHandler.escaped("\u{1b}[2J\r\t\u{7f}\u{85}") == #"\u{1b}[2J\r\t\u{7f}\u{85}"#)
        #expect(TextLogHandler.escaped(#"a\nb"#) == #"a\\nb"#)
        #expect(TextLogHandler.escaped("evil\u{202E}txt.exe") == #"evil\u{202e}txt.exe"#)
    }

    @Test func plainTextIsUntouched() {
        for text in ["stream online", "Sluice 直播 ✓", "key=abc?sign=<redacted>", ""] {
            #expect(TextLogHandler.escaped(text) == text)
        }
    }
}
