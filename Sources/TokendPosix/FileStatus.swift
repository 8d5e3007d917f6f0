import Glibc

/// What lstat(2) or fstat(2) says about a file: its kind, permission bits, owner and identity.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symlink, socket, other }

    public let kind: Kind
    /// The permission bits (mode & 07777).
    public let permissions: UInt32
    public let owner: UInt32
    public let device: UInt64
    public let inode: UInt64
    public let size: Int64
    public let modifiedSeconds: Int
    public let modifiedNanoseconds: Int

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFSOCK: kind = .socket
        default: kind = .other
        }
        permissions = UInt32(st.st_mode & 0o7777)
        owner = st.st_uid
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modifiedSeconds = st.st_mtim.tv_sec
        modifiedNanoseconds = st.st_mtim.tv_nsec
    }

    /// The file at `path` itself: a symlink is reported as one, never followed.
    public static func of(_ path: String) throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retrying { lstat(path, &st) }
        return FileStatus(st)
    }

    /// The file at `path` after following symlinks.
    public static func following(_ path: String) throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retrying { stat(path, &st) }
        return FileStatus(st)
    }

    /// The permission bits in octal, as chmod takes them (`700`).
    public var permissionsText: String { String(permissions, radix: 8) }

    /// Whether any group or other permission bit is set.
    public var isOpenToOthers: Bool { permissions & 0o077 != 0 }

    /// The same file (device and inode), whatever its content.
    public func isSameFile(as other: FileStatus) -> Bool { device == other.device && inode == other.inode }
}

extension FileDescriptor {
    public func status() throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retrying { fstat(rawValue, &st) }
        return FileStatus(st)
    }
}
