/// The ICE username fragment and password rules of RFC 8839 §5.4: `ice-ufrag` is 4–256 and
/// `ice-pwd` 22–256 ICE characters (letters, digits, `+`, `/`).
public enum ICECredentials {
    /// Whether `ufrag` is a valid `a=ice-ufrag` value.
    public static func isValidUfrag(_ ufrag: String) -> Bool {
        (4...256).contains(ufrag.utf8.count) && ufrag.utf8.allSatisfy(isICEChar)
    }

    /// Whether `pwd` is a valid `a=ice-pwd` value.
    public static func isValidPwd(_ pwd: String) -> Bool {
        (22...256).contains(pwd.utf8.count) && pwd.utf8.allSatisfy(isICEChar)
    }

    /// RFC 8839 §5.1 `ice-char`: ALPHA / DIGIT / "+" / "/".
    static func isICEChar(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"): true
        default: false
        }
    }
}
