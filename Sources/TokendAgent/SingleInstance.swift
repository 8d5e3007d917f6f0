import TokendCore
import TokendPosix

/// One agent per user: the lock file is held for the agent's whole life. A socket left by a dead agent is
/// removed only while holding the lock, and a live one is never taken over.
struct SingleInstance {
    enum Outcome {
        /// `socketFile` is the socket file as created, to tell later that it is still the same one.
        case acquired(lock: FileDescriptor, listener: FileDescriptor, socketFile: FileStatus)
        /// Another agent holds the lock or answers on the socket.
        case alreadyRunning
    }

    static func acquire(_ paths: AgentPaths) throws(TokendError) -> Outcome {
        try paths.prepareDirectory(create: true)
        try paths.verifySocket()
        let lock: FileDescriptor
        do {
            lock = try FileDescriptor.openLockFile(paths.lock)
        } catch {
            throw TokendError(.agentUnavailable, "cannot open lock file \(paths.lock): \(error)")
        }
        // The holder either answers on the socket soon (it is starting, or running), or lost its socket file and
        // is about to stop (it checks every second): wait for whichever comes first, so that the command that
        // started this agent gets an answer instead of a time-out.
        let deadline = ProcessControl.monotonicSeconds() + 8
        while true {
            let held: Bool
            do { held = try lock.lock(wait: false) } catch {
                throw TokendError(.agentUnavailable, "cannot lock \(paths.lock): \(error)")
            }
            if held { break }
            if UnixSocket.isLive(paths.socket) || ProcessControl.monotonicSeconds() > deadline { return .alreadyRunning }
            ProcessControl.sleep(seconds: 0.02)
        }
        if UnixSocket.isLive(paths.socket) { return .alreadyRunning }
        do { try FileSystem.remove(paths.socket) } catch {
            throw TokendError(.agentUnavailable, "cannot remove stale socket \(paths.socket): \(error)")
        }
        let listener: FileDescriptor
        let socketFile: FileStatus
        do {
            // The socket is created 0600 (umask), not made so afterwards: no moment in which it is open.
            listener = try FileSystem.withUmask(0o077) { () throws(Errno) in try UnixSocket.listen(at: paths.socket) }
            try FileSystem.setPermissions(paths.socket, 0o600)
            socketFile = try FileStatus.of(paths.socket)
        } catch {
            throw TokendError(.agentUnavailable, "cannot listen on \(paths.socket): \(error)")
        }
        return .acquired(lock: lock, listener: listener, socketFile: socketFile)
    }
}
