import Glibc

/// Path operations, typed: each failure is an `Errno`.
public enum FileSystem {
    /// Removes a file; a file that is already gone is not an error.
    public static func remove(_ path: String) throws(Errno) {
        if unlink(path) != 0 && errno != ENOENT { throw Errno.current }
    }

    public static func rename(_ from: String, to: String) throws(Errno) {
        _ = try retrying { Glibc.rename(from, to) }
    }

    public static func setPermissions(_ path: String, _ mode: UInt32) throws(Errno) {
        _ = try retrying { chmod(path, mode_t(mode)) }
    }

    /// Creates one directory; an existing one is not an error (check it with `FileStatus`).
    public static func makeDirectory(_ path: String, permissions: UInt32) throws(Errno) {
        if mkdir(path, mode_t(permissions)) != 0 && errno != EEXIST { throw Errno.current }
    }

    /// The absolute path with every symlink, `.` and `..` resolved.
    public static func canonicalPath(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno.current }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// The first executable `name` in the directories of `$PATH` (or `fallback` when PATH is unset).
    public static func findExecutable(_ name: String, fallback: String = "/usr/local/bin:/usr/bin:/bin") -> String? {
        for dir in (ProcessControl.environment("PATH") ?? fallback).split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Runs `body` with the process umask set to `mask`, then restores it.
    public static func withUmask<T, E: Error>(_ mask: UInt32, _ body: () throws(E) -> T) throws(E) -> T {
        let previous = umask(mode_t(mask))
        defer { umask(previous) }
        return try body()
    }
}
