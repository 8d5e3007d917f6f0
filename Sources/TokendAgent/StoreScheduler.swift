import Dispatch
import Synchronization
import TokendProtocol

/// The store thread's requests in two lanes. Every store call runs on one serial queue (stores are not
/// thread-safe, and a file-store write re-encrypts the whole vault), so a client that pipelines writes would
/// otherwise make every read wait for all of them. Reads go first; after `readsBeforeAWrite` reads in a row a
/// waiting write gets its turn, so neither lane starves. Each client has one request in flight at a time, so
/// no client's own requests are reordered.
final class StoreScheduler: Sendable {
    /// The serial queue itself, for the agent's own timers and start-up work.
    let queue = DispatchQueue(label: "tokend.store")
    static let readsBeforeAWrite = 8

    private struct Lanes {
        var reads: [@Sendable () -> Void] = []
        var writes: [@Sendable () -> Void] = []
        var readsInARow = 0
    }
    private let lanes = Mutex(Lanes())

    func submit(read: Bool, _ job: @escaping @Sendable () -> Void) {
        lanes.withLock { read ? $0.reads.append(job) : $0.writes.append(job) }
        // One turn per job: whichever job the lanes pick when the turn comes runs in it.
        queue.async { [self] in next()() }
    }

    private func next() -> @Sendable () -> Void {
        lanes.withLock { lanes in
            if !lanes.reads.isEmpty && (lanes.writes.isEmpty || lanes.readsInARow < StoreScheduler.readsBeforeAWrite) {
                lanes.readsInARow += 1
                return lanes.reads.removeFirst()
            }
            lanes.readsInARow = 0
            return lanes.writes.removeFirst()
        }
    }
}

extension Op {
    /// Ops that only read the store (a get may still purge an expired secret, as any op on the queue may).
    var onlyReads: Bool {
        switch self {
        case .get, .info, .list, .status, .hello: true
        case .put, .update, .rm, .stop, .initialize, .lock, .unlock, .migrate: false
        }
    }
}
