import CLinux
import Glibc
import TokendCore

/// Who is on the other end of a Unix socket, from SO_PEERCRED.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

/// Stream sockets in the AF_UNIX family.
public enum UnixSocket {
    /// The longest path that fits in sockaddr_un.sun_path with its terminating NUL.
    public static let maxPathBytes = Int(TK_SUN_PATH_MAX) - 1

    public static func listen(at path: String, backlog: Int32 = 512) throws(Errno) -> FileDescriptor {
        let fd = FileDescriptor(try retrying { tk_socket_unix() })
        _ = try retrying { tk_bind_unix(fd.rawValue, path) }
        _ = try retrying { Glibc.listen(fd.rawValue, backlog) }
        try fd.setNonBlocking()
        return fd
    }

    public static func connect(to path: String) throws(Errno) -> FileDescriptor {
        let fd = FileDescriptor(try retrying { tk_socket_unix() })
        _ = try retrying { tk_connect_unix(fd.rawValue, path) }
        return fd
    }

    /// Accepts one pending connection (non-blocking, close-on-exec), or nil when none is pending.
    public static func accept(_ listener: FileDescriptor) throws(Errno) -> FileDescriptor? {
        while true {
            let fd = tk_accept(listener.rawValue)
            if fd >= 0 { return FileDescriptor(fd) }
            let e = Errno.current
            if e == .again || e == .wouldBlock { return nil }
            if e != .interrupted && e != Errno(ECONNABORTED) { throw e }
        }
    }

    public static func peer(_ fd: FileDescriptor) throws(Errno) -> PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try retrying { tk_peer_credentials(fd.rawValue, &pid, &uid, &gid) }
        return PeerCredentials(pid: pid, uid: uid, gid: gid)
    }

    /// Sets a receive/send timeout on a blocking socket so that a client never waits forever.
    public static func setTimeout(_ fd: FileDescriptor, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// What a socket handed to this process is, so it can be checked before use.
    public struct Description: Sendable, Equatable {
        public var isStream: Bool
        public var isListening: Bool
        /// The bound path for an AF_UNIX socket bound to one; "" for an unbound or abstract one; nil for
        /// another family.
        public var unixPath: String?
    }

    /// Describes `fd`, or nil when it is not a socket at all.
    public static func describe(_ fd: FileDescriptor) -> Description? {
        guard let status = try? fd.status(), status.kind == .socket else { return nil }
        func option(_ name: Int32) -> Int32? {
            var value: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd.rawValue, SOL_SOCKET, name, &value, &size) == 0 ? value : nil
        }
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.rawValue, $0, &length) }
        }
        var path: String?
        if named == 0 && address.sun_family == sa_family_t(AF_UNIX) {
            let text = withUnsafeBytes(of: address.sun_path) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            path = text.hasPrefix("/") ? text : ""
        }
        return Description(
            isStream: option(SO_TYPE) == Int32(SOCK_STREAM.rawValue), isListening: option(SO_ACCEPTCONN) == 1,
            unixPath: path)
    }

    /// Whether something accepts connections at `path` right now.
    public static func isLive(_ path: String) -> Bool {
        (try? connect(to: path)) != nil
    }
}
