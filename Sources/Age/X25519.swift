import TokendCore

/// An age X25519 public key, written `age1…` (Bech32, lower case).
public struct X25519Recipient: Hashable, Sendable, CustomStringConvertible {
    static let hrp = "age"
    let publicKey: [UInt8]

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    public init(parsing encoded: String) throws(AgeError) {
        let key = SecretBytes(capacity: 32)
        try withBytes(of: Array(encoded.utf8)) { text throws(AgeError) in
            try Bech32.decode(text, hrp: Self.hrp, into: key)
        }
        guard key.count == 32 else { throw .keyInvalid("an X25519 recipient holds 32 bytes") }
        publicKey = key.withUnsafeBytes { Array($0) }
    }

    public var encoded: String {
        let out = SecretBytes(capacity: 62)
        publicKey.withUnsafeBytes { Bech32.encode(hrp: Self.hrp, $0, into: out) }
        return out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    public var description: String { encoded }
}

/// An age X25519 secret key, written `AGE-SECRET-KEY-1…` (Bech32, upper case, as age-keygen writes it and
/// as the age CLI requires).
public struct X25519Identity: Sendable {
    static let hrp = "AGE-SECRET-KEY-"
    /// The 32 random bytes as age stores them, unclamped: X25519 clamps at each use.
    let secretKey: SecretBytes
    public let recipient: X25519Recipient

    private init(secretKey: SecretBytes) throws(AgeError) {
        guard let publicKey = Crypto.x25519PublicKey(secretKey) else { throw .cryptoFailure("X25519") }
        self.secretKey = secretKey
        recipient = X25519Recipient(publicKey: publicKey)
    }

    public static func generate() -> X25519Identity {
        do {
            return try X25519Identity(secretKey: Crypto.randomSecret(count: 32))
        } catch {
            fatalError("tokend: OpenSSL cannot compute an X25519 public key")
        }
    }

    public init(parsing encoded: SecretBytes) throws(AgeError) {
        try self.init(secretKey: withBytes(of: encoded) { text throws(AgeError) in try Self.decodeKey(text) })
    }

    /// Parses in place, for a line inside an identity file.
    init(parsing encoded: UnsafeRawBufferPointer) throws(AgeError) {
        try self.init(secretKey: Self.decodeKey(encoded))
    }

    private static func decodeKey(_ text: UnsafeRawBufferPointer) throws(AgeError) -> SecretBytes {
        let key = SecretBytes(capacity: 32)
        try Bech32.decode(text, hrp: hrp, into: key)
        guard key.count == 32 else { throw .keyInvalid("an X25519 identity holds 32 bytes") }
        return key
    }

    public func encoded() -> SecretBytes {
        let out = SecretBytes(capacity: 74)
        secretKey.withUnsafeBytes { Bech32.encode(hrp: Self.hrp, $0, into: out) }
        return out
    }
}

/// `-> X25519 <base64 ephemeral share>` with the file key wrapped under
/// HKDF(X25519(ephemeral, recipient), salt: share ‖ recipient, info: label).
struct X25519Stanza {
    static let type = "X25519"
    private static let label: StaticString = "age-encryption.org/v1/X25519"

    let share: [UInt8]
    let body: [UInt8]

    /// Checks everything that needs no key, so that a malformed stanza is a header error whoever decrypts.
    init(validating stanza: Stanza) throws(AgeError) {
        guard stanza.args.count == 1 else { throw .headerInvalid("X25519 stanza needs exactly one argument") }
        guard let share = Base64.decode(stanza.args[0], padded: false), share.count == 32 else {
            throw .headerInvalid("X25519 share is not 32 bytes of canonical base64")
        }
        // Checked before any AEAD: a body of another length is malformed, not merely someone else's.
        guard stanza.body.count == 32 else { throw .headerInvalid("X25519 stanza body is not 32 bytes") }
        self.share = share
        body = stanza.body
    }

    private static func wrapKey(_ shared: SecretBytes, share: [UInt8], recipient: X25519Recipient) throws(AgeError)
        -> SecretBytes
    {
        try Crypto.hkdf(key: shared, salt: share + recipient.publicKey, info: label)
    }

    static func wrap(_ fileKey: SecretBytes, to recipient: X25519Recipient) throws(AgeError) -> Stanza {
        let ephemeral = Crypto.randomSecret(count: 32)
        guard let share = Crypto.x25519PublicKey(ephemeral) else { throw .cryptoFailure("X25519") }
        guard let shared = Crypto.x25519(ephemeral, recipient.publicKey) else {
            throw .keyInvalid("the recipient is a low-order X25519 point")
        }
        let body = try ChaChaPoly.sealFileKey(fileKey, with: wrapKey(shared, share: share, recipient: recipient))
        return Stanza(type: type, args: [Base64.encode(share, padded: false)], body: body)
    }

    /// The file key, or nil if this stanza is for another key. A low-order share can never be opened by
    /// anyone, so it fails the whole header rather than being skipped.
    func unwrap(with identity: X25519Identity) throws(AgeError) -> SecretBytes? {
        guard let shared = Crypto.x25519(identity.secretKey, share) else {
            throw .headerInvalid("X25519 share is a low-order point")
        }
        return try ChaChaPoly.openFileKey(body, with: Self.wrapKey(shared, share: share, recipient: identity.recipient))
    }
}
