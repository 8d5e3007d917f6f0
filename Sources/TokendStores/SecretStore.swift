import TokendCore

/// Which backend holds the secrets.
public enum StoreKind: String, Sendable, CaseIterable {
    case secretService = "secret-service"
    case file
}

/// What a store can do right now.
public enum StoreState: Sendable, Equatable {
    case ready
    case locked
    case notInitialized
    case unavailable(String)

    public var label: String {
        switch self {
        case .ready: "ready"
        case .locked: "locked"
        case .notInitialized: "not initialized"
        case .unavailable(let why): "unavailable (\(why))"
        }
    }
}

/// A secret as a store returns it.
public struct StoredSecret: @unchecked Sendable {
    public var value: SecretBytes
    public var metadata: SecretMetadata

    public init(value: SecretBytes, metadata: SecretMetadata) {
        self.value = value
        self.metadata = metadata
    }
}

/// A place where secrets live. Calls block (the agent runs them on its store thread, off the I/O path) and
/// fail with typed errors whose messages never contain a value.
public protocol SecretStore: AnyObject, Sendable {
    var kind: StoreKind { get }
    func state() -> StoreState
    func get(_ name: SecretName) throws(TokendError) -> StoredSecret
    /// Stores or replaces. `created` and `updated` are taken from `metadata` when set (a migration keeps
    /// them); otherwise `created` is kept from an existing secret of that name and `updated` is now.
    func put(_ name: SecretName, value: SecretBytes, metadata: SecretMetadata) throws(TokendError)
    /// Whether something was removed.
    func remove(_ name: SecretName) throws(TokendError) -> Bool
    func list() throws(TokendError) -> [SecretInfo]
    /// For stores with their own key (the file store); others answer `unsupported`.
    func unlock(passphrase: SecretBytes) throws(TokendError)
    func lock() throws(TokendError)
    func initialize(passphrase: SecretBytes) throws(TokendError)
}
