import Dispatch
import Glibc
import TokendCore
import TokendPosix
import TokendStores

/// Starts the agent in the foreground: hardens the process, takes the single-instance lock, chooses the
/// store and serves until SIGTERM/SIGINT or a `stop` request.
public enum Agent {
    public enum Result {
        case stopped
        case alreadyRunning
    }

    /// `passedListener` is a socket handed over by systemd (LISTEN_FDS); the agent then never unlinks it.
    public static func run(_ configuration: AgentConfiguration, passedListener: FileDescriptor? = nil) throws(TokendError)
        -> Result
    {
        ProcessControl.forbidCoreDumps()
        let signals: SignalDescriptor
        do { signals = try SignalDescriptor() } catch {
            throw TokendError(.internalError, "cannot set up signal handling: \(error)")
        }
        _ = ProcessControl.raiseOpenFileLimit(to: configuration.maxConnections + 64)

        let lock: FileDescriptor?
        let listener: FileDescriptor
        if let passedListener {
            lock = nil
            listener = passedListener
            do { try listener.setNonBlocking() } catch {
                throw TokendError(.agentUnavailable, "the socket passed by systemd is unusable: \(error)")
            }
        } else {
            switch try SingleInstance.acquire(configuration.paths) {
            case .alreadyRunning:
                return .alreadyRunning
            case .acquired(let heldLock, let boundListener):
                lock = heldLock
                listener = boundListener
            }
        }

        let (store, reason) = StoreSelection.choose(configuration)
        AuditLog.notice("tokend-agent \(agentVersion) pid \(ProcessControl.pid) listening on \(configuration.paths.socket); store \(store.kind.rawValue) (\(reason))")
        let stats = ServerStats()
        let handler = RequestHandler(
            store: store, storeReason: reason, cache: SecretCache(ttl: configuration.cacheTTL),
            policy: Policy(burst: configuration.rateBurst, perSecond: configuration.ratePerSecond), stats: stats)
        let server: Server
        do {
            server = try Server(
                configuration: configuration, listener: listener, handler: handler, stats: stats, signals: signals,
                ownsSocketFile: passedListener == nil)
        } catch {
            throw TokendError(.internalError, "cannot start the event loop: \(error)")
        }
        scheduleSweeps(server.storeQueue, handler)
        server.run()
        AuditLog.notice("tokend-agent pid \(ProcessControl.pid) stopped")
        withExtendedLifetime(lock) {}
        return .stopped
    }

    /// Expired secrets are purged at start and every ten minutes, on the store thread.
    static func scheduleSweeps(_ queue: DispatchQueue, _ handler: RequestHandler) {
        queue.async { handler.sweepExpired() }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 600, repeating: 600)
        timer.setEventHandler { handler.sweepExpired() }
        timer.resume()
        sweepTimer = UncheckedTimer(timer)
    }
    nonisolated(unsafe) static var sweepTimer: UncheckedTimer?
}

struct UncheckedTimer: @unchecked Sendable {
    let timer: DispatchSourceTimer
    init(_ timer: DispatchSourceTimer) { self.timer = timer }
}
