/// A secret's name: path-like segments separated by `/`, such as `slack/T024BE7LD/bot`.
///
/// Rules (documented in tokend(1)): 1 to 256 bytes; segments are non-empty and are not `.` or `..`; each
/// character is an ASCII letter or digit or one of `. _ - + @ : = ~ % ,`. No spaces, no control characters,
/// no leading or trailing `/`.
public struct SecretName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public init(_ text: String) throws(TokendError) {
        guard let reason = SecretName.problem(text) else {
            value = text
            return
        }
        // The text was rejected, so it is not echoed: a mistyped command could have put a token here.
        throw TokendError(.invalidName, "invalid secret name: \(reason)")
    }

    public var description: String { value }
    public static func < (a: SecretName, b: SecretName) -> Bool { a.value < b.value }

    public func hasPrefix(_ prefix: String) -> Bool { value.hasPrefix(prefix) }

    static func isAllowed(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "@"),
            UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: ","):
            return true
        default:
            return false
        }
    }

    /// Why `text` is not a valid name, or nil when it is.
    public static func problem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return "it is empty" }
        if bytes.count > Limits.maxNameBytes { return "longer than \(Limits.maxNameBytes) bytes" }
        var segment = 0
        var start = 0
        for i in 0...bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: "/") {
                segment += 1
                let length = i - start
                if length == 0 { return "segment \(segment) is empty" }
                if length <= 2 && bytes[start..<i].allSatisfy({ $0 == UInt8(ascii: ".") }) {
                    return "segment \(segment) is '.' or '..'"
                }
                start = i + 1
            } else if !isAllowed(bytes[i]) {
                return "character at byte \(i + 1) is not allowed (letters, digits, / and . _ - + @ : = ~ % , only)"
            }
        }
        return nil
    }
}
