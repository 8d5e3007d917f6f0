import Foundation
import Testing

/// Per-secret executable allow-lists, rate limits per executable, expiry and owner purges.
@Suite struct PolicyTests {
    /// A python3 client speaking the protocol: prints one line per response (`ok` or the error code).
    static func pythonClient(_ socket: String, name: String, count: Int) -> String {
        """
        import json, socket
        s = socket.socket(socket.AF_UNIX); s.connect("\(socket)"); f = s.makefile("rwb")
        for i in range(\(count)):
            f.write(json.dumps({"id": i, "op": "get", "name": "\(name)"}).encode() + b"\\n"); f.flush()
            r = json.loads(f.readline())
            print("ok " + r["value_b64"] if r["ok"] else r["error"]["code"])
        """
    }

    @Test func onlyListedExecutablesReadARestrictedSecret() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        let python = try #require(realpath("/usr/bin/python3", nil).map { String(cString: $0) })
        #expect(try h.tokend("put", "svc/py", "--allow", "/usr/bin/python3", stdin: Data("for-python".utf8)).status == 0)
        let ls = try h.tokend("ls", "--json")
        #expect(ls.out.contains(#""allow":["\#(python)"]"#))
        let allowed = try h.run(python, ["-c", Self.pythonClient(h.socketPath, name: "svc/py", count: 1)])
        #expect(allowed.out == "ok \(Data("for-python".utf8).base64EncodedString())\n")
        let denied = try h.tokend("get", "svc/py")
        #expect(denied.status == 6)
        #expect(denied.err == "tokend: secret 'svc/py' is not allowed for executable \(Harness.tokendResolved)\n")
        #expect(h.agentLog.contains("op=get name=svc/py peer_pid="))
        #expect(h.agentLog.contains("peer_exe=\(Harness.tokendResolved) outcome=denied"))
        #expect(try h.tokend("update", "svc/py", "--allow", Harness.tokend).status == 0)
        #expect(try h.tokend("get", "svc/py").out == "for-python")
        #expect(try h.run(python, ["-c", Self.pythonClient(h.socketPath, name: "svc/py", count: 1)]).out == "denied\n")
        #expect(try h.tokend("update", "svc/py", "--allow-any").status == 0)
        #expect(try h.run(python, ["-c", Self.pythonClient(h.socketPath, name: "svc/py", count: 1)]).status == 0)
        let status = try JSONSerialization.jsonObject(with: try h.tokend("status", "--json").stdout) as? [String: Any]
        #expect(status?["denials"] as? Int == 2)
        #expect(status?["grants"] as? Int == 3)
    }

    @Test func aFloodingExecutableIsRateLimitedWhileOthersAreServed() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent(["--rate", "5", "--burst", "10"])
        try h.initVault()
        #expect(try h.tokend("put", "svc/flood", stdin: Data("v".utf8)).status == 0)
        let flood = try h.run("/usr/bin/python3", ["-c", Self.pythonClient(h.socketPath, name: "svc/flood", count: 60)])
        let lines = flood.out.split(separator: "\n")
        #expect(lines.count == 60)
        let limited = lines.filter { $0 == "rate_limited" }.count
        #expect(lines.prefix(10).allSatisfy { $0.hasPrefix("ok ") }, "the burst is served")
        #expect(limited >= 40)
        let other = try h.tokend("get", "svc/flood")
        #expect(other.status == 0)
        #expect(other.out == "v")
    }

    @Test func expiredSecretsAreRefusedAndPurged() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        #expect(try h.tokend("put", "exp/short", "--expires", "2s", stdin: Data("soon gone".utf8)).status == 0)
        #expect(try h.tokend("put", "exp/long", "--expires", "30d", stdin: Data("stays".utf8)).status == 0)
        #expect(try h.tokend("get", "exp/short").out == "soon gone")
        usleep(2_600_000)
        let expired = try h.tokend("get", "exp/short")
        #expect(expired.status == 6)
        #expect(expired.err.hasPrefix("tokend: secret 'exp/short' expired at "))
        #expect(try h.tokend("ls").out.contains("exp/short") == false)
        #expect(try h.tokend("get", "exp/short").status == 3, "purged from the store")
        #expect(try h.tokend("get", "exp/long").out == "stays")
        #expect(h.agentLog.contains("op=purge name=exp/short"))
    }

    @Test func expiredSecretsArePurgedAtTheNextAgentStart() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("p")
        #expect(try h.tokend("put", "exp/start", "--expires", "1s", stdin: Data("x".utf8)).status == 0)
        #expect(try h.tokend("stop").status == 0)
        usleep(1_500_000)
        let credentials = h.root.appendingPathComponent("tmp/creds").path
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: credentials + "/tokend.passphrase", contents: Data("p".utf8))
        try h.startFileAgent(env: ["CREDENTIALS_DIRECTORY": credentials])
        for _ in 0..<200 where !h.agentLog.contains("op=purge name=exp/start") { usleep(10_000) }
        #expect(h.agentLog.contains("op=purge name=exp/start outcome=expired"))
        #expect(try h.tokend("get", "exp/start").status == 3)
    }

    @Test func removingAnOwnerRemovesExactlyTheirSecrets() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        let owner = "slack:T024BE7LD/U0G9QF9C6"
        for name in ["slack/a", "slack/b", "slack/c"] {
            #expect(try h.tokend("put", name, "--owner", owner, stdin: Data(name.utf8)).status == 0)
        }
        #expect(try h.tokend("put", "slack/other", "--owner", "slack:T9/U9", stdin: Data("o".utf8)).status == 0)
        #expect(try h.tokend("put", "github/pat", stdin: Data("g".utf8)).status == 0)
        #expect(try h.tokend("ls", "--owner", owner).out.split(separator: "\n").count == 4)
        let rm = try h.tokend("rm", "--owner", owner)
        #expect(rm.status == 0)
        #expect(rm.out == "removed slack/a\nremoved slack/b\nremoved slack/c\n")
        let names = try #require(try JSONSerialization.jsonObject(with: try h.tokend("ls", "--json").stdout) as? [[String: Any]])
        #expect(names.map { $0["name"] as? String } == ["github/pat", "slack/other"])
    }
}
