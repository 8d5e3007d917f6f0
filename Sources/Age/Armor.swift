import TokendCore

/// age's ASCII armor: strict PEM with type `AGE ENCRYPTED FILE`, padded base64 in 64 columns, no headers.
/// Whitespace around the armor is tolerated (it gets pasted into mails and terminals) and lines may end in
/// CRLF; everything else must be exact.
public enum Armor {
    private static let begin = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    private static let end = Array("-----END AGE ENCRYPTED FILE-----".utf8)
    private static let columns = 64

    private static func isWhitespace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }

    /// Whether `file` looks armored (the age CLI's test): after any whitespace it begins a PEM block.
    static func isArmored(_ file: [UInt8]) -> Bool {
        file.drop(while: isWhitespace).starts(with: "-----BEGIN".utf8)
    }

    public static func encode(_ file: [UInt8]) -> [UInt8] {
        var out = begin
        out.append(0x0A)
        var rest = Array(Base64.encode(file, padded: true).utf8)[...]
        while !rest.isEmpty {
            out += rest.prefix(columns)
            out.append(0x0A)
            rest = rest.dropFirst(columns)
        }
        out += end
        out.append(0x0A)
        return out
    }

    public static func decode(_ text: [UInt8]) throws(AgeError) -> [UInt8] {
        let trimmed = text.drop(while: isWhitespace).reversed().drop(while: isWhitespace).reversed()
        let lines = Array(trimmed).split(separator: 0x0A, omittingEmptySubsequences: false).map {
            $0.last == 0x0D ? $0.dropLast() : $0
        }
        guard lines.count >= 2, lines[0].elementsEqual(begin) else { throw .armorInvalid("missing BEGIN line") }
        guard lines[lines.count - 1].elementsEqual(end) else { throw .armorInvalid("missing END line") }
        let body = lines[1..<(lines.count - 1)]
        let out = SecretBytes()
        for (i, line) in body.enumerated() {
            let isLast = i == body.count - 1
            guard line.count <= columns else { throw .armorInvalid("line longer than 64 columns") }
            // Only the last line may be short, and it may not be empty.
            guard isLast ? !line.isEmpty : line.count == columns else { throw .armorInvalid("short line") }
            // Padding is only valid at the very end.
            guard line.withUnsafeBytes({ Base64.decode($0, padded: isLast, into: out) }) else {
                throw .armorInvalid("invalid base64")
            }
        }
        return out.withUnsafeBytes { Array($0) }
    }
}
