/// The env files of `tokend exec --env-file`: the conventions of `.env` files, with values of the form
/// `tokend:NAME` resolved through the agent.
///
/// Grammar (documented in tokend(1), ENV FILES):
/// - Lines end with LF (a CR before it is ignored outside quotes). Blank lines and lines whose first
///   non-blank character is `#` are skipped.
/// - An assignment is `[export ]KEY=VALUE`, blanks allowed around `=`. KEY is letters, digits and `_`, not
///   starting with a digit.
/// - VALUE unquoted: the rest of the line, up to a `#` that follows a blank, with surrounding blanks removed.
/// - VALUE in single quotes: exactly the text between them, possibly over several lines; never a reference.
/// - VALUE in double quotes: the same, with the escapes `\n \r \t \\ \" \$` and `` \` ``; any other
///   backslash stays as it is.
/// - After a closing quote only blanks and a `#` comment may follow.
/// - No variable expansion: `$` is an ordinary character.
/// - An unquoted or double-quoted value that starts with `tokend:` is a reference to the secret named by
///   the rest.
/// - NUL bytes are refused anywhere (an environment variable cannot hold one).
///
/// The content is read from and copied into `SecretBytes`, since plain values in such files are often
/// tokens themselves; errors name line numbers and keys, never values.
public enum EnvFile {
    public enum Value {
        case plain(SecretBytes)
        case reference(SecretName)
    }

    public struct Entry {
        public let key: String
        public let value: Value
        /// The line where the assignment starts (1-based).
        public let line: Int
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
        public var description: String { "line \(line): \(reason)" }
    }

    public static let referencePrefix = "tokend:"

    /// Whether `key` can name an environment variable that every shell can set: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, !isDigit(first) else { return false }
        return bytes.allSatisfy { isDigit($0) || isLetter($0) || $0 == UInt8(ascii: "_") }
    }

    public static func parse(_ text: SecretBytes) throws(ParseError) -> [Entry] {
        try text.withUnsafeBytes { (bytes) throws(ParseError) -> [Entry] in
            var parser = Parser(bytes: bytes)
            return try parser.entries()
        }
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    static func isLetter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }

    static func reference(in value: SecretBytes) throws(TokendError) -> SecretName? {
        let prefix = Array(referencePrefix.utf8)
        guard value.count >= prefix.count, (0..<prefix.count).allSatisfy({ value[$0] == prefix[$0] }) else {
            return nil
        }
        // A name is ASCII by its rules, so any other byte is refused by SecretName without being shown.
        let name = value.withUnsafeBytes { String(decoding: $0[prefix.count...], as: UTF8.self) }
        return try SecretName(name)
    }

    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        var line = 1

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8 { bytes[index] }

        static func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

        mutating func fail(_ reason: String, line: Int? = nil) -> ParseError {
            ParseError(line: line ?? self.line, reason: reason)
        }

        mutating func skipBlanks() {
            while !atEnd && Parser.isBlank(current) { index += 1 }
        }

        /// Consumes the line end (or the end of the text); a CR just before LF is part of the line end.
        mutating func endLine() throws(ParseError) {
            if !atEnd && current == UInt8(ascii: "\r") && index + 1 < bytes.count && bytes[index + 1] == 0x0A {
                index += 1
            }
            if atEnd { return }
            guard current == 0x0A else { throw fail("unexpected text after the closing quote") }
            index += 1
            line += 1
        }

        mutating func entries() throws(ParseError) -> [Entry] {
            if let nul = bytes.firstIndex(of: 0) {
                throw fail("contains a NUL byte", line: bytes[..<nul].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) })
            }
            var entries: [Entry] = []
            while !atEnd {
                skipBlanks()
                if atEnd { break }
                if current == 0x0A || current == UInt8(ascii: "#") || current == UInt8(ascii: "\r") {
                    skipComment()
                    try endLine()
                    continue
                }
                entries.append(try assignment())
            }
            return entries
        }

        mutating func skipComment() {
            while !atEnd && current != 0x0A && !(current == UInt8(ascii: "\r") && isCRLF(at: index)) { index += 1 }
        }

        func isCRLF(at i: Int) -> Bool { i + 1 < bytes.count && bytes[i + 1] == 0x0A }

        mutating func word() -> String {
            let start = index
            while !atEnd && (EnvFile.isLetter(current) || EnvFile.isDigit(current) || current == UInt8(ascii: "_")) {
                index += 1
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func assignment() throws(ParseError) -> Entry {
            let startLine = line
            var key = word()
            if key == "export", !atEnd, Parser.isBlank(current) {
                skipBlanks()
                key = word()
            }
            skipBlanks()
            // The key is not echoed until the line is known to be an assignment: a line holding only a
            // pasted token would otherwise end up in the message.
            guard !atEnd, current == UInt8(ascii: "="), !key.isEmpty else {
                throw fail("expected KEY=VALUE (KEY: letters, digits and _)")
            }
            guard EnvFile.isValidKey(key) else { throw fail("a variable name must not start with a digit") }
            index += 1
            skipBlanks()
            let value = SecretBytes()
            var mayBeReference = true
            if !atEnd && current == UInt8(ascii: "'") {
                try quoted(into: value, closing: UInt8(ascii: "'"), escapes: false)
                mayBeReference = false
            } else if !atEnd && current == UInt8(ascii: "\"") {
                try quoted(into: value, closing: UInt8(ascii: "\""), escapes: true)
            } else {
                unquoted(into: value)
            }
            skipBlanks()
            if !atEnd && current == UInt8(ascii: "#") { skipComment() }
            try endLine()
            if mayBeReference {
                do throws(TokendError) {
                    if let name = try EnvFile.reference(in: value) {
                        return Entry(key: key, value: .reference(name), line: startLine)
                    }
                } catch {
                    throw fail("\(key): \(error.message)", line: startLine)
                }
            }
            return Entry(key: key, value: .plain(value), line: startLine)
        }

        /// The rest of the line up to a comment (a `#` after a blank), without the surrounding blanks.
        mutating func unquoted(into value: SecretBytes) {
            let start = index
            var end = index
            while !atEnd && current != 0x0A {
                if current == UInt8(ascii: "#") && index > 0 && Parser.isBlank(bytes[index - 1]) { break }
                if current == UInt8(ascii: "\r") && isCRLF(at: index) { break }
                index += 1
                if !Parser.isBlank(bytes[index - 1]) { end = index }
            }
            value.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }

        mutating func quoted(into value: SecretBytes, closing: UInt8, escapes: Bool) throws(ParseError) {
            let openLine = line
            index += 1
            while true {
                guard !atEnd else {
                    let kind = closing == UInt8(ascii: "'") ? "single" : "double"
                    throw fail("the \(kind) quote opened on this line is never closed", line: openLine)
                }
                let c = current
                index += 1
                if c == closing { return }
                if c == 0x0A { line += 1 }
                if escapes && c == UInt8(ascii: "\\") && !atEnd {
                    switch current {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "r"): value.append(0x0D)
                    case UInt8(ascii: "t"): value.append(0x09)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "$"), UInt8(ascii: "`"):
                        value.append(current)
                    default:
                        value.append(c)
                        continue
                    }
                    index += 1
                    continue
                }
                value.append(c)
            }
        }
    }
}
