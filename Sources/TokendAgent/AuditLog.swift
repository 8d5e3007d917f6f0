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
