import Foundation
import Testing

/// The agent under systemd's socket activation, with Debian's systemd-socket-activate standing in for the
/// user manager: it binds the socket, waits for the first connection, and execs the agent with LISTEN_FDS.
@Suite struct SocketActivationTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    static let activate = "/usr/bin/systemd-socket-activate"

    /// systemd-socket-activate passes only the variables named with -E, as the user manager passes its own.
    static let passed = ["HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "DBUS_SESSION_BUS_ADDRESS", "PATH"]
        .flatMap { ["-E", $0] }

    func activated(_ h: Harness, _ extra: [String] = []) throws -> BackgroundProcess {
        try h.makeSocketDirectory()
        let process = try BackgroundProcess(
            Self.activate,
            ["-l", h.socketPath] + extra + Self.passed + [Harness.agent, "--foreground", "--socket", h.socketPath],
            environment: h.environment)
        #expect(eventually { FileManager.default.fileExists(atPath: h.socketPath) })
        return process
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
    }

    @Test func theFirstRequestIsServedOnThePassedSocketWhichOutlivesTheAgent() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/activated"
        _ = try h.run(
            "/usr/bin/secret-tool", ["store", "--label", "x", "xdg:schema", "org.tokend.Secret", "name", name],
            stdin: Data("served-by-systemd".utf8))
        let activation = try activated(h)
        defer { activation.stop() }
        #expect(h.liveAgents().isEmpty, "nothing runs before the first connection")

        let get = try h.tokend("get", name)
        #expect(get.status == 0)
        #expect(get.out == "served-by-systemd")
        // systemd-socket-activate execs the agent in its own process: that is the one agent, and the CLI
        // started none of its own because the socket answered.
        #expect(h.agentPid() == activation.pid)
        #expect(h.liveAgents() == [activation.pid])

        #expect(try h.tokend("stop").status == 0)
        #expect(activation.waitForExit(timeout: 10) == 0)
        #expect(Self.isSocket(h.socketPath), "the socket belongs to systemd and stays")
    }

    @Test func anAgentStartedByHandStepsAsideWhenSystemdTakesTheSocket() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        let handStarted = try #require(h.liveAgents().first)
        let activation = try BackgroundProcess(
            Self.activate, ["-l", h.socketPath] + Self.passed + [Harness.agent, "--foreground", "--socket", h.socketPath],
            environment: h.environment)
        defer { activation.stop() }
        // systemd replaces the socket file; the old agent sees that within its 5 s check and stops.
        #expect(eventually(timeout: 15) { kill(handStarted, 0) != 0 || Harness.isZombie(handStarted) })
        #expect(try h.tokend("status").status == 0)
        #expect(h.agentPid() == activation.pid)
    }

    @Test func variablesMeantForAnotherProcessAreIgnored() throws {
        let h = try Harness()
        defer { h.shutdown() }
        try h.makeSocketDirectory()
        let agent = try BackgroundProcess(
            Harness.agent, ["--foreground", "--socket", h.socketPath],
            environment: h.environment.merging(["LISTEN_PID": "1", "LISTEN_FDS": "1"]) { $1 })
        defer { agent.stop() }
        #expect(eventually { UnixSocketProbe.answers(h.socketPath) })
        #expect(h.agentPid() == agent.pid)
        #expect(try h.tokend("stop").status == 0)
        #expect(agent.waitForExit(timeout: 10) == 0)
        #expect(!FileManager.default.fileExists(atPath: h.socketPath), "a socket the agent bound itself is removed")
    }

    @Test func twoPassedSocketsAreRefused() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let activation = try activated(h, ["-l", h.runtimeDir + "/tokend/second.sock"])
        defer { activation.stop() }
        _ = UnixSocketProbe.answers(h.socketPath)
        #expect(activation.waitForExit(timeout: 10) == 5)
        #expect(activation.stderr.hasSuffix(
            "tokend-agent: systemd passed 2 descriptors (LISTEN_FDS); tokend.socket must have exactly one ListenStream=\n"))
    }

    @Test func aSocketFlagThatNamesAnotherPathIsAUsageError() throws {
        let h = try Harness()
        defer { h.shutdown() }
        try h.makeSocketDirectory()
        let other = h.runtimeDir + "/tokend/other.sock"
        let activation = try BackgroundProcess(
            Self.activate, ["-l", h.socketPath] + Self.passed + [Harness.agent, "--foreground", "--socket", other],
            environment: h.environment)
        defer { activation.stop() }
        #expect(eventually { FileManager.default.fileExists(atPath: h.socketPath) })
        _ = UnixSocketProbe.answers(h.socketPath)
        #expect(activation.waitForExit(timeout: 10) == 2)
        #expect(activation.stderr.hasSuffix(
            "tokend-agent: --socket \(other) differs from the socket systemd passed (\(h.socketPath))\n"))
    }
}

/// A bare connect, to wake a socket-activated service or to see whether something listens.
enum UnixSocketProbe {
    static func answers(_ path: String) -> Bool { (try? SocketClient(path: path, timeout: 1)) != nil }
}
