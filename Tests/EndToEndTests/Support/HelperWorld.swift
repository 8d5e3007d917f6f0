import Foundation
import Testing

/// What the credential-helper, socket-activation, doctor and version tests add to a harness: the helper
/// names linked to the built tokend in a bin directory at the front of PATH (as `./dev.sh run` installs
/// them), a git that reads only this harness's config, and processes that run in the background.
extension Harness {
    /// Links git-credential-tokend and docker-credential-tokend to the built tokend, first on PATH.
    func installHelperLinks() throws {
        let bin = root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        for name in ["git-credential-tokend", "docker-credential-tokend"] {
            try FileManager.default.createSymbolicLink(
                atPath: bin.appendingPathComponent(name).path, withDestinationPath: Harness.tokend)
        }
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        // git must read nothing but this HOME's config, never prompt, and reach 127.0.0.1 directly.
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_ASKPASS"] = ""
        environment["SSH_ASKPASS"] = ""
        for proxy in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            environment.removeValue(forKey: proxy)
        }
        environment["no_proxy"] = "*"
    }

    var binPath: String { root.appendingPathComponent("bin").path }

    @discardableResult
    func git(_ arguments: String..., stdin: String? = nil) throws -> Result {
        try run("/usr/bin/git", arguments, stdin: stdin.map { Data($0.utf8) })
    }

    @discardableResult
    func helper(_ name: String, _ arguments: [String], stdin: String) throws -> Result {
        try run(binPath + "/" + name, arguments, stdin: Data(stdin.utf8))
    }

    /// Creates the socket directory as the agent would (mode 700).
    func makeSocketDirectory() throws {
        try FileManager.default.createDirectory(
            atPath: runtimeDir + "/tokend", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// The names and owners under `prefix`, from `tokend ls --json`.
    func listed(_ prefix: String) throws -> [[String: String]] {
        let result = try tokend("ls", prefix, "--json")
        let items = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
        return items.map { item in item.compactMapValues { $0 as? String } }
    }
}

/// A process left running while the test drives others, its stdout and stderr going to files. It is
/// started with posix_spawn and reaped here rather than by Foundation's Process, whose monitor takes a
/// process for dead when its descriptors close: systemd-socket-activate closes them all before it execs the
/// agent, and Foundation's monitor then blocks in waitpid for every process of the test.
final class BackgroundProcess: @unchecked Sendable {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    private var status: Int32?

    init(_ program: String, _ arguments: [String], environment: [String: String]) throws {
        let base = NSTemporaryDirectory() + "/tokend-background-\(UUID().uuidString.prefix(8))"
        outputPath = base + ".out"
        errorPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else: a pipe of another test's process held open here would keep that test waiting. (glibc
        // skips a close action on a descriptor that is not open.)
        for fd in 3..<BackgroundProcess.descriptorBound() { posix_spawn_file_actions_addclose(&actions, fd) }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, program, &actions, nil, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        pid = child
    }

    /// Above every descriptor open now, with room for those other tests open meanwhile.
    static func descriptorBound() -> Int32 {
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return (open.compactMap(Int32.init).max() ?? 0) + 256
    }

    var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// The first stdout line, waiting up to `timeout` seconds.
    func firstLine(timeout: Double = 10) -> String? {
        var line: String?
        _ = eventually(timeout: timeout) {
            let text = stdout
            guard let nl = text.firstIndex(of: "\n") else { return false }
            line = String(text[..<nl])
            return true
        }
        return line
    }

    var isRunning: Bool {
        if status != nil { return false }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return true }
        status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        return false
    }

    /// The exit status (128+N for signal N) once it has exited within `timeout` seconds, else nil.
    func waitForExit(timeout: Double) -> Int32? {
        _ = eventually(timeout: timeout) { !isRunning }
        return status
    }

    func stop() {
        if isRunning {
            kill(pid, SIGTERM)
            if waitForExit(timeout: 5) == nil {
                kill(pid, SIGKILL)
                _ = waitForExit(timeout: 5)
            }
        }
        unlink(outputPath)
        unlink(errorPath)
    }
}

/// Waits until `condition` holds, up to `timeout` seconds.
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
