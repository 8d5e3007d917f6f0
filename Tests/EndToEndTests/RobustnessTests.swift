import Foundation
import Testing

/// The agent keeps serving under many idle connections, a connection cap, a vanished socket file and a
/// keyring daemon that dies and comes back.
@Suite struct RobustnessTests {
    @Test func aThousandIdleConnectionsDoNotSlowANewClient() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        #expect(try h.tokend("put", "idle/k", stdin: Data("still served".utf8)).status == 0)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 2048 {
            limit.rlim_cur = min(4096, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        var idle: [SocketClient] = []
        for _ in 0..<1000 { idle.append(try SocketClient(path: h.socketPath)) }
        let probe = try SocketClient(path: h.socketPath)
        let start = Date()
        let response = probe.request(#"{"id":1,"op":"get","name":"idle/k"}"#)
        let elapsed = Date().timeIntervalSince(start)
        #expect(response?["value_b64"] as? String == Data("still served".utf8).base64EncodedString())
        #expect(elapsed < 0.1, "answered in \(elapsed) s")
        let status = try JSONSerialization.jsonObject(with: try h.tokend("status", "--json").stdout) as? [String: Any]
        #expect(status?["connections"] as? Int == 1002)
        withExtendedLifetime(idle) {}
    }

    @Test func pastTheConnectionCapANewClientIsToldWhy() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent(["--max-connections", "3"])
        let probe = try onlyConnection(h)
        // Each held connection has been answered once, so the agent has certainly accepted all three.
        let held = try (0..<2).map { _ in try SocketClient(path: h.socketPath) }
        for connection in held { #expect(connection.request(#"{"id":1,"op":"hello"}"#)?.ok == true) }
        let refused = try SocketClient(path: h.socketPath)
        #expect(refused.readLine() == #"{"id":null,"ok":false,"error":{"code":"busy","message":"too many connections (limit 3); try again"}}"#)
        #expect(refused.isClosed())
        withExtendedLifetime((probe, held)) {}
    }

    /// A connection that the agent counts as its only one: until the agent has seen the readiness probe of
    /// its start hang up, that connection still counts against the cap.
    func onlyConnection(_ h: Harness) throws -> SocketClient {
        let probe = try SocketClient(path: h.socketPath)
        #expect(eventually { probe.request(#"{"id":1,"op":"status"}"#)?["connections"] as? Int == 1 })
        return probe
    }

    @Test func aDescriptorLimitBelowTheCapLowersTheCapSoClientsAreToldWhy() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        // 100 descriptors, 64 of them kept for the agent's own files: at most 36 connections.
        let start = try h.run("/bin/sh", ["-c", #"ulimit -n 100 && exec "$0" --store file --kdf-log-n 10"#, Harness.agent])
        #expect(start.status == 0, "\(start.err)")
        #expect(h.agentLog.contains("RLIMIT_NOFILE is 100: serving at most 36 connections at once"))
        let probe = try onlyConnection(h)
        let held = try (0..<35).map { _ in try SocketClient(path: h.socketPath) }
        for connection in held { #expect(connection.request(#"{"id":1,"op":"hello"}"#)?.ok == true) }
        let refused = try SocketClient(path: h.socketPath)
        #expect(refused.readLine() == #"{"id":null,"ok":false,"error":{"code":"busy","message":"too many connections (limit 36); try again"}}"#)
        #expect(!h.agentLog.contains("accept failed"))
        withExtendedLifetime(probe) {}
        withExtendedLifetime(held) {}
    }

    @Test func aListOfSeveralMebibytesOfMetadataIsShown() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        // 25 secrets, each allowing 32 executables with paths of about 3.9 KB: a list answer of over 3 MB.
        let allow = (0..<32).map { "\"/\(String(repeating: "d", count: 3900))/\($0)\"" }.joined(separator: ",")
        let client = try SocketClient(path: h.socketPath)
        for i in 0..<25 {
            let reply = client.request(#"{"id":\#(i),"op":"put","name":"big/\#(i)","value_b64":"dg==","allow":[\#(allow)]}"#)
            #expect(reply?.ok == true, "put \(i)")
        }
        let ls = try h.tokend("ls", "--json")
        #expect(ls.status == 0, "\(ls.err)")
        #expect(ls.stdout.count > 3_000_000)
        let items = try #require(try JSONSerialization.jsonObject(with: ls.stdout) as? [[String: Any]])
        #expect(items.count == 25)
    }

    @Test func pastTheBufferBudgetTheConnectionHoldingTheMostIsCutOff() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent(["--buffer-budget", "8"])
        // Ten unfinished lines of 1.3 MB each: 13 MB against a budget of 8 MiB.
        let chunk = Data("{\"op\":\"hello\",\"x\":\"".utf8) + Data(repeating: UInt8(ascii: "a"), count: 1_300_000)
        let clients = try (0..<10).map { _ in try SocketClient(path: h.socketPath) }
        for client in clients { client.send(chunk) }
        let budgetRefusal = #"{"id":null,"ok":false,"error":{"code":"busy","message":"the agent's buffers for all connections are full and this connection held the most; closing"}}"#
        var cut = 0
        for client in clients where !clientIsWaiting(client) {
            #expect(client.readLine() == budgetRefusal)
            cut += 1
        }
        // What stays held fits the budget: at most six lines of 1.3 MB.
        #expect(cut >= 4, "\(cut) connections cut off")
        #expect(h.agentLog.contains("outcome=buffer_budget"))
        let fresh = try SocketClient(path: h.socketPath)
        #expect(fresh.request(#"{"id":1,"op":"hello"}"#)?.ok == true)
        withExtendedLifetime(clients) {}
    }

    /// Whether the agent still holds this connection open without having written to it.
    func clientIsWaiting(_ client: SocketClient) -> Bool {
        var poll = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&poll, 1, 200) == 0
    }

    @Test func aRemovedSocketFileStopsTheAgentAndTheNextCallStartsOne() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        let first = try #require(h.liveAgents().first)
        try FileManager.default.removeItem(atPath: h.socketPath)
        for _ in 0..<1000 where kill(first, 0) == 0 && !Harness.isZombie(first) { usleep(10_000) }
        #expect(kill(first, 0) != 0 || Harness.isZombie(first), "the agent noticed within 10 s")
        #expect(h.agentLog.contains("socket \(h.socketPath) was removed or replaced; stopping"))
        #expect(try h.tokend("status").status == 0)
        #expect(h.liveAgents().count == 1)
    }

    @Test func aSocketFileRemovedWhileTheAgentStillStartsIsNoticedToo() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        // A session bus that accepts and never answers holds the agent in its store choice for about a second
        // after it began listening, which is when the command that started it already has its answer.
        let bus = h.root.appendingPathComponent("silent-bus").path
        let silent = try ListeningSocket(path: bus)
        let start = try h.run(Harness.agent, ["--kdf-log-n", "10"], env: ["DBUS_SESSION_BUS_ADDRESS": "unix:path=\(bus)"])
        #expect(start.status == 0, "\(start.err)")
        try FileManager.default.removeItem(atPath: h.socketPath)
        let first = try #require(h.liveAgents().first)
        #expect(eventually(timeout: 10) { kill(first, 0) != 0 || Harness.isZombie(first) }, "the agent noticed")
        #expect(h.agentLog.contains("socket \(h.socketPath) was removed or replaced; stopping"))
        withExtendedLifetime(silent) {}
    }

    @Test func aCommandRightAfterTheSocketFileVanishedIsAnsweredByANewAgent() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        let first = try #require(h.liveAgents().first)
        try FileManager.default.removeItem(atPath: h.socketPath)
        // The old agent still holds the lock for a moment; the agent this command starts waits for it.
        let status = try h.tokend("status", "--json")
        #expect(status.status == 0, "\(status.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        #expect(object["pid"] as? Int != Int(first))
        #expect(h.liveAgents().count == 1)
    }

    @Test func keyringDaemonDeathGivesUnavailableAndTheAgentRecoversByItself() throws {
        let h = try Harness()
        let keyring = try PrivateKeyring(in: h)
        defer { keyring.stop(); h.shutdown() }
        // No cache: every get asks the keyring.
        #expect(try h.run(Harness.agent, ["--cache-ttl", "0"]).status == 0)
        #expect(try h.tokend("put", "k/1", stdin: Data("before".utf8)).status == 0)
        keyring.killDaemon()
        let down = try h.tokend("get", "k/1")
        #expect(down.status == 5)
        #expect(down.err.hasPrefix("tokend: Secret Service search failed: "))
        try keyring.startDaemon()
        let back = try h.tokend("get", "k/1")
        #expect(back.status == 0, "\(back.err)")
        #expect(back.out == "before")
        #expect(h.liveAgents().count == 1)
    }
}
