import TokendCore
import TokendPosix

/// Writing to the terminal or pipes without Foundation: stdout for results, stderr for messages (which pass
/// through the redaction filter).
enum Output {
    static func out(_ text: String) { try? FileDescriptor.standardOutput.writeAll(text) }
    static func err(_ text: String) { try? FileDescriptor.standardError.writeAll(Redactor.redact(text)) }

    /// Writes a secret's bytes to stdout exactly.
    static func out(_ secret: SecretBytes) -> Bool {
        secret.withUnsafeBytes { (b) -> Bool in (try? FileDescriptor.standardOutput.writeAll(b)) != nil }
    }

    static var stdinIsTerminal: Bool { FileDescriptor.standardInput.isTerminal }
    static var stdoutIsTerminal: Bool { FileDescriptor.standardOutput.isTerminal }
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
