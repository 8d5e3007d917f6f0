import Glibc
import TokendCore
import TokendPosix

/// The listening socket systemd hands over (sd_listen_fds(3) semantics: LISTEN_PID must be this process,
/// LISTEN_FDS counts descriptors from 3). The variables are unset whatever they say, so that nothing this
/// agent might start inherits them and takes the socket for its own.
public enum SocketActivation {
    static let firstDescriptor: Int32 = 3

    /// The passed listener and the path it is bound to, or nil when this process was not socket-activated.
    public static func takeListener() throws(TokendError) -> (listener: FileDescriptor, path: String)? {
        let pidText = ProcessControl.environment("LISTEN_PID")
        let countText = ProcessControl.environment("LISTEN_FDS")
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
        guard let pidText, let countText, Int32(pidText) == getpid() else { return nil }
        guard countText == "1" else {
            throw TokendError(
                .agentUnavailable,
                "systemd passed \(countText) descriptors (LISTEN_FDS); tokend.socket must have exactly one ListenStream=")
        }
        let fd = firstDescriptor
        // systemd passes it without close-on-exec; nothing started from here may keep it.
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = try verifiedPath(fd)
        return (FileDescriptor(fd), path)
    }

    /// Checks that `fd` is a listening AF_UNIX stream socket bound to a path in a private directory of ours,
    /// and returns that path.
    static func verifiedPath(_ fd: Int32) throws(TokendError) -> String {
        func refuse(_ why: String) -> TokendError {
            TokendError(.agentUnavailable, "the socket passed by systemd (fd \(fd)) \(why)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { throw refuse("is not a socket") }
        var type: Int32 = 0
        var listening: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0, type == Int32(SOCK_STREAM.rawValue) else {
            throw refuse("is not a stream socket (use ListenStream=)")
        }
        size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 else {
            throw refuse("is not listening (Accept=yes is not supported)")
        }
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, address.sun_family == sa_family_t(AF_UNIX) else { throw refuse("is not a Unix socket") }
        let path = withUnsafeBytes(of: address.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        guard path.hasPrefix("/") else { throw refuse("is not bound to a path (abstract sockets are not supported)") }
        let paths = AgentPaths(socket: path)
        // The directory is what keeps other users away from the socket: systemd's DirectoryMode=0700.
        try AgentPaths.verifyPrivateDirectory(paths.directory)
        try paths.verifySocket()
        return path
    }
}
