import TokendCore
import TokendPosix

/// One line per event on stderr: time, op, secret name, peer pid/uid/executable, outcome. Values never
/// reach it, and every line passes through `Redactor` as well.
public enum AuditLog {
    public static func event(op: String, name: String?, peer: Peer?, outcome: String) {
        var line = "\(Timestamp.now()) op=\(op)"
        if let name { line += " name=\(name)" }
        if let peer { line += " peer_pid=\(peer.pid) peer_uid=\(peer.uid) peer_exe=\(peer.executable ?? "?")" }
        line += " outcome=\(outcome)"
        write(line)
    }

    /// The log file grows by a line per request; past this size it is renamed to `.1` (replacing the previous
    /// one) and started afresh, so a flood of bad requests cannot fill `$XDG_RUNTIME_DIR`.
    static let maxLogBytes = 8 * 1024 * 1024

    /// Rotates `path` when it is this process's stderr and has grown past `maxLogBytes`.
    public static func rotateIfNeeded(_ path: String) {
        guard let onDisk = try? FileStatus.following(path), let stderr = try? FileDescriptor.standardError.status(),
            onDisk.isSameFile(as: stderr), onDisk.size > maxLogBytes
        else { return }
        do {
            try FileSystem.rename(path, to: path + ".1")
            try FileDescriptor.openForAppending(path).duplicate(onto: .standardError)
        } catch {
            notice("cannot rotate \(path): \(error)")
            return
        }
        notice("log rotated; the previous part is \(path).1")
    }

    /// A free-form notice (start, stop, store choice).
    public static func notice(_ text: String) { write("\(Timestamp.now()) \(text)") }

    static func write(_ line: String) {
        var text = Redactor.redact(line)
        text.append("\n")
        try? FileDescriptor.standardError.writeAll(text)
    }
}
