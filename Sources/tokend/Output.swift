import Glibc
import TokendCore

/// Writing to the terminal or pipes without Foundation: stdout for results, stderr for messages (which pass
/// through the redaction filter).
enum Output {
    static func out(_ text: String) { write(1, text) }
    static func err(_ text: String) { write(2, Redactor.redact(text)) }

    static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    /// Writes a secret's bytes exactly.
    static func write(_ fd: Int32, _ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { writeAll(fd, $0) }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}

/// How a command ends: an exit status and, for failures, a message.
struct CommandFailure: Error {
    var code: ExitCode
    var message: String

    init(_ code: ExitCode, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: TokendError) {
        code = error.code.exitCode
        message = error.message
    }

    static func usage(_ message: String) -> CommandFailure { CommandFailure(.usage, message) }
}
