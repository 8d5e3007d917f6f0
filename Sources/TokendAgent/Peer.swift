import TokendPosix

/// A connected client, as the kernel vouches for it (SO_PEERCRED) plus its executable at connect time.
public struct Peer: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var executable: String?

    init(_ credentials: PeerCredentials) {
        pid = credentials.pid
        uid = credentials.uid
        executable = ProcessControl.executable(of: credentials.pid)
    }
}
