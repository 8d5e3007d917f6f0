import Foundation
import Testing

/// The agent process cannot be dumped, and a planted canary value leaks nowhere a user or attacker could
/// look: logs, files, command lines, environments, core files.
@Suite struct HardeningTests {
    @Test func theAgentIsNonDumpableWithCoreSizeZero() throws {
        // Run as another uid: a non-dumpable process's /proc files belong to root instead of its own uid.
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let dir = h.root.appendingPathComponent("u4343").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try #require(chown(dir, 4343, 4343) == 0)
        chmod(h.root.path, 0o755)
        let agent = try Spawned(
            "/usr/bin/setpriv", ["--reuid=4343", "--regid=4343", "--clear-groups", Harness.agent, "--foreground", "--socket", dir + "/agent.sock"],
            environment: ["HOME": dir, "PATH": "/usr/bin:/bin", "TOKEND_STORE": "file", "TOKEND_CANARY": "must-be-dropped"])
        defer { agent.stop() }
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: dir + "/agent.sock") { usleep(10_000) }
        var st = stat()
        #expect(lstat("/proc/\(agent.pid)/status", &st) == 0)
        #expect(st.st_uid == 0, "/proc/PID/status of a non-dumpable process is owned by root")
        let status = try String(contentsOfFile: "/proc/\(agent.pid)/status", encoding: .utf8)
        #expect(status.contains("Uid:\t4343\t4343\t4343\t4343"))
        let limits = try String(contentsOfFile: "/proc/\(agent.pid)/limits", encoding: .utf8)
        let core = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
        #expect(core.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"])
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(agent.pid)/environ"))
        #expect(environ.range(of: Data("TOKEND_".utf8)) == nil, "TOKEND_* variables are dropped")
        #expect(environ.range(of: Data("HOME=\(dir)".utf8)) != nil)
    }

    @Test(arguments: [SIGSEGV, SIGBUS, SIGABRT, SIGILL])
    func aFatalSignalEndsTheAgentWithoutACrashReport(signal: Int32) throws {
        // The Swift runtime's crash reporter would print registers and the memory behind them to the log.
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        #expect(try h.tokend("put", "c/crash", stdin: Data("crash-canary".utf8)).status == 0)
        #expect(try h.tokend("get", "c/crash").out == "crash-canary")
        let pid = try #require(h.liveAgents().first)
        let before = h.agentLog
        kill(pid, signal)
        for _ in 0..<300 where kill(pid, 0) == 0 && !Harness.isZombie(pid) { usleep(10_000) }
        #expect(h.liveAgents().isEmpty)
        #expect(h.agentLog == before, "nothing was written after the signal")
    }

    @Test func aCanaryValueLeaksNowhere() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let canary = "xoxb-canary-\(UUID().uuidString)"
        let encoded = Data(canary.utf8).base64EncodedString()
        try h.startFileAgent(["--rate", "1", "--burst", "5"])
        try h.initVault("canary pass")
        #expect(try h.tokend("put", "c/v", stdin: Data(canary.utf8)).status == 0)
        #expect(try h.tokend("put", "c/denied", "--allow", "/bin/false", stdin: Data(canary.utf8)).status == 0)
        #expect(try h.tokend("get", "c/v").out == canary)
        #expect(try h.tokend("get", "c/denied").status == 6)
        #expect(try h.tokend("ls").status == 0)
        #expect(try h.tokend("get", "c/none").status == 3)
        #expect(try h.tokend("put", "c/big", "--raw", stdin: Data(canary.utf8) + Data(count: 1_048_576)).status == 7)
        let exec = try h.tokend("exec", "-e", "CANARY=c/v", "--", "/bin/sh", "-c", "test \"$CANARY\" = \"$(cat)\"", stdin: Data(canary.utf8))
        #expect(exec.status == 0, "\(exec.err)")
        #expect(try h.run("/bin/sh", ["-c", "for i in 1 2 3 4 5 6 7 8 9 10; do tokend get c/v >/dev/null; done; tokend get c/v"]).status == 6, "rate-limited")
        #expect(try h.tokend("lock").status == 0)
        #expect(try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("wrong one", name: "w")).status == 4)
        #expect(try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("canary pass")).status == 0)
        let pid = try #require(h.liveAgents().first)
        let cwd = try #require(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"))
        kill(pid, SIGABRT)
        for _ in 0..<300 where kill(pid, 0) == 0 && !Harness.isZombie(pid) { usleep(10_000) }

        var hits: [String] = []
        for needle in [canary, encoded] {
            if h.agentLog.contains(needle) { hits.append("agent log") }
            hits += h.filesContaining(needle)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
                for file in ["cmdline", "environ"] {
                    if let data = FileManager.default.contents(atPath: "/proc/\(entry)/\(file)"), data.range(of: Data(needle.utf8)) != nil {
                        hits.append("/proc/\(entry)/\(file)")
                    }
                }
            }
        }
        let cores = h.allFiles().filter { ($0 as NSString).lastPathComponent.hasPrefix("core") }
            + ((try? FileManager.default.contentsOfDirectory(atPath: cwd)) ?? []).filter { $0 == "core" || $0 == "core.\(pid)" }
        #expect(cores.isEmpty)
        #expect(hits.isEmpty, "\(hits)")
        #expect(!h.allFiles().isEmpty && h.agentLog.contains("op=get name=c/v"), "the sweep looked at real files and a real log")
    }
}
