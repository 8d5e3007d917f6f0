/// Why an age operation failed. Reasons are fixed phrases: they never carry key material, passphrases or
/// plaintext, so an error can be logged as is.
public enum AgeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header is malformed, or a stanza is invalid in a way that must abort decryption (wrong argument
    /// count, non-canonical base64, wrong length, a low-order X25519 share, a missing payload nonce…).
    case headerInvalid(String)
    /// A well-formed file that this implementation cannot read (another format version).
    case unsupported(String)
    /// An scrypt stanza asks for more work than the caller allows; scrypt was not run.
    case workFactorTooHigh
    /// The file key unwrapped but the header MAC does not match: the header was altered.
    case macMismatch
    /// None of the identities opens any stanza.
    case noIdentityMatched
    /// The scrypt stanza did not open with the passphrase.
    case badPassphrase
    /// The payload ends after a chunk that is not marked final.
    case payloadTruncated
    /// A payload chunk failed authentication (corrupted, reordered or cut inside the chunk).
    case payloadAuthenticationFailed(chunk: Int)
    /// The payload breaks a STREAM rule (data after the final chunk, an empty final chunk after data…).
    case payloadInvalid(String)
    /// The ASCII armor is malformed.
    case armorInvalid(String)
    /// An identity or recipient string (or an identity file line) is malformed.
    case keyInvalid(String)
    /// The caller passed something unusable (no recipients, an empty passphrase, a work factor out of range).
    case invalidArgument(String)
    /// An OpenSSL call failed where it should not.
    case cryptoFailure(String)

    public var description: String {
        switch self {
        case .headerInvalid(let reason): "invalid age header: \(reason)"
        case .unsupported(let what): "unsupported: \(what)"
        case .workFactorTooHigh: "scrypt work factor too high"
        case .macMismatch: "bad header MAC"
        case .noIdentityMatched: "no identity matched any of the recipients"
        case .badPassphrase: "incorrect passphrase"
        case .payloadTruncated: "the file is truncated"
        case .payloadAuthenticationFailed(let chunk): "failed to decrypt and authenticate payload chunk \(chunk)"
        case .payloadInvalid(let reason): "invalid payload: \(reason)"
        case .armorInvalid(let reason): "invalid armor: \(reason)"
        case .keyInvalid(let reason): "invalid key: \(reason)"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        case .cryptoFailure(let operation): "OpenSSL failure in \(operation)"
        }
    }
}
