import TokendCore
import TokendPosix

/// Connecting, and starting the agent when none answers. Many clients may race here: each may spawn an
/// agent, the agents race for the lock file, exactly one binds the socket, the others exit, and every client
/// keeps trying to connect until that one answers.
public enum AutoStart {
    public static func connect(_ paths: AgentPaths, autoStart: Bool) throws(TokendError) -> FileDescriptor {
        if let fd = try attempt(paths) { return fd }
        guard autoStart else {
            throw TokendError(.agentUnavailable, "no agent is running on \(paths.socket)")
        }
        let agent = try start(paths)
        let deadline = ProcessControl.monotonicSeconds() + 10
        var pause = 0.002
        while ProcessControl.monotonicSeconds() < deadline {
            if let fd = try attempt(paths) { return fd }
            // An agent that lost the race to another one exits 0 and the winner answers soon; one that failed
            // exits non-zero, and waiting longer would only hide why.
            if let status = ProcessControl.exitStatus(of: agent), status != 0 {
                throw TokendError(.agentUnavailable, "tokend-agent exited with status \(status); see \(paths.log)")
            }
            ProcessControl.sleep(seconds: pause)
            pause = min(pause * 1.5, 0.05)
        }
        throw TokendError(.agentUnavailable, "started tokend-agent but it did not answer on \(paths.socket) within 10 s; see \(paths.log)")
    }

    /// A connection, or nil when nobody listens (no socket, or a stale one).
    static func attempt(_ paths: AgentPaths) throws(TokendError) -> FileDescriptor? {
        guard (try? FileStatus.of(paths.directory)) != nil else { return nil }
        try AgentPaths.verifyPrivateDirectory(paths.directory)
        try paths.verifySocket()
        do {
            return try UnixSocket.connect(to: paths.socket)
        } catch {
            if error == .notFound || error == .connectionRefused { return nil }
            throw TokendError(.agentUnavailable, "cannot connect to \(paths.socket): \(error)")
        }
    }

    /// The agent binary: `$TOKEND_AGENT`, else `tokend-agent` next to this executable, else on PATH.
    static func agentExecutable() -> String? {
        if let explicit = ProcessControl.environment("TOKEND_AGENT"), !explicit.isEmpty { return explicit }
        if let me = ProcessControl.readLink("/proc/self/exe"), let slash = me.lastIndex(of: "/") {
            let sibling = String(me[..<slash]) + "/tokend-agent"
            if FileSystem.isExecutable(sibling) { return sibling }
        }
        return FileSystem.findExecutable("tokend-agent")
    }

    static func start(_ paths: AgentPaths) throws(TokendError) -> Int32 {
        guard let agent = agentExecutable() else {
            throw TokendError(.agentUnavailable, "no agent is running and tokend-agent was not found next to tokend or on PATH")
        }
        try paths.prepareDirectory(create: true)
        do {
            return try ProcessControl.spawnDetached(
                agent, arguments: ["--foreground", "--socket", paths.socket], stderrPath: paths.log)
        } catch {
            throw TokendError(.agentUnavailable, "cannot start \(agent): \(error)")
        }
    }
}
