import Glibc
import TokendCore

/// Durable replacement of a file: a temp file in the same directory, fsync, rename over the target, fsync of
/// the directory. Either the old content or the new content is on disk afterwards, never a mix, and once
/// `replace` returns the new content survives a crash or power loss. The temp file has one fixed name
/// (`PATH.tmp`), so callers serialize writers to a path (the vault's lock file does) and a temp file left by a
/// writer that was killed is simply overwritten by the next one, never piled up.
public enum AtomicFile {
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(Errno) {
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))!
        let directory = String(path[..<slash])
        let temp = path + ".tmp"
        do throws(Errno) {
            let fd = try FileDescriptor.open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: mode)
            let failure = bytes.withUnsafeBytes { b -> Errno? in
                do throws(Errno) { try fd.writeAll(b) } catch { return error }
                return nil
            }
            if let failure { throw failure }
            try fd.sync()
            fd.close()
            _ = try retrying { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
        let dir = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }

    /// The whole content of a file, or nil when it does not exist. A symlink is refused unless
    /// `followingSymlinks` (a dotfile may well be one).
    public static func read(_ path: String, limit: Int, followingSymlinks: Bool = false) throws(Errno) -> [UInt8]? {
        let fd: FileDescriptor
        do throws(Errno) { fd = try FileDescriptor.open(path, O_RDONLY | (followingSymlinks ? 0 : O_NOFOLLOW)) } catch {
            if error == .notFound { return nil }
            throw error
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let result = chunk.withUnsafeMutableBytes { b -> Result<Int, Errno> in
                do throws(Errno) { return .success(try fd.read(into: b)) } catch { return .failure(error) }
            }
            let n = try result.get()
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            if bytes.count > limit { throw Errno(EFBIG) }
        }
    }

    /// Creates a directory (and its parents) with mode 0700 for the last component, then checks it is a
    /// private directory of ours.
    public static func makePrivateDirectory(_ path: String) throws(TokendError) {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw TokendError(.storeUnavailable, "cannot create \(prefix): \(Errno.current)")
            }
        }
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw TokendError(.storeUnavailable, "\(path) is not a directory")
        }
        guard st.st_uid == geteuid() else {
            throw TokendError(.storeUnavailable, "\(path) is owned by uid \(st.st_uid), not by you")
        }
        if st.st_mode & 0o077 != 0 { chmod(path, 0o700) }
    }
}
