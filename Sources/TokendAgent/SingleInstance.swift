import Glibc
import TokendCore
import TokendPosix

/// One agent per user: the lock file is held for the agent's whole life. A socket left by a dead agent is
/// removed only while holding the lock, and a live one is never taken over.
struct SingleInstance {
    enum Outcome {
        case acquired(lock: FileDescriptor, listener: FileDescriptor)
        /// Another agent holds the lock or answers on the socket.
        case alreadyRunning
    }

    static func acquire(_ paths: AgentPaths) throws(TokendError) -> Outcome {
        try paths.prepareDirectory(create: true)
        try paths.verifySocket()
        let lock: FileDescriptor
        do {
            lock = try FileDescriptor.open(paths.lock, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw TokendError(.agentUnavailable, "cannot open lock file \(paths.lock): \(error)")
        }
        let held: Bool
        do { held = try lock.lock(wait: false) } catch {
            throw TokendError(.agentUnavailable, "cannot lock \(paths.lock): \(error)")
        }
        guard held else { return .alreadyRunning }
        if UnixSocket.isLive(paths.socket) { return .alreadyRunning }
        if unlink(paths.socket) != 0 && errno != ENOENT {
            throw TokendError(.agentUnavailable, "cannot remove stale socket \(paths.socket): \(Errno.current)")
        }
        let previous = umask(0o077)
        defer { umask(previous) }
        let listener: FileDescriptor
        do { listener = try UnixSocket.listen(at: paths.socket) } catch {
            throw TokendError(.agentUnavailable, "cannot listen on \(paths.socket): \(error)")
        }
        chmod(paths.socket, 0o600)
        return .acquired(lock: lock, listener: listener)
    }
}
