import Foundation
import Testing

/// The CLI against agents of other protocol versions. The other agents are test fakes that speak only
/// `hello` and `stop`, and log the ops they receive.
@Suite struct VersionHandshakeTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    @Test func anOlderAgentIsStoppedAndReplacedByThisVersionsAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/handshake"
        _ = try h.run(
            "/usr/bin/secret-tool", ["store", "--label", "x", "xdg:schema", "org.tokend.Secret", "name", name],
            stdin: Data("from-the-new-agent".utf8))
        let old = try FakeAgent(h, version: 0, agent: "tokend-agent 0.0.9", onStop: .exit)
        defer { old.stop() }

        let get = try h.tokend("get", name)
        #expect(get.status == 0)
        #expect(get.out == "from-the-new-agent")
        let fresh = try #require(h.liveAgents().first)
        #expect(get.err == "tokend: replaced the older agent (tokend-agent 0.0.9, pid \(old.pid), protocol 0) with tokend-agent 0.1.0, pid \(fresh), protocol 1\n")
        #expect(old.ops() == ["hello", "stop"])
        #expect(old.process.waitForExit(timeout: 5) == 0)
    }

    @Test func aNewerAgentIsNeitherUsedNorStoppedButTokendStopStillWorks() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let newer = try FakeAgent(h, version: 2, agent: "tokend-agent 9.0.0", onStop: .exit)
        defer { newer.stop() }

        let get = try h.tokend("get", "\(h.prefix)/any")
        #expect(get.status == 5)
        #expect(get.out == "")
        #expect(get.err == "tokend: the running agent (tokend-agent 9.0.0, pid \(newer.pid), protocol 2) does not speak this tokend's protocol 1: use the tokend installed with that agent, or run 'tokend stop' to replace it with this version's agent\n")
        #expect(newer.ops() == ["hello"])
        #expect(h.liveAgents().isEmpty)

        let stop = try h.tokend("stop")
        #expect(stop.status == 0)
        #expect(newer.ops() == ["hello", "hello", "stop"])
        #expect(newer.process.waitForExit(timeout: 5) == 0)
    }

    @Test func anOlderAgentThatWillNotStopIsReportedWithWhatToDo() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let stubborn = try FakeAgent(h, version: 0, agent: "tokend-agent 0.0.9", onStop: .stay)
        defer { stubborn.stop() }

        let status = try h.tokend("status")
        #expect(status.status == 5)
        #expect(status.err == "tokend: the running agent (tokend-agent 0.0.9, pid \(stubborn.pid), protocol 0) is older than this tokend (protocol 1) and did not stop when asked: stop it (kill \(stubborn.pid)), then run the command again\n")
        #expect(stubborn.ops() == ["hello", "stop"])
        #expect(h.liveAgents().isEmpty)
    }
}

/// An agent of another protocol version on the harness's socket: answers `hello` with its version and
/// `stop` with ok (then exits and removes its socket, or stays), and anything else with an error.
final class FakeAgent {
    enum OnStop: String { case exit, stay }

    static let script = #"""
        import json, os, socket, sys
        path, version, agent, on_stop, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
        os.umask(0o077)
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen()
        print("ready", flush=True)
        while True:
            connection, _ = listener.accept()
            stream = connection.makefile("rwb")
            for line in stream:
                request = json.loads(line)
                with open(log, "a") as f:
                    f.write(request["op"] + "\n")
                if request["op"] == "hello":
                    answer = {"ok": True, "version": version, "protocols": [version], "agent": agent, "pid": os.getpid()}
                elif request["op"] == "stop":
                    answer = {"ok": True}
                else:
                    answer = {"ok": False, "error": {"code": "invalid_request", "message": "unknown op"}}
                answer["id"] = request.get("id")
                stream.write((json.dumps(answer) + "\n").encode())
                stream.flush()
                if request["op"] == "stop" and on_stop == "exit":
                    os.unlink(path)
                    sys.exit(0)
            connection.close()
        """#

    let process: BackgroundProcess
    let logPath: String

    init(_ h: Harness, version: Int, agent: String, onStop: OnStop) throws {
        try h.makeSocketDirectory()
        let scriptPath = h.root.appendingPathComponent("fake-agent.py").path
        try Data(FakeAgent.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        logPath = h.root.appendingPathComponent("fake-agent.log").path
        process = try BackgroundProcess(
            "/usr/bin/python3", [scriptPath, h.socketPath, String(version), agent, onStop.rawValue, logPath],
            environment: h.environment)
        try #require(process.firstLine() == "ready", "\(process.stderr)")
    }

    var pid: Int32 { process.pid }

    func ops() -> [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() { process.stop() }
}
