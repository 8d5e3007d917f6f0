import Synchronization
import TokendCore
import TokendPosix
import TokendProtocol
import TokendStores

public let agentVersion = "0.1.0"

/// Turns requests into responses. `answerFast` runs on the I/O thread and handles what needs no store call
/// (hello, a cached get, refusals); everything else goes through `answer` on the store thread.
final class RequestHandler: @unchecked Sendable {
    /// The store and why it was chosen; read and replaced (by `migrate`) on the store thread only.
    var store: SecretStore
    var storeReason: String
    let configuration: AgentConfiguration
    let cache: SecretCache
    let policy: Policy
    let started = Timestamp.now()
    let stats: ServerStats
    let stopRequested = Atomic<Bool>(false)

    init(store: SecretStore, storeReason: String, configuration: AgentConfiguration, cache: SecretCache, policy: Policy,
         stats: ServerStats)
    {
        self.store = store
        self.storeReason = storeReason
        self.configuration = configuration
        self.cache = cache
        self.policy = policy
        self.stats = stats
    }

    /// Answers on the I/O thread when possible; false means "send it to the store thread".
    func answerFast(_ request: Request, peer: Peer, into out: SecretBytes) -> Bool {
        switch request.op {
        case .hello:
            if !request.versions.isEmpty && !request.versions.contains(ProtocolVersion.current) {
                reply(request, peer, .failure(TokendError(.unsupported, "this agent speaks protocol \(ProtocolVersion.current) only")), into: out)
                return true
            }
            ResponseEncoder.ok(id: request.id, into: out) { w in
                w.field("version", Int64(ProtocolVersion.current))
                w.key("protocols"); w.beginArray(); for v in ProtocolVersion.supported { w.int(Int64(v)) }; w.endArray()
                w.field("agent", "tokend-agent \(agentVersion)")
                w.field("pid", Int64(getpidValue()))
            }
            return true
        case .stop:
            AuditLog.event(op: "stop", name: nil, peer: peer, outcome: "ok")
            ResponseEncoder.ok(id: request.id, into: out)
            stopRequested.store(true, ordering: .relaxed)
            return true
        case .get:
            guard policy.admit(peer) else {
                reply(request, peer, .failure(rateLimited), into: out)
                return true
            }
            guard let name = request.name, let cached = cache.lookup(name) else { return false }
            serveGet(request, name, cached, peer: peer, into: out)
            return true
        default:
            return false
        }
    }

    var rateLimited: TokendError {
        TokendError(.rateLimited, "too many requests from this executable (limit \(Int(policy.perSecond))/s, burst \(Int(policy.burst)))")
    }

    /// Answers on the store thread.
    func answer(_ request: Request, peer: Peer, into out: SecretBytes) {
        do throws(TokendError) {
            switch request.op {
            case .get:
                let name = request.name!
                let secret: StoredSecret
                do { secret = try store.get(name) } catch {
                    if error.code != .notFound { cache.dropAll() }
                    throw error
                }
                if secret.metadata.isExpired(at: .now()) { purgeExpired(name) }
                cache.store(name, secret)
                serveGet(request, name, secret, peer: peer, into: out)
                return
            case .info:
                let name = request.name!
                let secret = try store.get(name)
                reply(request, peer, .success { w in
                    w.field("name", name.value)
                    ResponseEncoder.metadata(secret.metadata, into: &w)
                }, into: out)
            case .put:
                let name = request.name!
                if let expires = request.expires, expires <= .now() {
                    throw TokendError(.invalidRequest, "expires is in the past")
                }
                cache.drop(name)
                try store.put(name, value: request.value!, metadata: request.metadata)
                reply(request, peer, .success { w in w.field("name", name.value) }, into: out)
            case .update:
                // Metadata only: the value is kept. A field that is absent stays as it was; an empty owner or
                // note, or an empty allow list, clears it.
                let name = request.name!
                let current = try store.get(name)
                var metadata = current.metadata
                if let owner = request.owner { metadata.owner = owner.isEmpty ? nil : owner }
                if let note = request.note { metadata.note = note.isEmpty ? nil : note }
                if let expires = request.expires { metadata.expires = expires }
                if let allow = request.allow { metadata.allow = allow }
                metadata.updated = nil
                cache.drop(name)
                try store.put(name, value: current.value, metadata: metadata)
                reply(request, peer, .success { w in
                    w.field("name", name.value)
                    ResponseEncoder.metadata(metadata, into: &w)
                }, into: out)
            case .rm:
                if let name = request.name {
                    cache.drop(name)
                    guard try store.remove(name) else { throw TokendError.notFound(name) }
                    reply(request, peer, .success { w in w.field("removed", Int64(1)) }, into: out)
                } else {
                    let owner = request.owner!
                    var removed: [String] = []
                    for info in try store.list() where info.metadata.owner == owner {
                        cache.drop(info.name)
                        if try store.remove(info.name) { removed.append(info.name.value) }
                    }
                    reply(request, peer, .success { w in
                        w.field("removed", Int64(removed.count))
                        w.key("names"); w.beginArray(); for n in removed { w.string(n) }; w.endArray()
                    }, into: out)
                }
            case .list:
                let now = Timestamp.now()
                let items = try store.list().filter { info in
                    (request.prefix.map { info.name.hasPrefix($0) } ?? true)
                        && (request.owner.map { info.metadata.owner == $0 } ?? true) && !info.metadata.isExpired(at: now)
                }
                reply(request, peer, .success { w in
                    w.key("items")
                    w.beginArray()
                    for item in items {
                        w.beginObject()
                        w.field("name", item.name.value)
                        ResponseEncoder.metadata(item.metadata, into: &w)
                        w.endObject()
                    }
                    w.endArray()
                }, into: out)
            case .status:
                let state = store.state()
                let counters = policy.snapshot
                let memory = SecureMemory.stats
                let limit = ProcessControl.memlockLimit
                reply(request, peer, .success { [self] w in
                    w.field("agent", "tokend-agent \(agentVersion)")
                    w.field("version", Int64(ProtocolVersion.current))
                    w.field("pid", Int64(getpidValue()))
                    w.field("started", started.description)
                    w.field("store", store.kind.rawValue)
                    w.field("store_reason", storeReason)
                    w.field("store_state", state.label)
                    if let file = store as? AgeFileStore { w.field("store_path", file.vaultPath) }
                    w.field("connections", Int64(stats.connections.load(ordering: .relaxed)))
                    w.field("requests", Int64(stats.requests.load(ordering: .relaxed)))
                    w.field("cached", Int64(cache.count))
                    w.field("grants", Int64(counters.grants))
                    w.field("denials", Int64(counters.denials))
                    w.field("rate_limited", Int64(counters.rateLimited))
                    w.field("expired", Int64(counters.expired))
                    w.field("memory_locked", memory.lockFailures == 0)
                    w.field("memlock_limit", limit.map { Int64($0) } ?? -1)
                    w.field("dumpable", ProcessControl.isDumpable)
                }, into: out)
            case .lock:
                cache.dropAll()
                try store.lock()
                reply(request, peer, .success { _ in }, into: out)
            case .unlock:
                try store.unlock(passphrase: request.passphrase!)
                reply(request, peer, .success { _ in }, into: out)
                // A vault that was locked at start could not be swept then.
                sweepExpired()
            case .initialize:
                try store.initialize(passphrase: request.passphrase!)
                reply(request, peer, .success { _ in }, into: out)
            case .migrate:
                let count = try migrate(to: StoreKind(rawValue: request.to!)!, passphrase: request.passphrase)
                reply(request, peer, .success { [self] w in
                    w.field("migrated", Int64(count))
                    w.field("store", store.kind.rawValue)
                }, into: out)
            case .hello, .stop:
                _ = answerFast(request, peer: peer, into: out)
            }
        } catch {
            reply(request, peer, .failure(error), into: out)
        }
    }

    /// Copies every secret with its metadata to the other store, verifies each copy, and only then removes
    /// the originals; interrupted, it can run again without loss (copies are overwritten, originals are still
    /// there). The agent then uses the new store and remembers it for `auto` mode.
    func migrate(to kind: StoreKind, passphrase: SecretBytes?) throws(TokendError) -> Int {
        guard kind != store.kind else { throw TokendError(.invalidRequest, "the agent already uses the \(kind.rawValue) store") }
        let source = store
        let destination = StoreSelection.make(kind, configuration)
        if case .unavailable(let why) = destination.state() {
            throw TokendError(.storeUnavailable, "the \(kind.rawValue) store is unavailable: \(why)")
        }
        if let file = destination as? AgeFileStore {
            guard let passphrase else { throw TokendError(.invalidRequest, "migrating to the file store needs its passphrase") }
            if file.state() == .notInitialized { try file.initialize(passphrase: passphrase) } else { try file.unlock(passphrase: passphrase) }
        } else if destination.state() == .locked {
            throw TokendError(.locked, "the Secret Service default collection is locked")
        }
        let items = try source.list()
        for item in items {
            let secret = try source.get(item.name)
            try destination.put(item.name, value: secret.value, metadata: secret.metadata)
            let copy = try destination.get(item.name)
            guard copy.value.constantTimeEquals(secret.value), copy.metadata == secret.metadata else {
                throw TokendError(.internalError, "the copy of '\(item.name)' in the \(kind.rawValue) store does not match; nothing was removed")
            }
        }
        for item in items { _ = try source.remove(item.name) }
        cache.dropAll()
        store = destination
        storeReason = "migrated from \(source.kind.rawValue)"
        cache.enabled.store(kind == .secretService, ordering: .relaxed)
        try StoreSelection.remember(kind, configuration)
        AuditLog.notice("migrated \(items.count) secrets from \(source.kind.rawValue) to \(kind.rawValue)")
        return items.count
    }

    func serveGet(_ request: Request, _ name: SecretName, _ secret: StoredSecret, peer: Peer, into out: SecretBytes) {
        do {
            try policy.checkRead(name, secret.metadata, peer: peer, now: .now())
        } catch {
            if error.code == .expired { cache.drop(name) }
            reply(request, peer, .failure(error), into: out)
            return
        }
        reply(request, peer, .success { w in
            w.field("name", name.value)
            w.key("value_b64"); w.base64(secret.value)
            ResponseEncoder.metadata(secret.metadata, into: &w)
        }, into: out)
    }

    /// Removes an expired secret; a failure is left to the next sweep.
    func purgeExpired(_ name: SecretName) {
        cache.drop(name)
        if (try? store.remove(name)) == true {
            AuditLog.event(op: "purge", name: name.value, peer: nil, outcome: "expired")
        }
    }

    /// Removes every expired secret (at start and periodically).
    func sweepExpired() {
        guard let items = try? store.list() else { return }
        let now = Timestamp.now()
        for item in items where item.metadata.isExpired(at: now) { purgeExpired(item.name) }
    }

    enum Outcome {
        case success((inout JSONWriter) -> Void)
        case failure(TokendError)
    }

    /// Writes the response and its audit line.
    func reply(_ request: Request, _ peer: Peer, _ outcome: Outcome, into out: SecretBytes) {
        switch outcome {
        case .success(let body):
            ResponseEncoder.ok(id: request.id, into: out, body)
            if request.op != .hello && request.op != .status {
                AuditLog.event(op: request.op.rawValue, name: request.name?.value ?? request.owner.map { "owner:\($0)" }, peer: peer, outcome: "ok")
            }
        case .failure(let error):
            ResponseEncoder.error(id: request.id, error, into: out)
            AuditLog.event(op: request.op.rawValue, name: request.name?.value, peer: peer, outcome: error.code.rawValue)
        }
    }
}

func getpidValue() -> Int32 { ProcessControl.pid }
