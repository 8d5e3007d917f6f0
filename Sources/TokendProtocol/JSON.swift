import TokendCore

/// A JSON value parsed from one protocol line. Strings and numbers are kept as byte ranges of the line so
/// that a secret string can be decoded straight into `SecretBytes` and never becomes a Swift `String`.
public indirect enum JSONValue: Sendable {
    case string(Range<Int>, escaped: Bool)
    case number(Range<Int>)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])
}

/// Why a line is not acceptable JSON; the position is a byte offset (content is never quoted).
public struct JSONError: Error, Sendable, Equatable {
    public var reason: String
    public var offset: Int
}

/// A strict, bounded JSON parser (RFC 8259) over one line: UTF-8 only, nesting at most `maxDepth`, numbers
/// at most 32 characters, at most `maxMembers` keys per object, duplicate keys rejected.
public struct JSONParser {
    public static let maxDepth = 8
    /// No message of the protocol has more than about twenty fields; the cap also keeps the duplicate-key
    /// check (each key against the ones before it) cheap, so that no line can hold up the I/O thread.
    public static let maxMembers = 64
    static let maxNumberLength = 32
    let b: UnsafeRawBufferPointer
    var i = 0

    public static func parse(_ line: UnsafeRawBufferPointer) throws(JSONError) -> JSONValue {
        var parser = JSONParser(b: line)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.i != line.count { throw JSONError(reason: "trailing data after the JSON value", offset: parser.i) }
        return value
    }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0D || b[i] == 0x0A { i += 1 }
    }

    func fail(_ reason: String) -> JSONError { JSONError(reason: reason, offset: i) }

    mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        guard i < b.count else { throw fail("unexpected end of line") }
        switch b[i] {
        case UInt8(ascii: "{"):
            guard depth < JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
            return try object(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
            return try array(depth: depth + 1)
        case UInt8(ascii: "\""):
            let (range, escaped) = try string()
            return .string(range, escaped: escaped)
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw fail("unexpected end of line") }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    mutating func number() throws(JSONError) -> Range<Int> {
        let start = i
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while p.i < p.b.count, p.b[p.i] >= 0x30 && p.b[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 0x30 && b[i] <= 0x39 else { throw fail("invalid number") }
        if b[i] == 0x30 { i += 1 } else { _ = digits(&self) }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw fail("invalid number") }
        }
        guard i - start <= JSONParser.maxNumberLength else { throw JSONError(reason: "number too long", offset: start) }
        return start..<i
    }

    /// Validates a string (escapes and UTF-8) and returns the range of its content, quotes excluded.
    mutating func string() throws(JSONError) -> (Range<Int>, Bool) {
        i += 1
        let start = i
        var escaped = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return (start..<i - 1, escaped)
            }
            if c < 0x20 { throw fail("control character in string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                guard i + 1 < b.count else { throw fail("unexpected end of line") }
                switch b[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    let escape = i
                    guard let unit = hex4(at: i + 2) else { throw fail("invalid \\u escape") }
                    i += 6
                    if unit >= 0xD800 && unit <= 0xDBFF {
                        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                            let low = hex4(at: i + 2), low >= 0xDC00 && low <= 0xDFFF
                        else { throw JSONError(reason: "unpaired surrogate", offset: escape) }
                        i += 6
                    } else if unit >= 0xDC00 && unit <= 0xDFFF {
                        throw JSONError(reason: "unpaired surrogate", offset: escape)
                    }
                default:
                    throw fail("invalid escape")
                }
                continue
            }
            if c < 0x80 {
                i += 1
                continue
            }
            i += try utf8Sequence(at: i)
        }
        throw fail("unterminated string")
    }

    /// The length of the well-formed UTF-8 sequence at `p` (no overlongs, no surrogates, ≤ U+10FFFF).
    func utf8Sequence(at p: Int) throws(JSONError) -> Int {
        let c = b[p]
        func cont(_ k: Int) -> Bool { p + k < b.count && b[p + k] & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF where cont(1): return 2
        case 0xE0 where cont(1) && cont(2) && b[p + 1] >= 0xA0: return 3
        case 0xE1...0xEC where cont(1) && cont(2): return 3
        case 0xEE...0xEF where cont(1) && cont(2): return 3
        case 0xED where cont(1) && cont(2) && b[p + 1] < 0xA0: return 3
        case 0xF0 where cont(1) && cont(2) && cont(3) && b[p + 1] >= 0x90: return 4
        case 0xF1...0xF3 where cont(1) && cont(2) && cont(3): return 4
        case 0xF4 where cont(1) && cont(2) && cont(3) && b[p + 1] < 0x90: return 4
        default: throw JSONError(reason: "invalid UTF-8", offset: p)
        }
    }

    func hex4(at p: Int) -> UInt32? {
        guard p + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = b[p + k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") {
            i += 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value(depth: depth))
            skipSpace()
            guard i < b.count else { throw fail("unexpected end of line") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected , or ]")
        }
    }

    mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let keyStart = i
            let (range, escaped) = try string()
            let key = JSONText.string(b, range, escaped: escaped)
            if members.contains(where: { $0.key == key }) {
                throw JSONError(reason: "duplicate key", offset: keyStart)
            }
            guard members.count < JSONParser.maxMembers else {
                throw JSONError(reason: "more than \(JSONParser.maxMembers) keys in an object", offset: keyStart)
            }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected :") }
            i += 1
            skipSpace()
            members.append((key, try value(depth: depth)))
            skipSpace()
            guard i < b.count else { throw fail("unexpected end of line") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected , or }")
        }
    }
}

/// Decoding of validated string ranges.
public enum JSONText {
    /// A non-secret string (keys, names, messages).
    public static func string(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, escaped: Bool) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: b[range])
        if !escaped { return String(decoding: slice, as: UTF8.self) }
        let out = SecretBytes(capacity: range.count)
        unescape(slice, into: out)
        return out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Unescapes a validated string straight into secret memory.
    public static func unescape(_ s: UnsafeRawBufferPointer, into out: SecretBytes) {
        var i = 0
        while i < s.count {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(s, i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex(s, i + 2) - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, into: out)
            default: out.append(e)
            }
        }
    }

    static func hex(_ s: UnsafeRawBufferPointer, _ p: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = s[p + k]
            v = v << 4 | UInt32(c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10)
        }
        return v
    }

    static func appendUTF8(_ v: UInt32, into out: SecretBytes) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }
}

/// Appends JSON to a `SecretBytes` buffer, so that responses carrying values are built in secret memory.
public struct JSONWriter {
    public let out: SecretBytes
    var needsComma = false

    public init(into out: SecretBytes) { self.out = out }

    public mutating func beginObject() { separator(); out.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { out.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separator(); out.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { out.append(UInt8(ascii: "]")); needsComma = true }

    mutating func separator() {
        if needsComma { out.append(UInt8(ascii: ",")) }
    }

    public mutating func key(_ k: StaticString) {
        separator()
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: k)
        out.append(contentsOf: "\":")
        needsComma = false
    }

    public mutating func string(_ s: String) {
        separator()
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Names, times and paths rarely need escaping: copy them in one go rather than byte by byte.
            if bytes.allSatisfy({ $0 >= 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                out.append(UnsafeRawBufferPointer(bytes))
            } else {
                for c in bytes { escape(c) }
            }
        }
        out.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A secret text (a passphrase) as a JSON string, escaped straight into secret memory.
    public mutating func secretString(_ value: SecretBytes) {
        separator()
        out.append(UInt8(ascii: "\""))
        value.withUnsafeBytes { for c in $0 { escape(c) } }
        out.append(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func escape(_ c: UInt8) {
        switch c {
        case UInt8(ascii: "\""): out.append(contentsOf: "\\\"")
        case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\")
        case 0x0A: out.append(contentsOf: "\\n")
        case 0x0D: out.append(contentsOf: "\\r")
        case 0x09: out.append(contentsOf: "\\t")
        case 0..<0x20, 0x7F:
            out.append(contentsOf: "\\u00")
            out.append(JSONWriter.hexDigits[Int(c >> 4)])
            out.append(JSONWriter.hexDigits[Int(c & 15)])
        default: out.append(c)
        }
    }
    static let hexDigits = Array("0123456789abcdef".utf8)

    public mutating func int(_ v: Int64) { raw(String(v)) }
    public mutating func bool(_ v: Bool) { raw(v ? "true" : "false") }
    public mutating func null() { raw("null") }

    /// Already-valid JSON text (an echoed id).
    public mutating func raw(_ text: String) {
        separator()
        out.append(text: text)
        needsComma = true
    }

    /// A secret as base64, encoded straight from secret memory.
    public mutating func base64(_ value: SecretBytes) {
        separator()
        out.append(UInt8(ascii: "\""))
        value.withUnsafeBytes { Base64.encode($0, padded: true, into: out) }
        out.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func field(_ k: StaticString, _ v: String?) {
        if let v { key(k); string(v) }
    }
    public mutating func field(_ k: StaticString, _ v: Int64) { key(k); int(v) }
    public mutating func field(_ k: StaticString, _ v: Bool) { key(k); bool(v) }
}
