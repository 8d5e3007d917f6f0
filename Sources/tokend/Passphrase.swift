import TokendCore
import TokendPosix

/// Where a passphrase comes from: `--passphrase-fd N`, `--passphrase-file PATH`, or a prompt without echo
/// on the terminal. Never argv, never the environment.
enum Passphrase {
    static let flags: Set<String> = ["--passphrase-fd", "--passphrase-file"]

    static func read(_ values: [String: [String]], prompt: String, confirm: Bool) throws(CommandFailure) -> SecretBytes {
        if let fdText = values["--passphrase-fd"]?.first {
            guard let fd = Int32(fdText), fd >= 0 else { throw .usage("--passphrase-fd needs a descriptor number") }
            let input: FileDescriptor
            do { input = try FileDescriptor.duplicate(of: fd) } catch {
                throw CommandFailure(.usage, "--passphrase-fd \(fd): \(error)")
            }
            return try readAll(input, what: "descriptor \(fd)")
        }
        if let path = values["--passphrase-file"]?.first {
            let fd: FileDescriptor
            do { fd = try FileDescriptor.openForReading(path) } catch {
                throw CommandFailure(.usage, "cannot open \(path): \(error)")
            }
            return try readAll(fd, what: path)
        }
        guard let first = Terminal.readSecret(prompt: prompt) else {
            throw .usage("no terminal to ask for the passphrase: use --passphrase-fd N or --passphrase-file PATH")
        }
        if first.isEmpty { throw .usage("the passphrase must not be empty") }
        if confirm {
            guard let second = Terminal.readSecret(prompt: "Repeat the passphrase: "), second.constantTimeEquals(first) else {
                throw .usage("the passphrases do not match")
            }
        }
        return first
    }

    /// The whole input, less one trailing LF.
    static func readAll(_ fd: FileDescriptor, what: String) throws(CommandFailure) -> SecretBytes {
        let value = SecretBytes(capacity: 256)
        let complete: Bool
        do { complete = try fd.readAll(into: value, limit: 4096) } catch {
            throw CommandFailure(.failure, "cannot read the passphrase from \(what): \(error)")
        }
        guard complete else { throw CommandFailure(.usage, "the passphrase from \(what) is longer than 4096 bytes") }
        if value.count > 0 && value[value.count - 1] == 0x0A { value.truncate(to: value.count - 1) }
        if value.isEmpty { throw CommandFailure(.usage, "the passphrase from \(what) is empty") }
        return value
    }
}
