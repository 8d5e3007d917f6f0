import TokendCore

/// One recipient stanza as it appears in the header: `-> type arg…` and a base64 body. The body is a wrapped
/// file key (ciphertext), so it is not secret.
struct Stanza {
    var type: String
    var args: [String]
    var body: [UInt8]
}

/// The age v1 header, parsed strictly: every deviation from the canonical encoding is an error, so that a
/// header has exactly one byte representation and the MAC covers it unambiguously.
struct Header {
    static let versionLine = Array("age-encryption.org/v1".utf8)
    static let columns = 64

    var stanzas: [Stanza]
    var mac: [UInt8]
    /// How many bytes the MAC covers: from the start up to and including the `---` of the MAC line.
    var macCoveredCount: Int
    /// The header's length, through the LF that ends the MAC line; the payload starts here.
    var count: Int

    private typealias Line = Slice<UnsafeRawBufferPointer>

    /// The line starting at `position`, without its LF; nil if no LF follows, because every header line,
    /// the MAC line included, must end in one.
    private static func nextLine(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> Line? {
        guard position < bytes.count, let lf = bytes[position...].firstIndex(of: 0x0A) else { return nil }
        defer { position = lf + 1 }
        return bytes[position..<lf]
    }

    private static func decodeBase64(_ text: Line) -> [UInt8]? {
        let out = SecretBytes()
        guard Base64.decode(UnsafeRawBufferPointer(rebasing: text), padded: false, into: out) else { return nil }
        return out.withUnsafeBytes { Array($0) }
    }

    /// Arguments are one or more visible ASCII characters, separated by exactly one space.
    private static func arguments(_ text: Line) -> [String]? {
        let parts = text.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } }) else { return nil }
        return parts.map { String(decoding: $0, as: UTF8.self) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(AgeError) -> Header {
        var position = 0
        guard let version = nextLine(bytes, &position) else { throw .headerInvalid("not an age file") }
        if !version.elementsEqual(versionLine) {
            let isOtherVersion = version.starts(with: "age-encryption.org/v".utf8)
                && version.allSatisfy { (0x21...0x7E).contains($0) }
            throw isOtherVersion ? .unsupported("age format version") : .headerInvalid("not an age v1 file")
        }
        var stanzas: [Stanza] = []
        while true {
            let lineStart = position
            guard let line = nextLine(bytes, &position) else { throw .headerInvalid("header ends before its MAC") }
            if line.starts(with: "---".utf8) {
                guard line.count > 4, line[lineStart + 3] == 0x20,
                    let mac = decodeBase64(line[(lineStart + 4)...]), mac.count == 32
                else { throw .headerInvalid("malformed MAC line") }
                guard !stanzas.isEmpty else { throw .headerInvalid("no recipient stanzas") }
                return Header(stanzas: stanzas, mac: mac, macCoveredCount: lineStart + 3, count: position)
            }
            guard line.starts(with: "-> ".utf8), let args = arguments(line[(lineStart + 3)...]) else {
                throw .headerInvalid("unexpected line in header")
            }
            var body: [UInt8] = []
            while true {
                guard let bodyLine = nextLine(bytes, &position) else { throw .headerInvalid("stanza body not ended") }
                guard bodyLine.count <= columns, let chunk = decodeBase64(bodyLine) else {
                    throw .headerInvalid("stanza body is not canonical base64 in 64 columns")
                }
                body += chunk
                // A line shorter than the full width, possibly empty, ends the body.
                if bodyLine.count < columns { break }
            }
            stanzas.append(Stanza(type: args[0], args: Array(args.dropFirst()), body: body))
        }
    }

    /// The whole header for `stanzas`, with its MAC under `fileKey`.
    static func encode(_ stanzas: [Stanza], fileKey: SecretBytes) throws(AgeError) -> [UInt8] {
        var out = versionLine
        out.append(0x0A)
        for stanza in stanzas {
            out += "-> ".utf8
            out += ([stanza.type] + stanza.args).joined(separator: " ").utf8
            out.append(0x0A)
            var rest = Array(Base64.encode(stanza.body, padded: false).utf8)[...]
            while rest.count >= columns {
                out += rest.prefix(columns)
                out.append(0x0A)
                rest = rest.dropFirst(columns)
            }
            // The final line is always shorter than 64 columns, even if that makes it empty.
            out += rest
            out.append(0x0A)
        }
        out += "---".utf8
        let mac = try withBytes(of: out) { covered throws(AgeError) in
            try Header.mac(fileKey: fileKey, covering: covered)
        }
        out += " ".utf8
        out += Base64.encode(mac, padded: false).utf8
        out.append(0x0A)
        return out
    }

    private static func mac(fileKey: SecretBytes, covering bytes: UnsafeRawBufferPointer) throws(AgeError) -> [UInt8] {
        let key = try Crypto.hkdf(key: fileKey, salt: [], info: "header")
        return try Crypto.hmacSHA256(key: key, message: bytes)
    }

    /// `bytes` is the file this header was parsed from.
    func verifyMAC(fileKey: SecretBytes, in bytes: UnsafeRawBufferPointer) throws(AgeError) {
        let covered = UnsafeRawBufferPointer(rebasing: bytes[..<macCoveredCount])
        let expected = try Header.mac(fileKey: fileKey, covering: covered)
        guard Crypto.constantTimeEquals(expected, mac) else { throw .macMismatch }
    }
}
