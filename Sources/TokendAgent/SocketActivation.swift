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
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { ProcessControl.unsetEnvironment(name) }
        guard let pidText, let countText, Int32(pidText) == ProcessControl.pid else { return nil }
        guard countText == "1" else {
            throw TokendError(
                .agentUnavailable,
                "systemd passed \(countText) descriptors (LISTEN_FDS); tokend.socket must have exactly one ListenStream=")
        }
        let listener = FileDescriptor(firstDescriptor)
        // systemd passes it without close-on-exec; nothing started from here may keep it.
        try? listener.setCloseOnExec()
        return (listener, try verifiedPath(listener))
    }

    /// Checks that `fd` is a listening AF_UNIX stream socket bound to a path in a private directory of ours,
    /// and returns that path.
    static func verifiedPath(_ fd: FileDescriptor) throws(TokendError) -> String {
        func refuse(_ why: String) -> TokendError {
            TokendError(.agentUnavailable, "the socket passed by systemd (fd \(fd.rawValue)) \(why)")
        }
        guard let socket = UnixSocket.describe(fd) else { throw refuse("is not a socket") }
        guard socket.isStream else { throw refuse("is not a stream socket (use ListenStream=)") }
        guard socket.isListening else { throw refuse("is not listening (Accept=yes is not supported)") }
        guard let path = socket.unixPath else { throw refuse("is not a Unix socket") }
        guard !path.isEmpty else { throw refuse("is not bound to a path (abstract sockets are not supported)") }
        let paths = AgentPaths(socket: path)
        // The directory is what keeps other users away from the socket: systemd's DirectoryMode=0700.
        try AgentPaths.verifyPrivateDirectory(paths.directory)
        try paths.verifySocket()
        return path
    }
}
