import Glibc
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
            path = "/tmp/tokend-\(geteuid())/agent.sock"
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
        if create, mkdir(directory, 0o700) != 0, errno != EEXIST {
            throw TokendError(.agentUnavailable, "cannot create socket directory \(directory): \(Errno.current)")
        }
        try AgentPaths.verifyPrivateDirectory(directory)
    }

    /// Refuses a directory that is a symlink, not a directory, owned by another user, or open to others.
    public static func verifyPrivateDirectory(_ path: String) throws(TokendError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw TokendError(.agentUnavailable, "socket directory \(path): \(Errno.current)")
        }
        if st.st_mode & S_IFMT == S_IFLNK {
            throw TokendError(.agentUnavailable, "socket directory \(path) is a symlink; refusing to use it")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw TokendError(.agentUnavailable, "socket directory \(path) is not a directory")
        }
        guard st.st_uid == geteuid() else {
            throw TokendError(
                .agentUnavailable, "socket directory \(path) is owned by uid \(st.st_uid), not by you (uid \(geteuid())); refusing to use it")
        }
        let mode = st.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw TokendError(
                .agentUnavailable,
                "socket directory \(path) has mode \(String(mode, radix: 8)); it must be 700 (fix: chmod 700 \(path))")
        }
    }

    /// Verifies that the socket, when it exists, is a socket of ours and not a symlink.
    public func verifySocket() throws(TokendError) {
        var st = stat()
        guard lstat(socket, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw TokendError(.agentUnavailable, "\(socket) exists and is not a socket; refusing to use it")
        }
        guard st.st_uid == geteuid() else {
            throw TokendError(.agentUnavailable, "socket \(socket) is owned by uid \(st.st_uid), not by you; refusing to use it")
        }
    }
}
