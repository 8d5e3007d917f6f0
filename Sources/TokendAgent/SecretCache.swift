import Synchronization
import TokendCore
import TokendPosix
import TokendStores

/// Recently fetched secrets, so that a hot `get` is answered on the I/O thread without a store round trip.
/// Entries live in SecretBytes (locked, wiped on release) for at most `ttl` seconds; put, rm, lock and a
/// store error drop them. The file store keeps its secrets in memory already, so the cache is disabled for it.
final class SecretCache: Sendable {
    struct Entry: @unchecked Sendable {
        let secret: StoredSecret
        let fetched: Double
    }

    let ttl: Double
    let enabled: Atomic<Bool>
    private let entries = Mutex<[SecretName: Entry]>([:])

    init(ttl: Double, enabled: Bool) {
        self.ttl = ttl
        self.enabled = Atomic(enabled)
    }

    func lookup(_ name: SecretName) -> StoredSecret? {
        guard ttl > 0, enabled.load(ordering: .relaxed) else { return nil }
        let now = ProcessControl.monotonicSeconds()
        return entries.withLock { entries in
            guard let entry = entries[name] else { return nil }
            if now - entry.fetched > ttl {
                entries[name] = nil
                return nil
            }
            return entry.secret
        }
    }

    func store(_ name: SecretName, _ secret: StoredSecret) {
        guard ttl > 0, enabled.load(ordering: .relaxed) else { return }
        let entry = Entry(secret: secret, fetched: ProcessControl.monotonicSeconds())
        entries.withLock { $0[name] = entry }
    }

    func drop(_ name: SecretName) { _ = entries.withLock { $0.removeValue(forKey: name) } }
    func dropAll() { entries.withLock { $0.removeAll() } }
    var count: Int { entries.withLock { $0.count } }
}
