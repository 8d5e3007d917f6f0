import TokendCore

/// Where the agent's socket, lock file and log live, and the checks that make them safe to use: the
/// directory is ours, 0700 and not a symlink; the socket path fits in sun_path.
public struct AgentPaths: Sendable, Equatable {
    public let directory: String
    public let socket: String
    public var lock: String { socket + ".lock" }
    public var log: String { directory + "/agent.log" }

    public init(socket: String) {
        self.socket = socket
        let slash = socket.utf8.lastIndex(of: UInt8(ascii: "/"))
        directory = slash.map { $0 == socket.utf8.startIndex ? "/" : String(socket[..<$0]) } ?? "."
    }

    /// `--socket`, then `TOKEND_SOCKET`, then `$XDG_RUNTIME_DIR/tokend/agent.sock`, then
    /// `/tmp/tokend-UID/agent.sock`.
    public static func resolve(explicit: String? = nil) throws(TokendError) -> AgentPaths {
        let path: String
        if let explicit, !explicit.isEmpty {
            path = explicit
        } else if let env = ProcessControl.environment("TOKEND_SOCKET"), !env.isEmpty {
            path = env
        } else if let runtime = ProcessControl.environment("XDG_RUNTIME_DIR"), runtime.hasPrefix("/") {
            path = runtime + "/tokend/agent.sock"
        } else {
            path = "/tmp/tokend-\(ProcessControl.userID)/agent.sock"
        }
        guard path.hasPrefix("/") else {
            throw TokendError(.agentUnavailable, "socket path \(path) must be absolute")
        }
        guard path.utf8.count <= UnixSocket.maxPathBytes else {
            throw TokendError(
                .agentUnavailable,
                "socket path \(path) is \(path.utf8.count) bytes; a Unix socket path is limited to \(UnixSocket.maxPathBytes) bytes (sun_path is 108 with its NUL): choose a shorter --socket or TOKEND_SOCKET")
        }
        return AgentPaths(socket: path)
    }

    /// Creates the directory (0700) when `create` is set and it is missing, then verifies it.
    public func prepareDirectory(create: Bool) throws(TokendError) {
        if create {
            do { try FileSystem.makeDirectory(directory, permissions: 0o700) } catch {
                throw TokendError(.agentUnavailable, "cannot create socket directory \(directory): \(error)")
            }
        }
        try AgentPaths.verifyPrivateDirectory(directory)
    }

    /// Refuses a directory that is a symlink, not a directory, owned by another user, or open to others.
    public static func verifyPrivateDirectory(_ path: String) throws(TokendError) {
        switch PrivateDirectoryProblem.check(path) {
        case .success: return
        case .failure(.unreadable(let error)):
            throw TokendError(.agentUnavailable, "socket directory \(path): \(error)")
        case .failure(.symlink):
            throw TokendError(.agentUnavailable, "socket directory \(path) is a symlink; refusing to use it")
        case .failure(.notDirectory):
            throw TokendError(.agentUnavailable, "socket directory \(path) is not a directory")
        case .failure(.foreignOwner(let uid)):
            throw TokendError(
                .agentUnavailable,
                "socket directory \(path) is owned by uid \(uid), not by you (uid \(ProcessControl.userID)); refusing to use it")
        case .failure(.openToOthers(let permissions)):
            throw TokendError(
                .agentUnavailable,
                "socket directory \(path) has mode \(permissions); it must be 700 (fix: chmod 700 \(path))")
        }
    }

    /// Verifies that the socket, when it exists, is a socket of ours and not a symlink.
    public func verifySocket() throws(TokendError) {
        guard let status = try? FileStatus.of(socket) else { return }
        guard status.kind == .socket else {
            throw TokendError(.agentUnavailable, "\(socket) exists and is not a socket; refusing to use it")
        }
        guard status.owner == ProcessControl.userID else {
            throw TokendError(.agentUnavailable, "socket \(socket) is owned by uid \(status.owner), not by you; refusing to use it")
        }
    }
}
