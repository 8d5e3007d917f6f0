import Foundation
import Testing

extension Harness {
    var dataDir: String { root.appendingPathComponent("data/tokend").path }
    var vaultPath: String { dataDir + "/vault.age" }
    var identityPath: String { dataDir + "/identity.age" }

    /// Starts `tokend-agent` (it detaches and returns once it answers) with the file store and a cheap scrypt
    /// work factor, so that tests do not spend seconds per unlock.
    func startFileAgent(_ extra: [String] = [], env: [String: String] = [:]) throws {
        let result = try run(Harness.agent, ["--store", "file", "--kdf-log-n", "10"] + extra, env: env)
        #expect(result.status == 0, "\(result.err)")
    }

    /// Writes a passphrase file (0600) in the test's temp dir and returns its path.
    func passphraseFile(_ text: String, name: String = "pass") throws -> String {
        let path = root.appendingPathComponent("tmp/\(name)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        return path
    }

    /// `tokend init` with a passphrase file.
    func initVault(_ passphrase: String = "correct horse") throws {
        let result = try tokend("init", "--passphrase-file", try passphraseFile(passphrase))
        #expect(result.status == 0, "\(result.err)")
    }

    /// Runs a command under `expect` on a pseudo-terminal, answering each prompt matching `prompt` with
    /// `answer`. The answer reaches expect through the environment, never a command line.
    func expectSession(_ command: [String], prompt: String, answer: String, timeout: Int = 20) throws -> Result {
        let quoted = command.map { "{\($0)}" }.joined(separator: " ")
        let script = """
            set timeout \(timeout)
            log_user 1
            spawn -noecho \(quoted)
            while 1 {
              expect {
                -re {\(prompt)} { send -- "$env(TOKEND_TEST_ANSWER)\\r" }
                eof { break }
                timeout { exit 99 }
              }
            }
            lassign [wait] pid spawnid os_error status
            exit $status
            """
        return try run("/usr/bin/expect", ["-c", script], env: ["TOKEND_TEST_ANSWER": answer], timeout: Double(timeout + 10))
    }

    /// Every regular file under the test's HOME, XDG dirs and TMPDIR.
    func allFiles() -> [String] {
        var files: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = root.appendingPathComponent(relative).path
            var st = stat()
            if lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG { files.append(path) }
        }
        return files
    }

    /// Files whose bytes contain `needle`.
    func filesContaining(_ needle: String) -> [String] {
        allFiles().filter { path in
            guard let data = FileManager.default.contents(atPath: path) else { return false }
            return data.range(of: Data(needle.utf8)) != nil
        }
    }
}
