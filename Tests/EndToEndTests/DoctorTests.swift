import Foundation
import Testing

/// `tokend doctor`: one line per topic, `ok|warn|fail|skip TOPIC: FINDING[; fix: FIX]`.
@Suite struct DoctorTests {
    func lines(_ result: Harness.Result) -> [String: String] {
        var byTopic: [String: String] = [:]
        for line in result.out.split(separator: "\n") {
            let topic = line.dropFirst(5).prefix { $0 != ":" }
            byTopic[String(topic)] = String(line)
        }
        return byTopic
    }

    @Test func aHealthySetUpPassesAndNamesWhatItChecked() throws {
        try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test")
        let h = try Harness()
        defer { h.shutdown() }
        try h.installHelperLinks()
        #expect(try h.git("config", "--global", "credential.helper", "tokend").status == 0)
        try Data("eval \"$(tokend shell-init bash)\"\n".utf8).write(to: h.root.appendingPathComponent("home/.bashrc"))
        h.environment["SHELL"] = "/bin/bash"
        #expect(try h.tokend("status").status == 0)
        let pid = try #require(h.agentPid())

        let doctor = try h.tokend("doctor")
        #expect(doctor.status == 0)
        let found = lines(doctor)
        #expect(Array(found.keys).sorted() == [
            "agent", "git helper", "keyring", "memlock", "ptrace", "runtime dir", "session bus", "shell hook", "socket",
            "socket dir", "store",
        ])
        #expect(found["runtime dir"] == "ok   runtime dir: \(h.runtimeDir) (mode 700, yours)")
        #expect(found["socket dir"] == "ok   socket dir: \(h.runtimeDir)/tokend (mode 700, yours)")
        #expect(found["agent"] == "ok   agent: tokend-agent 0.1.0, pid \(pid), protocol 1, the protocol of this tokend")
        #expect(found["socket"] == "ok   socket: \(h.socketPath) (mode 600)")
        #expect(found["store"] == "ok   store: secret-service, ready (auto: the Secret Service answered with an unlocked default collection)")
        #expect(found["keyring"] == "ok   keyring: the default collection is unlocked")
        #expect(found["shell hook"] == "ok   shell hook: \(h.root.path)/home/.bashrc loads tokend shell-init")
        #expect(found["git helper"] == "ok   git helper: credential.helper: tokend (\(h.binPath)/git-credential-tokend)")
    }

    @Test func aRuntimeDirOpenToOthersFailsWithItsFix() throws {
        let h = try Harness()
        defer { h.shutdown() }
        chmod(h.runtimeDir, 0o755)
        let doctor = try h.tokend("doctor")
        #expect(doctor.status == 1)
        #expect(doctor.err == "tokend: some checks failed\n")
        #expect(lines(doctor)["runtime dir"] == "fail runtime dir: \(h.runtimeDir) has mode 755, so other users could reach the runtime directory; fix: chmod 700 \(h.runtimeDir)")
    }

    @Test func aSocketDirOpenToOthersFailsWithItsFixAndTheAgentIsNotContacted() throws {
        let h = try Harness()
        defer { h.shutdown() }
        try h.makeSocketDirectory()
        chmod(h.runtimeDir + "/tokend", 0o755)
        let doctor = try h.tokend("doctor")
        #expect(doctor.status == 1)
        let found = lines(doctor)
        #expect(found["socket dir"] == "fail socket dir: \(h.runtimeDir)/tokend has mode 755, so other users could reach the socket; fix: chmod 700 \(h.runtimeDir)/tokend")
        #expect(found["agent"] == "skip agent: not contacted while the socket directory is unsafe")
        #expect(found["store"] == "skip store: no agent to ask")
        #expect(h.liveAgents().isEmpty)
    }

    @Test func aMissingKeyringIsExplainedWithItsFix() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let bus = h.root.appendingPathComponent("no-such-bus").path
        let doctor = try h.tokend("doctor")
        let found = lines(doctor)
        #expect(found["session bus"] == "warn session bus: \(bus) does not answer (No such file or directory); fix: start the session bus (systemctl --user start dbus, or dbus-run-session -- $SHELL), or unset DBUS_SESSION_BUS_ADDRESS")
        #expect(found["keyring"] == "warn keyring: no Secret Service answered the agent (Secret Service open failed: Could not connect: No such file or directory), so it uses the file store; fix: keep the file store, or start gnome-keyring (gnome-keyring-daemon --start --components=secrets) in a session with a bus, then tokend stop")
        #expect(found["store"] == "fail store: file, not initialized (auto: Secret Service open failed: Could not connect: No such file or directory); fix: tokend init")
        #expect(doctor.status == 1)
    }

    @Test func aHelperConfiguredButNotInstalledFails() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        h.environment["GIT_CONFIG_NOSYSTEM"] = "1"
        h.environment["PATH"] = Harness.binDir.path + ":/usr/bin:/bin"
        let tokendDir = URL(fileURLWithPath: Harness.tokend).resolvingSymlinksInPath().deletingLastPathComponent().path
        #expect(try h.run("/usr/bin/git", ["config", "--global", "credential.helper", "tokend"]).status == 0)
        let doctor = try h.tokend("doctor")
        #expect(lines(doctor)["git helper"] == "fail git helper: credential.helper is tokend but git-credential-tokend is not on PATH; fix: ln -s tokend \(tokendDir)/git-credential-tokend")
    }
}
