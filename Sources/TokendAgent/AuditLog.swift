import Glibc
import TokendCore

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
        var onDisk = stat()
        var stderrStat = stat()
        guard stat(path, &onDisk) == 0, fstat(2, &stderrStat) == 0, onDisk.st_ino == stderrStat.st_ino,
            onDisk.st_dev == stderrStat.st_dev, Int(onDisk.st_size) > maxLogBytes
        else { return }
        rename(path, path + ".1")
        let fresh = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fresh >= 0 else { return }
        dup2(fresh, 2)
        close(fresh)
        notice("log rotated; the previous part is \(path).1")
    }

    /// A free-form notice (start, stop, store choice).
    public static func notice(_ text: String) { write("\(Timestamp.now()) \(text)") }

    static func write(_ line: String) {
        var text = Redactor.redact(line)
        text.append("\n")
        text.withUTF8 { bytes in
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(2, bytes.baseAddress! + done, bytes.count - done)
                if n <= 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
    }
}
