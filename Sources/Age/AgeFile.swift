import TokendCore

/// Whole-file age v1 encryption and decryption (age-encryption.org/v1), readable and writable by the stock
/// `age` tool. Decryption returns plaintext only when everything authenticated; on any error nothing is
/// returned.
public enum AgeFile {
    public static func encrypt(_ plaintext: SecretBytes, to recipients: [X25519Recipient]) throws(AgeError) -> [UInt8] {
        guard !recipients.isEmpty else { throw .invalidArgument("no recipients") }
        let fileKey = Crypto.randomSecret(count: 16)
        var stanzas: [Stanza] = []
        for recipient in recipients { stanzas.append(try X25519Stanza.wrap(fileKey, to: recipient)) }
        return try seal(plaintext, fileKey: fileKey, stanzas: stanzas)
    }

    /// `logN` is the scrypt work factor (2^logN iterations, 2^logN KiB of memory), 1 to 22; age's default
    /// is 18, about a second here.
    public static func encrypt(_ plaintext: SecretBytes, passphrase: SecretBytes, logN: Int = 18) throws(AgeError)
        -> [UInt8]
    {
        guard !passphrase.isEmpty else { throw .invalidArgument("empty passphrase") }
        guard logN >= 1 else { throw .invalidArgument("scrypt work factor below 1") }
        guard logN <= ScryptStanza.maxLogN else { throw .workFactorTooHigh }
        let fileKey = Crypto.randomSecret(count: 16)
        let stanza = try ScryptStanza.wrap(fileKey, passphrase: passphrase, logN: logN)
        return try seal(plaintext, fileKey: fileKey, stanzas: [stanza])
    }

    /// Accepts binary or ASCII-armored files.
    public static func decrypt(_ file: [UInt8], identities: [X25519Identity]) throws(AgeError) -> SecretBytes {
        try open(file) { stanzas throws(AgeError) in
            for case .x25519(let stanza) in stanzas {
                for identity in identities {
                    if let fileKey = try stanza.unwrap(with: identity) { return fileKey }
                }
            }
            throw .noIdentityMatched
        }
    }

    /// Accepts binary or ASCII-armored files. Files asking for a work factor above `maxLogN` (1 to 30; the
    /// default is the reference implementation's ceiling) are refused before scrypt runs.
    public static func decrypt(_ file: [UInt8], passphrase: SecretBytes, maxLogN: Int = 22)
        throws(AgeError) -> SecretBytes
    {
        guard !passphrase.isEmpty else { throw .invalidArgument("empty passphrase") }
        guard (1...30).contains(maxLogN) else { throw .invalidArgument("maximum work factor outside 1...30") }
        return try open(file) { stanzas throws(AgeError) in
            // A scrypt stanza is always alone (checked with the header), so it is the first or absent.
            guard case .scrypt(let stanza)? = stanzas.first else { throw .noIdentityMatched }
            return try stanza.unwrap(passphrase: passphrase, maxLogN: maxLogN)
        }
    }

    private static func seal(_ plaintext: SecretBytes, fileKey: SecretBytes, stanzas: [Stanza]) throws(AgeError)
        -> [UInt8]
    {
        var file = try Header.encode(stanzas, fileKey: fileKey)
        try PayloadStream.seal(plaintext, fileKey: fileKey, appendingTo: &file)
        return file
    }

    /// Header, stanza validation, unwrap, MAC, payload: in this order, so that an error is reported at the
    /// earliest layer that fails.
    private static func open(_ file: [UInt8], unwrap: ([KnownStanza]) throws(AgeError) -> SecretBytes) throws(AgeError)
        -> SecretBytes
    {
        let binary = Armor.isArmored(file) ? try Armor.decode(file) : file
        return try withBytes(of: binary) { bytes throws(AgeError) in
            let header = try Header.parse(bytes)
            let fileKey = try unwrap(KnownStanza.validate(header.stanzas))
            try header.verifyMAC(fileKey: fileKey, in: bytes)
            return try PayloadStream.open(UnsafeRawBufferPointer(rebasing: bytes[header.count...]), fileKey: fileKey)
        }
    }
}

/// The stanza types this implementation reads; others are skipped, as the format requires.
enum KnownStanza {
    case x25519(X25519Stanza)
    case scrypt(ScryptStanza)

    /// Validates every known stanza before any is tried, so a malformed one fails the header whichever key
    /// is offered.
    static func validate(_ stanzas: [Stanza]) throws(AgeError) -> [KnownStanza] {
        var known: [KnownStanza] = []
        for stanza in stanzas {
            switch stanza.type {
            case X25519Stanza.type:
                known.append(.x25519(try X25519Stanza(validating: stanza)))
            case ScryptStanza.type:
                // The format requires it: a passphrase file must not also open with some other key, or the
                // passphrase would no longer tell who could have written it.
                guard stanzas.count == 1 else { throw .headerInvalid("an scrypt stanza must be the only stanza") }
                known.append(.scrypt(try ScryptStanza(validating: stanza)))
            default:
                continue
            }
        }
        return known
    }
}
