/// Defence in depth: every log line and error message passes through `redact` before it leaves a tokend
/// process. Messages are never built from values in the first place; this catches a token that reaches one
/// anyway (a name someone typed a token into, a message from a library). A recognised token keeps its
/// well-known prefix, which is not secret, and loses the rest.
public enum Redactor {
    public static let marker = "[REDACTED]"

    /// Prefixes after which the token characters that follow are secret, with the least number of such
    /// characters that makes a match (short ones are more likely ordinary words).
    static let prefixes: [(prefix: [UInt8], minimumTail: Int)] = [
        ("xoxb-", 8), ("xoxp-", 8), ("xoxa-", 8), ("xoxo-", 8), ("xoxs-", 8), ("xoxr-", 8), ("xoxe.", 8),
        ("xoxe-", 8), ("xapp-", 8), ("ghp_", 16), ("gho_", 16), ("ghu_", 16), ("ghs_", 16), ("ghr_", 16),
        ("github_pat_", 16), ("glpat-", 16), ("sk_live_", 8), ("rk_live_", 8), ("sk-", 16),
        ("AGE-SECRET-KEY-1", 16), ("AKIA", 16), ("ASIA", 16),
    ].map { (Array($0.0.utf8), $0.1) }

    static let pemBegin = Array("-----BEGIN ".utf8)
    static let pemEnd = Array("-----END ".utf8)
    static let dashes = Array("-----".utf8)
    static let jwtStart = Array("eyJ".utf8)
    static let pemMarker = Array("-----BEGIN PRIVATE KEY-----\(marker)".utf8)
    static let markerBytes = Array(marker.utf8)

    /// Whether a byte can begin something to redact (a prefix, a JWT, a PEM block): every log line passes
    /// through here, and most of its bytes are ruled out by this one look-up.
    static let mayStart: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for start in prefixes.map(\.prefix) + [pemBegin, jwtStart] { table[Int(start[0])] = true }
        return table
    }()

    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    static func isWordByte(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    public static func redact(_ text: String) -> String {
        let b = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        var changed = false
        while i < b.count {
            guard mayStart[Int(b[i])] else {
                out.append(b[i])
                i += 1
                continue
            }
            if let end = pemBlockEnd(b, at: i) {
                out += pemMarker
                i = end
                changed = true
                continue
            }
            let boundary = i == 0 || !isWordByte(b[i - 1])
            if boundary, let (keep, end) = tokenMatch(b, at: i) {
                out += b[i..<i + keep]
                out += markerBytes
                i = end
                changed = true
                continue
            }
            out.append(b[i])
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    static func starts(_ b: [UInt8], _ at: Int, _ p: [UInt8]) -> Bool {
        at + p.count <= b.count && b[at..<at + p.count].elementsEqual(p)
    }

    /// A match at `at`: how many leading bytes may stay (the prefix) and where the token ends.
    static func tokenMatch(_ b: [UInt8], at: Int) -> (Int, Int)? {
        for (prefix, minimumTail) in prefixes where starts(b, at, prefix) {
            var end = at + prefix.count
            while end < b.count, isTokenByte(b[end]) { end += 1 }
            if end - at - prefix.count >= minimumTail { return (prefix.count, end) }
        }
        // JWT: three base64url parts, the first two JSON objects (`eyJ`).
        if starts(b, at, jwtStart) {
            var end = at
            var dots = 0
            while end < b.count, isTokenByte(b[end]) {
                if b[end] == UInt8(ascii: ".") { dots += 1 }
                end += 1
            }
            if dots >= 2, end - at >= 24 { return (0, end) }
        }
        return nil
    }

    /// A PEM private key block starting at `at`: the index just past its END line (or the end of the text).
    static func pemBlockEnd(_ b: [UInt8], at: Int) -> Int? {
        guard starts(b, at, pemBegin) else { return nil }
        var i = at + pemBegin.count
        var label: [UInt8] = []
        while i < b.count, b[i] != UInt8(ascii: "-"), label.count < 64 {
            label.append(b[i])
            i += 1
        }
        guard String(decoding: label, as: UTF8.self).hasSuffix("PRIVATE KEY") else { return nil }
        var j = i
        while j < b.count, !starts(b, j, pemEnd) { j += 1 }
        guard j < b.count else { return b.count }
        var k = j + pemEnd.count
        while k < b.count, !starts(b, k, dashes) { k += 1 }
        return min(k + dashes.count, b.count)
    }
}
