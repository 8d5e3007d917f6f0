import Dispatch
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
        var configuration = configuration
        ProcessControl.forbidCoreDumps()
        ProcessControl.returnLargeBlocksToTheKernel()
        let signals: SignalDescriptor
        do { signals = try SignalDescriptor() } catch {
            throw TokendError(.internalError, "cannot set up signal handling: \(error)")
        }
        // Every connection is a descriptor, besides the agent's own few (lock, log, vault, epoll, D-Bus…): a
        // cap the descriptor limit cannot hold would turn into accept failures instead of a clear `busy`.
        let ownDescriptors = 64
        let limit = ProcessControl.raiseOpenFileLimit(to: configuration.maxConnections + ownDescriptors)
        if limit - ownDescriptors < configuration.maxConnections {
            configuration.maxConnections = max(1, limit - ownDescriptors)
            AuditLog.notice("RLIMIT_NOFILE is \(limit): serving at most \(configuration.maxConnections) connections at once")
        }

        let lock: FileDescriptor?
        let listener: FileDescriptor
        let socketFile: FileStatus?
        if let passedListener {
            lock = nil
            socketFile = nil
            listener = passedListener
            do { try listener.setNonBlocking() } catch {
                throw TokendError(.agentUnavailable, "the socket passed by systemd is unusable: \(error)")
            }
        } else {
            switch try SingleInstance.acquire(configuration.paths) {
            case .alreadyRunning:
                return .alreadyRunning
            case .acquired(let heldLock, let boundListener, let created):
                lock = heldLock
                listener = boundListener
                socketFile = created
            }
        }

        let (store, reason) = StoreSelection.choose(configuration)
        AuditLog.notice("tokend-agent \(agentVersion) pid \(ProcessControl.pid) listening on \(configuration.paths.socket); store \(store.kind.rawValue) (\(reason))")
        let stats = ServerStats()
        let handler = RequestHandler(
            store: store, storeReason: reason, configuration: configuration,
            cache: SecretCache(ttl: configuration.cacheTTL, enabled: store.kind == .secretService),
            policy: Policy(burst: configuration.rateBurst, perSecond: configuration.ratePerSecond), stats: stats)
        let server: Server
        do {
            server = try Server(
                configuration: configuration, listener: listener, handler: handler, stats: stats, signals: signals,
                socketFile: socketFile)
        } catch {
            throw TokendError(.internalError, "cannot start the event loop: \(error)")
        }
        server.store.queue.async { unlockWithCredential(handler) }
        scheduleSweeps(server.store.queue, handler, idleLock: configuration.idleLock)
        server.run()
        AuditLog.notice("tokend-agent pid \(ProcessControl.pid) stopped")
        withExtendedLifetime(lock) {}
        return .stopped
    }

    /// Expired secrets are purged at start and every ten minutes; an unused vault is locked after
    /// `idleLock` seconds. Both run on the store thread.
    static func scheduleSweeps(_ queue: DispatchQueue, _ handler: RequestHandler, idleLock: Double) {
        queue.async { handler.sweepExpired() }
        let sweep = DispatchSource.makeTimerSource(queue: queue)
        sweep.schedule(deadline: .now() + 600, repeating: 600)
        sweep.setEventHandler { handler.sweepExpired() }
        sweep.resume()
        let idle = DispatchSource.makeTimerSource(queue: queue)
        let period = max(0.5, min(15, idleLock / 4))
        idle.schedule(deadline: .now() + period, repeating: period)
        idle.setEventHandler {
            if let file = handler.store as? AgeFileStore, file.lockIfIdle(after: idleLock) {
                AuditLog.notice("vault locked after \(Int(idleLock)) s without use")
            }
        }
        idle.resume()
        timers = [UncheckedTimer(sweep), UncheckedTimer(idle)]
    }
    nonisolated(unsafe) static var timers: [UncheckedTimer] = []

    /// Unattended start under systemd: `LoadCredential=tokend.passphrase:…` puts the passphrase in
    /// `$CREDENTIALS_DIRECTORY/tokend.passphrase`, and the file store is unlocked with it.
    static func unlockWithCredential(_ handler: RequestHandler) {
        guard handler.store.kind == .file, let directory = ProcessControl.environment("CREDENTIALS_DIRECTORY") else { return }
        let path = directory + "/tokend.passphrase"
        guard let fd = try? FileDescriptor.openForReading(path) else { return }
        let passphrase = SecretBytes(capacity: 256)
        defer { passphrase.removeAll() }
        guard (try? fd.readAll(into: passphrase, limit: 4096)) == true else {
            AuditLog.notice("credential \(path) is unreadable or longer than 4096 bytes; not used")
            return
        }
        if passphrase.count > 0 && passphrase[passphrase.count - 1] == 0x0A { passphrase.truncate(to: passphrase.count - 1) }
        do {
            try handler.store.unlock(passphrase: passphrase)
            AuditLog.notice("vault unlocked with credential \(path)")
        } catch {
            AuditLog.notice("credential \(path) did not unlock the vault: \(error.message)")
        }
    }
}

struct UncheckedTimer: @unchecked Sendable {
    let timer: DispatchSourceTimer
    init(_ timer: DispatchSourceTimer) { self.timer = timer }
}
