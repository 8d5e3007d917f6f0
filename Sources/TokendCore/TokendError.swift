/// The stable error codes of protocol v1. Each maps to one exit code of the CLI; the raw values are part of
/// the protocol and never change.
public enum ErrorCode: String, Sendable, CaseIterable {
    case notFound = "not_found"
    case locked = "locked"
    case notInitialized = "not_initialized"
    case badPassphrase = "bad_passphrase"
    case denied = "denied"
    case expired = "expired"
    case rateLimited = "rate_limited"
    case invalidRequest = "invalid_request"
    case invalidName = "invalid_name"
    case tooLarge = "too_large"
    case storeUnavailable = "store_unavailable"
    case storeCorrupt = "store_corrupt"
    case timeout = "timeout"
    case busy = "busy"
    case unsupported = "unsupported"
    /// Client side only: no agent could be reached or started (including an unsafe socket path).
    case agentUnavailable = "agent_unavailable"
    case internalError = "internal"

    /// The CLI's exit status for this error (documented in tokend(1)).
    public var exitCode: ExitCode {
        switch self {
        case .notFound: .notFound
        case .locked, .notInitialized, .badPassphrase: .locked
        case .storeUnavailable, .timeout, .busy, .storeCorrupt, .agentUnavailable: .unavailable
        case .denied, .expired, .rateLimited: .denied
        case .invalidRequest, .invalidName, .tooLarge, .unsupported: .invalid
        case .internalError: .failure
        }
    }
}

/// The CLI's exit statuses.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 2
    case notFound = 3
    case locked = 4
    case unavailable = 5
    case denied = 6
    case invalid = 7
}

/// A typed error with its code and a message for humans. Messages are built from fixed texts, names and
/// numbers only — never from a secret value — and pass through `Redactor` before they leave the process.
public struct TokendError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func notFound(_ name: SecretName) -> TokendError {
        TokendError(.notFound, "no secret named '\(name)'")
    }
    public static let tooLargeValue = TokendError(
        .tooLarge, "value exceeds the limit of \(Limits.maxValueBytes) bytes; nothing was stored")
}

/// Limits shared by the client and the agent.
public enum Limits {
    /// The largest value: exactly 1 MiB.
    public static let maxValueBytes = 1_048_576
    /// The longest request line: a maximal value in base64 plus room for the other fields.
    public static let maxLineBytes = Base64.encodedCount(maxValueBytes, padded: true) + 64 * 1024
    /// The longest response a client reads: a `list` grows with the number of secrets and their metadata.
    public static let maxResponseBytes = 64 * 1024 * 1024
    public static let maxNameBytes = 256
    public static let maxOwnerBytes = 256
    public static let maxNoteBytes = 1024
    public static let maxAllowEntries = 32
}
