import Synchronization
import TokendCore
import TokendPosix

/// The access decisions of the agent: same uid only (enforced at accept), a per-secret allow-list of
/// executables, expiry, and a token bucket per peer executable.
final class Policy: Sendable {
    struct Counters: Sendable {
        var grants = 0
        var denials = 0
        var rateLimited = 0
        var expired = 0
    }

    struct Bucket {
        var tokens: Double
        var last: Double
    }

    let burst: Double
    let perSecond: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private let counters = Mutex(Counters())

    init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    var snapshot: Counters { counters.withLock { $0 } }

    /// Takes one token from the peer's bucket; false when it is empty.
    func admit(_ peer: Peer) -> Bool {
        let key = peer.executable ?? "pid:\(peer.pid)"
        let now = ProcessControl.monotonicSeconds()
        let admitted = buckets.withLock { buckets -> Bool in
            var bucket = buckets[key] ?? Bucket(tokens: burst, last: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.last) * perSecond)
            bucket.last = now
            let ok = bucket.tokens >= 1
            if ok { bucket.tokens -= 1 }
            buckets[key] = bucket
            // Forget peers that have been quiet long enough to be full again, so the table stays small.
            if buckets.count > 4096 {
                buckets = buckets.filter { now - $0.value.last < burst / max(perSecond, 0.001) }
            }
            return ok
        }
        if !admitted { counters.withLock { $0.rateLimited += 1 } }
        return admitted
    }

    /// Whether `peer` may read a secret with `metadata`; counts the decision.
    func checkRead(_ name: SecretName, _ metadata: SecretMetadata, peer: Peer, now: Timestamp) throws(TokendError) {
        if metadata.isExpired(at: now) {
            counters.withLock { $0.expired += 1 }
            throw TokendError(.expired, "secret '\(name)' expired at \(metadata.expires!)")
        }
        if !metadata.allow.isEmpty {
            guard let exe = peer.executable, metadata.allow.contains(exe) else {
                counters.withLock { $0.denials += 1 }
                throw TokendError(.denied, "secret '\(name)' is not allowed for executable \(peer.executable ?? "unknown")")
            }
        }
        counters.withLock { $0.grants += 1 }
    }
}
