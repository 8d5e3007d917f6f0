import Age
import TokendCore
import TokendPosix

/// Secrets in an age-encrypted file, for machines without a Secret Service.
///
/// `vault.age` is encrypted to an X25519 recipient; its identity lives in `identity.age`, encrypted with the
/// user's passphrase (scrypt) and written exactly like age-keygen output, so `age -d -i identity.age
/// vault.age` always recovers everything. While unlocked, the identity and the decrypted secrets are held in
/// secret memory; `lock` (or the idle timer) drops them. Every change rewrites the vault atomically and
/// durably under `vault.lock`. Calls come from the agent's single store thread.
public final class AgeFileStore: SecretStore, @unchecked Sendable {
    public let kind = StoreKind.file
    public let directory: String
    let kdfLogN: Int
    var identity: X25519Identity?
    var entries: [SecretName: StoredSecret] = [:]
    /// The vault file as last read or written; a different file on disk is reloaded before use.
    var loaded: FileStatus?
    var failedUnlocks = 0
    var unlockNotBefore = 0.0
    public private(set) var lastUse = ProcessControl.monotonicSeconds()

    public var identityPath: String { directory + "/identity.age" }
    public var vaultPath: String { directory + "/vault.age" }
    var lockPath: String { directory + "/vault.lock" }
    static let maxFileBytes = 256 * 1024 * 1024

    /// - Parameters:
    ///   - directory: `$XDG_DATA_HOME/tokend` by default.
    ///   - kdfLogN: scrypt's work factor for a new identity file (age's default, 18, unless tests ask less).
    public init(directory: String, kdfLogN: Int = 18) {
        self.directory = directory
        self.kdfLogN = kdfLogN
    }

    public static func defaultDirectory() -> String {
        if let data = ProcessControl.environment("XDG_DATA_HOME"), data.hasPrefix("/") { return data + "/tokend" }
        return (ProcessControl.environment("HOME") ?? "/") + "/.local/share/tokend"
    }

    var isInitialized: Bool { (try? FileStatus.of(identityPath)) != nil }

    public func state() -> StoreState {
        if identity != nil { return .ready }
        return isInitialized ? .locked : .notInitialized
    }

    /// The identity, or the error that explains why there is none.
    func unlockedIdentity() throws(TokendError) -> X25519Identity {
        lastUse = ProcessControl.monotonicSeconds()
        if let identity { return identity }
        if !isInitialized {
            throw TokendError(.notInitialized, "the encrypted file store is not set up yet: run 'tokend init'")
        }
        throw TokendError(.locked, "the vault is locked: run 'tokend unlock'")
    }

    // MARK: Reading and writing the files

    func readFile(_ path: String, what: String) throws(TokendError) -> [UInt8]? {
        do { return try AtomicFile.read(path, limit: AgeFileStore.maxFileBytes) } catch {
            throw TokendError(.storeUnavailable, "cannot read \(what) \(path): \(error)")
        }
    }

    /// Decrypts vault.age into `entries` (an absent vault is an empty one).
    func loadVault(_ identity: X25519Identity) throws(TokendError) {
        let before = (try? FileStatus.of(vaultPath))
        guard let file = try readFile(vaultPath, what: "the vault") else {
            entries = [:]
            loaded = nil
            return
        }
        let plaintext: SecretBytes
        do { plaintext = try AgeFile.decrypt(file, identities: [identity]) } catch {
            throw AgeFileStore.vaultError(error)
        }
        entries = try VaultFormat.decode(plaintext)
        plaintext.removeAll()
        loaded = before
    }

    static func vaultError(_ error: AgeError) -> TokendError {
        switch error {
        case .payloadTruncated:
            TokendError(.storeCorrupt, "vault.age is truncated; restore it from a backup")
        case .macMismatch, .payloadAuthenticationFailed, .payloadInvalid:
            TokendError(.storeCorrupt, "vault.age failed authentication: it is damaged or was altered (\(error))")
        case .noIdentityMatched:
            TokendError(.storeCorrupt, "vault.age is not encrypted to this store's identity")
        default:
            TokendError(.storeCorrupt, "vault.age is not a readable age file (\(error))")
        }
    }

    /// Picks up a vault changed on disk by someone else (another tool, a restore) before using it.
    func refresh(_ identity: X25519Identity) throws(TokendError) {
        if (try? FileStatus.of(vaultPath)) != loaded { try loadVault(identity) }
    }

    /// Runs `body` with vault.lock held, so that writers from several processes never interleave.
    func withWriteLock<T>(_ body: () throws(TokendError) -> T) throws(TokendError) -> T {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.openLockFile(lockPath) } catch {
            throw TokendError(.storeUnavailable, "cannot open \(lockPath): \(error)")
        }
        let deadline = ProcessControl.monotonicSeconds() + 5
        while true {
            let held: Bool
            do { held = try fd.lock(wait: false) } catch { throw TokendError(.storeUnavailable, "cannot lock \(lockPath): \(error)") }
            if held { break }
            if ProcessControl.monotonicSeconds() > deadline {
                throw TokendError(.timeout, "another process holds \(lockPath)")
            }
            ProcessControl.sleep(seconds: 0.01)
        }
        return try body()
    }

    /// Encrypts `candidate` and atomically replaces vault.age; `entries` changes only once that succeeded.
    func commit(_ candidate: [SecretName: StoredSecret], _ identity: X25519Identity) throws(TokendError) {
        let plaintext = VaultFormat.encode(candidate)
        defer { plaintext.removeAll() }
        let file: [UInt8]
        do { file = try AgeFile.encrypt(plaintext, to: [identity.recipient]) } catch {
            throw TokendError(.internalError, "cannot encrypt the vault: \(error)")
        }
        // What is written must be readable at the next start: the vault is read back with this cap.
        guard file.count <= AgeFileStore.maxFileBytes else {
            throw TokendError(
                .tooLarge, "the vault would grow past \(AgeFileStore.maxFileBytes / (1024 * 1024)) MiB, the most the agent reads back; nothing changed")
        }
        do { try AtomicFile.replace(vaultPath, with: file) } catch {
            throw TokendError(.storeUnavailable, "cannot write \(vaultPath): \(error); the previous vault is intact")
        }
        entries = candidate
        loaded = (try? FileStatus.of(vaultPath))
    }

    // MARK: SecretStore

    public func get(_ name: SecretName) throws(TokendError) -> StoredSecret {
        let identity = try unlockedIdentity()
        try refresh(identity)
        guard let secret = entries[name] else { throw TokendError.notFound(name) }
        return StoredSecret(value: secret.value.copy(), metadata: secret.metadata)
    }

    public func put(_ name: SecretName, value: SecretBytes, metadata: SecretMetadata) throws(TokendError) {
        let identity = try unlockedIdentity()
        try withWriteLock { () throws(TokendError) in
            try refresh(identity)
            var stored = metadata
            let now = Timestamp.now()
            stored.created = metadata.created ?? entries[name]?.metadata.created ?? now
            stored.updated = metadata.updated ?? now
            var candidate = entries
            candidate[name] = StoredSecret(value: value.copy(), metadata: stored)
            try commit(candidate, identity)
        }
    }

    public func remove(_ name: SecretName) throws(TokendError) -> Bool {
        let identity = try unlockedIdentity()
        return try withWriteLock { () throws(TokendError) -> Bool in
            try refresh(identity)
            guard entries[name] != nil else { return false }
            var candidate = entries
            candidate[name] = nil
            try commit(candidate, identity)
            return true
        }
    }

    public func list() throws(TokendError) -> [SecretInfo] {
        let identity = try unlockedIdentity()
        try refresh(identity)
        return entries.keys.sorted().map { SecretInfo(name: $0, metadata: entries[$0]!.metadata) }
    }

    public func initialize(passphrase: SecretBytes) throws(TokendError) {
        guard !isInitialized else {
            throw TokendError(.invalidRequest, "the encrypted file store already exists in \(directory)")
        }
        guard !passphrase.isEmpty else { throw TokendError(.invalidRequest, "the passphrase must not be empty") }
        try AtomicFile.makePrivateDirectory(directory)
        let fresh = X25519Identity.generate()
        let text = IdentityFile.render(fresh, created: Timestamp.now().description)
        defer { text.removeAll() }
        let protected: [UInt8]
        do { protected = try AgeFile.encrypt(text, passphrase: passphrase, logN: kdfLogN) } catch {
            throw TokendError(.internalError, "cannot protect the identity: \(error)")
        }
        try withWriteLock { () throws(TokendError) in
            do { try AtomicFile.replace(identityPath, with: protected) } catch {
                throw TokendError(.storeUnavailable, "cannot write \(identityPath): \(error)")
            }
            try commit(entries.isEmpty ? [:] : entries, fresh)
        }
        identity = fresh
    }

    public func unlock(passphrase: SecretBytes) throws(TokendError) {
        let now = ProcessControl.monotonicSeconds()
        if now < unlockNotBefore {
            throw TokendError(.rateLimited, "too many wrong passphrases; try again in \(Int(unlockNotBefore - now) + 1) s")
        }
        guard let file = try readFile(identityPath, what: "the identity") else {
            throw TokendError(.notInitialized, "the encrypted file store is not set up yet: run 'tokend init'")
        }
        let text: SecretBytes
        do { text = try AgeFile.decrypt(file, passphrase: passphrase) } catch {
            if error == .badPassphrase {
                failedUnlocks += 1
                // Two mistakes are free; from the second on, each doubles the wait before the next attempt, up
                // to 30 s. Nothing sleeps: other clients' requests are not held up.
                if failedUnlocks >= 2 {
                    unlockNotBefore = now + min(30, Double(1 << min(failedUnlocks - 2, 5)))
                }
                throw TokendError(.badPassphrase, "wrong passphrase for \(identityPath)")
            }
            throw TokendError(.storeCorrupt, "identity.age cannot be opened with a passphrase: \(error)")
        }
        defer { text.removeAll() }
        let identities: [X25519Identity]
        do { identities = try IdentityFile.parse(text) } catch {
            throw TokendError(.storeCorrupt, "identity.age does not hold an age identity: \(error)")
        }
        guard let first = identities.first else {
            throw TokendError(.storeCorrupt, "identity.age holds no AGE-SECRET-KEY line")
        }
        try loadVault(first)
        failedUnlocks = 0
        identity = first
        lastUse = ProcessControl.monotonicSeconds()
    }

    public func lock() throws(TokendError) {
        identity = nil
        entries = [:]
        loaded = nil
    }

    /// Locks when unused for `seconds`; true when it did.
    public func lockIfIdle(after seconds: Double) -> Bool {
        guard identity != nil, seconds > 0, ProcessControl.monotonicSeconds() - lastUse > seconds else { return false }
        identity = nil
        entries = [:]
        loaded = nil
        return true
    }
}
