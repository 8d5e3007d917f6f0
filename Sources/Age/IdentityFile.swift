import TokendCore

/// The plaintext of an identity file as `age-keygen` writes it, which `age -i` reads.
public enum IdentityFile {
    /// `# created: …`, `# public key: age1…`, `AGE-SECRET-KEY-1…`, each line ending in LF.
    public static func render(_ identity: X25519Identity, created: String) -> SecretBytes {
        let out = SecretBytes(capacity: 160)
        out.append(contentsOf: "# created: ")
        out.append(text: created)
        out.append(contentsOf: "\n# public key: ")
        out.append(text: identity.recipient.encoded)
        out.append(contentsOf: "\n")
        out.append(identity.encoded())
        out.append(contentsOf: "\n")
        return out
    }

    /// Every identity in the file. Like age, skips blank lines and `#` comments and rejects anything else
    /// that is not an X25519 identity; a file without any identity is an error too.
    public static func parse(_ text: SecretBytes) throws(AgeError) -> [X25519Identity] {
        let identities = try withBytes(of: text) { bytes throws(AgeError) in
            var identities: [X25519Identity] = []
            var lineNumber = 0
            for var line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.last == 0x0D { line = line.dropLast() }
                if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
                do {
                    identities.append(try X25519Identity(parsing: UnsafeRawBufferPointer(rebasing: line)))
                } catch {
                    throw .keyInvalid("identity file line \(lineNumber): \(error)")
                }
            }
            return identities
        }
        guard !identities.isEmpty else { throw .keyInvalid("no identities in the identity file") }
        return identities
    }
}
