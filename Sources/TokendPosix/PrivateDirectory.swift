import Glibc

/// Why a directory cannot keep other users out: the agent refuses it, and `tokend doctor` explains it.
public enum PrivateDirectoryProblem: Error, Sendable, Equatable {
    case unreadable(Errno)
    case symlink
    case notDirectory
    case foreignOwner(uid: UInt32)
    case openToOthers(permissions: String)

    /// Checks with lstat that `path` is a directory (not a symlink), owned by this user, with no group or
    /// other permission bits. Returns its status when it is.
    public static func check(_ path: String) -> Result<FileStatus, PrivateDirectoryProblem> {
        let status: FileStatus
        do { status = try FileStatus.of(path) } catch { return .failure(.unreadable(error)) }
        if status.kind == .symlink { return .failure(.symlink) }
        guard status.kind == .directory else { return .failure(.notDirectory) }
        guard status.owner == ProcessControl.userID else { return .failure(.foreignOwner(uid: status.owner)) }
        guard !status.isOpenToOthers else { return .failure(.openToOthers(permissions: status.permissionsText)) }
        return .success(status)
    }
}
