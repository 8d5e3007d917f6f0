import Foundation
import Testing

/// Starting, sharing and stopping the agent as users and tools would.
@Suite struct AgentLifecycleTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    @Test func firstCommandStartsTheAgentDetached() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(h.liveAgents().isEmpty)
        #expect(try h.tokend("status").status == 0)
        let agents = h.liveAgents()
        #expect(agents.count == 1)
        let stat = try String(contentsOfFile: "/proc/\(agents[0])/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        // Fields after the command: state, ppid, pgrp, session. A new session: session id == its pid.
        #expect(Int32(fields[3]) == agents[0])
    }

    @Test func commandSubstitutionDoesNotWaitForTheAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/subst"
        // The agent is started by the first command inside $(...): were it to inherit the pipe, bash would
        // wait for the agent to exit and this would time out.
        let script = "printf %s v1 | tokend put \(name); x=$(tokend get \(name)); printf '[%s]' \"$x\""
        let start = Date()
        let result = try h.run("/bin/bash", ["-c", script], timeout: 10)
        #expect(result.out == "[v1]")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func killedAgentIsReplacedByTheNextCommand() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/kill9"
        #expect(try h.tokend("put", name, stdin: Data("survives".utf8)).status == 0)
        let first = try #require(h.liveAgents().first)
        kill(first, SIGKILL)
        for _ in 0..<200 where !Harness.isZombie(first) && kill(first, 0) == 0 { usleep(5000) }
        #expect(FileManager.default.fileExists(atPath: h.socketPath), "the dead agent leaves its socket behind")
        let get = try h.tokend("get", name)
        #expect(get.status == 0)
        #expect(get.out == "survives")
        let agents = h.liveAgents()
        #expect(agents.count == 1)
        #expect(agents.first != first)
    }

    @Test func fiftySimultaneousFirstCallsEndWithOneAgentAndFiftyAnswers() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/fifty"
        // Store through secret-tool so that no agent exists before the race.
        _ = try h.run(
            "/usr/bin/secret-tool", ["store", "--label", "x", "xdg:schema", "org.tokend.Secret", "name", name],
            stdin: Data("same-for-all".utf8))
        #expect(h.liveAgents().isEmpty)
        let script = """
            for i in $(seq 50); do (tokend get \(name) > "$TMPDIR/out.$i"; echo $? > "$TMPDIR/rc.$i") & done; wait
            """
        _ = try h.run("/bin/bash", ["-c", script], timeout: 60)
        let tmp = h.root.appendingPathComponent("tmp")
        var answers = 0
        for i in 1...50 {
            let out = try String(contentsOf: tmp.appendingPathComponent("out.\(i)"), encoding: .utf8)
            let rc = try String(contentsOf: tmp.appendingPathComponent("rc.\(i)"), encoding: .utf8)
            if out == "same-for-all" && rc == "0\n" { answers += 1 }
        }
        #expect(answers == 50)
        usleep(200_000)
        #expect(h.liveAgents().count == 1)
    }

    @Test func sigtermRemovesTheSocketAndSighupDoesNotStopTheAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        let pid = try #require(h.liveAgents().first)
        kill(pid, SIGHUP)
        usleep(200_000)
        #expect(try h.tokend("status").status == 0)
        #expect(h.liveAgents() == [pid])
        kill(pid, SIGTERM)
        for _ in 0..<300 where kill(pid, 0) == 0 && !Harness.isZombie(pid) { usleep(10_000) }
        #expect(h.liveAgents().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: h.socketPath))
        #expect(h.agentLog.contains("SIGHUP received; ignored"))
    }

    @Test func stopCommandStopsTheAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        let pid = try #require(h.liveAgents().first)
        #expect(try h.tokend("stop").status == 0)
        for _ in 0..<300 where kill(pid, 0) == 0 && !Harness.isZombie(pid) { usleep(10_000) }
        #expect(h.liveAgents().isEmpty)
        let again = try h.tokend("stop")
        #expect(again.status == 0)
        #expect(again.err == "tokend: no agent is running\n")
    }

    @Test func foregroundAgentRefusesToStartTwice() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        let second = try h.run(Harness.agent, ["--foreground"], timeout: 10)
        #expect(second.status == 0)
        #expect(second.err == "tokend-agent: another tokend-agent is already running on \(h.socketPath)\n")
        #expect(h.liveAgents().count == 1)
    }
}
