import TokendCore

/// `-> scrypt <base64 16-byte salt> <logN>` with the file key wrapped under
/// scrypt(passphrase, salt: label ‖ salt, N: 2^logN, r: 8, p: 1).
struct ScryptStanza {
    static let type = "scrypt"
    private static let saltLabel = Array("age-encryption.org/v1/scrypt".utf8)
    /// The reference implementation's ceiling: 2^22 × 1 KiB = 4 GiB of memory and several seconds.
    static let maxLogN = 22

    let salt: [UInt8]
    let logN: Int
    let body: [UInt8]

    /// Checks everything that needs no passphrase, so that a malformed stanza is a header error.
    init(validating stanza: Stanza) throws(AgeError) {
        guard stanza.args.count == 2 else { throw .headerInvalid("scrypt stanza needs exactly two arguments") }
        guard let salt = Base64.decode(stanza.args[0], padded: false), salt.count == 16 else {
            throw .headerInvalid("scrypt salt is not 16 bytes of canonical base64")
        }
        guard let logN = Self.parseLogN(stanza.args[1]) else {
            throw .headerInvalid("scrypt work factor is not a decimal number without leading zeros")
        }
        guard stanza.body.count == 32 else { throw .headerInvalid("scrypt stanza body is not 32 bytes") }
        self.salt = salt
        self.logN = logN
        body = stanza.body
    }

    /// Only `[1-9][0-9]*`: no sign, no leading zero, no other base.
    private static func parseLogN(_ text: String) -> Int? {
        let digits = Array(text.utf8)
        guard let first = digits.first, (0x31...0x39).contains(first), digits.allSatisfy({ (0x30...0x39).contains($0) })
        else { return nil }
        // Saturates instead of overflowing: any value this large fails the work-factor cap anyway.
        return digits.reduce(0) { min($0 * 10 + Int($1 - 0x30), 1_000) }
    }

    static func wrap(_ fileKey: SecretBytes, passphrase: SecretBytes, logN: Int) throws(AgeError) -> Stanza {
        let salt = Crypto.randomBytes(count: 16)
        let key = try Crypto.scrypt(passphrase: passphrase, salt: saltLabel + salt, logN: logN)
        let body = try ChaChaPoly.sealFileKey(fileKey, with: key)
        return Stanza(type: type, args: [Base64.encode(salt, padded: false), String(logN)], body: body)
    }

    func unwrap(passphrase: SecretBytes, maxLogN: Int) throws(AgeError) -> SecretBytes {
        // The work factor is chosen by whoever wrote the file, and each step doubles time and memory: refuse
        // before running scrypt.
        guard logN <= maxLogN else { throw .workFactorTooHigh }
        let key = try Crypto.scrypt(passphrase: passphrase, salt: Self.saltLabel + salt, logN: logN)
        guard let fileKey = try ChaChaPoly.openFileKey(body, with: key) else { throw .badPassphrase }
        return fileKey
    }
}
