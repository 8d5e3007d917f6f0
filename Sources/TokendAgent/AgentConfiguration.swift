import TokendCore
import TokendPosix
import TokendStores

/// Everything the agent is told at start: flags first, then `TOKEND_*` variables, then defaults.
public struct AgentConfiguration: Sendable {
    public var paths: AgentPaths
    /// nil: choose automatically (the Secret Service when it answers and is unlocked, else the file store).
    public var store: StoreKind?
    /// The longest one store call may take, in seconds.
    public var storeTimeout: Double = 5
    /// How long a value fetched from the store is served from memory; 0 disables the cache.
    public var cacheTTL: Double = 60
    public var maxConnections = 4096
    /// What all connections together may hold in unfinished requests and unsent answers, in bytes; past it
    /// the connection holding the most is closed.
    public var bufferBudget = 256 * 1024 * 1024
    /// A connection with no request in progress is closed after this many seconds.
    public var idleTimeout: Double = 300
    /// A request line must be complete within this many seconds of its first byte.
    public var requestTimeout: Double = 10
    /// Token bucket per peer executable: burst size and refill per second.
    public var rateBurst: Double = 200
    public var ratePerSecond: Double = 100
    /// The file store locks itself after this many seconds without use (0: never).
    public var idleLock: Double = 900
    /// Where the encrypted file store keeps identity.age and vault.age.
    public var dataDirectory = AgeFileStore.defaultDirectory()
    /// scrypt's work factor (log2 N) for a new identity file; age's default.
    public var kdfLogN = 18
    /// Where a store chosen by `tokend migrate` is remembered (`store`), for `auto` mode.
    public var configDirectory: String = {
        if let config = ProcessControl.environment("XDG_CONFIG_HOME"), config.hasPrefix("/") { return config + "/tokend" }
        return (ProcessControl.environment("HOME") ?? "/") + "/.config/tokend"
    }()

    public init(paths: AgentPaths) { self.paths = paths }
}
