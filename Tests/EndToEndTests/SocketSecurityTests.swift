import Foundation
import Testing

/// The socket and its directory are private, verified, and only the agent's own uid gets served.
@Suite struct SocketSecurityTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    func mode(_ path: String) throws -> Int {
        var st = stat()
        try #require(lstat(path, &st) == 0)
        return Int(st.st_mode & 0o7777)
    }

    @Test func socketIs0600InsideA0700Directory() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        #expect(try mode(h.socketPath) == 0o600)
        #expect(try mode(h.runtimeDir + "/tokend") == 0o700)
    }

    @Test func tooOpenDirectoryIsRefusedWithItsFix() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let dir = h.runtimeDir + "/tokend"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o755)
        let result = try h.tokend("status")
        #expect(result.status == 5)
        #expect(result.err == "tokend: socket directory \(dir) has mode 755; it must be 700 (fix: chmod 700 \(dir))\n")
        #expect(h.liveAgents().isEmpty)
    }

    @Test func symlinkedDirectoryIsRefused() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let target = h.root.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createSymbolicLink(atPath: h.runtimeDir + "/tokend", withDestinationPath: target)
        let result = try h.tokend("status")
        #expect(result.status == 5)
        #expect(result.err == "tokend: socket directory \(h.runtimeDir)/tokend is a symlink; refusing to use it\n")
    }

    @Test func directoryOwnedBySomeoneElseIsRefused() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let dir = h.runtimeDir + "/tokend"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try #require(chown(dir, 65534, 65534) == 0, "the suite runs as root")
        let result = try h.tokend("status")
        #expect(result.status == 5)
        #expect(result.err == "tokend: socket directory \(dir) is owned by uid 65534, not by you (uid 0); refusing to use it\n")
    }

    @Test func socketPathLongerThanSunPathIsAClearError() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let long = "/tmp/" + String(repeating: "d", count: 100) + "/agent.sock"
        let result = try h.tokend("--socket", long, "status")
        #expect(result.status == 5)
        #expect(result.err == "tokend: socket path \(long) is 116 bytes; a Unix socket path is limited to 107 bytes (sun_path is 108 with its NUL): choose a shorter --socket or TOKEND_SOCKET\n")
        let agent = try h.run(Harness.agent, ["--foreground", "--socket", long])
        #expect(agent.status == 5)
        #expect(agent.err.contains("is 116 bytes; a Unix socket path is limited to 107 bytes"))
    }

    @Test func noXdgRuntimeDirFallsBackToAPrivateTmpDirectory() throws {
        // Run as an otherwise unused uid so that /tmp/tokend-UID belongs to this test alone.
        let h = try Harness()
        defer { h.shutdown() }
        let uid = 4242
        let fallback = "/tmp/tokend-\(uid)"
        try? FileManager.default.removeItem(atPath: fallback)
        defer { try? FileManager.default.removeItem(atPath: fallback) }
        let home = h.root.appendingPathComponent("home4242").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try #require(chown(home, uid_t(uid), gid_t(uid)) == 0)
        chmod(h.root.path, 0o755)
        var env = h.environment
        env.removeValue(forKey: "XDG_RUNTIME_DIR")
        env["HOME"] = home
        env["TOKEND_STORE"] = "secret-service"
        h.environment = env
        // The checkout may sit in a directory only root can enter (CI clones into one): the other user runs
        // copies of the binaries, tokend-agent next to tokend, from a directory it can reach.
        let bin = h.root.appendingPathComponent("bin4242").path
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        for program in [Harness.tokend, Harness.agent] {
            try FileManager.default.copyItem(atPath: program, toPath: bin + "/" + (program as NSString).lastPathComponent)
        }
        let asUser = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", bin + "/tokend"]
        let status = try h.run("/usr/bin/setpriv", asUser + ["status"])
        #expect(status.status == 0, "\(status.err)")
        #expect(status.out.contains("socket:          \(fallback)/agent.sock"))
        #expect(try mode(fallback) == 0o700)
        var st = stat()
        #expect(lstat(fallback, &st) == 0 && st.st_uid == uid)
        #expect(try mode(fallback + "/agent.sock") == 0o600)
        #expect(try h.run("/usr/bin/setpriv", asUser + ["stop"]).status == 0)
    }

    @Test func peerWithAnotherUidIsRefusedAndLogged() throws {
        // The agent runs as nobody in a directory nobody owns; root (another uid) connects and is refused.
        let h = try Harness()
        defer { h.shutdown() }
        let dir = h.root.appendingPathComponent("nobody").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try #require(chown(dir, 65534, 65534) == 0)
        chmod(h.root.path, 0o755)
        let socket = dir + "/agent.sock"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        agent.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.agent, "--foreground", "--socket", socket, "--store", "secret-service"]
        agent.environment = h.environment.merging(["HOME": dir]) { $1 }
        let log = Pipe()
        agent.standardError = log
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer {
            agent.terminate()
            agent.waitUntilExit()
        }
        Harness.waitUntilListening(socket)
        let client = try SocketClient(path: socket)
        client.send(#"{"id":1,"op":"hello"}"# + "\n")
        #expect(client.readLine() == nil, "the connection is closed without an answer")
        agent.terminate()
        agent.waitUntilExit()
        let text = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("op=connect peer_pid="))
        #expect(text.contains("peer_uid=0 "))
        #expect(text.contains("outcome=refused_uid"))
    }

    @Test func clientRunAsNobodyCannotReachRootsAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        chmod(h.root.path, 0o755)
        chmod(h.runtimeDir, 0o755)
        let result = try h.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.tokend, "--socket", h.socketPath, "get", "x"])
        #expect(result.status == 5)
        #expect(result.err.contains("socket directory \(h.runtimeDir)/tokend"))
    }
}
