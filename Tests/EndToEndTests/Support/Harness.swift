import Foundation
import Testing

/// The built binaries and a private world for one test: HOME, XDG dirs and TMPDIR in a temp dir that is
/// removed at the end, with its own agent socket. The keyring (a real gnome-keyring on a private bus) is
/// shared by the whole run: `./dev.sh test` starts it (scripts/with-keyring).
final class Harness: @unchecked Sendable {
    static let binDir: URL = {
        if let dir = ProcessInfo.processInfo.environment["TOKEND_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }()
    static var tokend: String { binDir.appendingPathComponent("tokend").path }
    static var agent: String { binDir.appendingPathComponent("tokend-agent").path }
    /// The tokend binary as /proc/PID/exe shows it (symlinks resolved).
    static var tokendResolved: String { realpath(tokend, nil).map { String(cString: $0) } ?? tokend }
    /// Writing to a pipe whose reader has gone is EPIPE for the test that does it, not SIGPIPE for the run.
    static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()
    static var hasKeyring: Bool { ProcessInfo.processInfo.environment["TOKEND_TEST_KEYRING"] == "1" }

    let root: URL
    var environment: [String: String]
    /// Agents this harness saw (by pid), stopped in `shutdown()`.
    private var agentPids: Set<Int32> = []

    init(keyring: Bool = true) throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tokend-test-\(UUID().uuidString.prefix(8))")
        for sub in ["home", "run", "data", "config", "tmp", "state"] {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(sub), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TOKEND_") }
        env["HOME"] = root.appendingPathComponent("home").path
        env["XDG_RUNTIME_DIR"] = root.appendingPathComponent("run").path
        env["XDG_DATA_HOME"] = root.appendingPathComponent("data").path
        env["XDG_CONFIG_HOME"] = root.appendingPathComponent("config").path
        env["XDG_STATE_HOME"] = root.appendingPathComponent("state").path
        env["TMPDIR"] = root.appendingPathComponent("tmp").path
        env["PATH"] = Harness.binDir.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env.removeValue(forKey: "DISPLAY")
        if !keyring { env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=\(root.path)/no-such-bus" }
        environment = env
    }

    var runtimeDir: String { root.appendingPathComponent("run").path }
    var socketPath: String { runtimeDir + "/tokend/agent.sock" }
    var logPath: String { runtimeDir + "/tokend/agent.log" }
    var agentLog: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: Data
        var out: String { String(decoding: stdout, as: UTF8.self) }
        var err: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs a program to completion with the harness environment.
    @discardableResult
    func run(_ program: String, _ arguments: [String], stdin: Data? = nil, env extra: [String: String] = [:],
             timeout: Double = 30) throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        Harness.ignoreBrokenPipes
        try process.run()
        if let stdin {
            // A program that exits before reading all of its input must fail its own test, not kill the run.
            do { try inPipe.fileHandleForWriting.write(contentsOf: stdin) } catch {}
            try inPipe.fileHandleForWriting.close()
        }
        let outData = Box(), errData = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData.data = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData.data = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("\(program) \(arguments) timed out after \(timeout) s")
        }
        process.waitUntilExit()
        group.wait()
        noteAgent()
        return Result(status: process.terminationStatus, stdout: outData.data, stderr: errData.data)
    }

    /// Waits until something accepts connections on `socket`: its file appears at bind(2), a moment before
    /// listen(2), and a connection in between is refused.
    static func waitUntilListening(_ socket: String) {
        _ = eventually(timeout: 3) { (try? SocketClient(path: socket)) != nil }
    }

    /// Runs `tokend ARGS`.
    @discardableResult
    func tokend(_ arguments: String..., stdin: Data? = nil, env: [String: String] = [:]) throws -> Result {
        try run(Harness.tokend, arguments, stdin: stdin, env: env)
    }

    /// The pid of the agent that holds this harness's lock, if any.
    func agentPid() -> Int32? {
        guard let status = try? run(Harness.tokend, ["status", "--json"]), status.status == 0,
            let object = try? JSONSerialization.jsonObject(with: status.stdout) as? [String: Any],
            let pid = object["pid"] as? Int
        else { return nil }
        return Int32(pid)
    }

    /// Records the agents serving this harness's socket (their command line names it), so that shutdown
    /// can stop them by pid.
    func noteAgent() {
        for pid in Harness.pids(of: "tokend-agent") where Harness.commandLine(of: pid).contains(root.path) {
            agentPids.insert(pid)
        }
    }

    /// Live agents for this harness.
    func liveAgents() -> [Int32] {
        Harness.pids(of: "tokend-agent").filter { Harness.commandLine(of: $0).contains(root.path) && !Harness.isZombie($0) }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    /// Stops every agent this harness started (SIGTERM, then SIGKILL), and removes the temp dir.
    func shutdown() {
        noteAgent()
        for pid in agentPids {
            kill(pid, SIGTERM)
        }
        for pid in agentPids {
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(10_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: root)
    }

    static func pids(of name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix(String(name.prefix(15))) == true
        }
    }

    static func commandLine(of pid: Int32) -> String {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// A unique secret-name prefix, so tests sharing the keyring never see each other's secrets.
    let prefix = "t\(UUID().uuidString.prefix(8).lowercased())"
}

final class Box: @unchecked Sendable { var data = Data() }

extension Data {
    static func random(count: Int) -> Data { Data((0..<count).map { _ in UInt8.random(in: 0...255) }) }
}
