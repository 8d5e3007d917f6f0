import Foundation
import Testing

/// Killing the agent at random moments during a storm of puts never loses an acknowledged put and never
/// leaves a vault that does not decrypt.
@Suite struct CrashSafetyTests {
    @Test func sigkillDuringAPutStormLosesNothingAcknowledged() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("crash pass")
        let pass = try h.passphraseFile("crash pass")
        var acknowledged: [String: String] = [:]
        // The put in flight when the agent died may or may not have landed: either value is correct for it.
        var inFlight: (name: String, value: String)?
        let rounds = 20
        for round in 0..<rounds {
            // A writer puts as fast as it can, logging each attempt before it and each acknowledgement after.
            let log = h.root.appendingPathComponent("tmp/acks.\(round)").path
            let script = """
                i=0
                while [ $i -lt 400 ]; do
                  n="crash/r\(round)/k$((i % 7))"; v="r\(round)-$i-$RANDOM"
                  printf 'try %s %s\\n' "$n" "$v" >> \(log)
                  printf %s "$v" | tokend put "$n" 2>/dev/null && printf 'ok %s %s\\n' "$n" "$v" >> \(log)
                  i=$((i+1))
                done
                """
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/bash")
            writer.arguments = ["-c", script]
            writer.environment = h.environment.merging(["TOKEND_AGENT": "/nonexistent/tokend-agent"]) { $1 }
            writer.standardOutput = FileHandle.nullDevice
            writer.standardError = FileHandle.nullDevice
            try writer.run()
            usleep(useconds_t.random(in: 50_000...400_000))
            for pid in h.liveAgents() { kill(pid, SIGKILL) }
            writer.waitUntilExit()
            var lastTry: (name: String, value: String)?
            inFlight = nil
            for line in ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                if parts[0] == "try" {
                    if inFlight == nil, let pending = lastTry { inFlight = pending }
                    lastTry = (parts[1], parts[2])
                } else {
                    acknowledged[parts[1]] = parts[2]
                    lastTry = nil
                }
            }
            if inFlight == nil { inFlight = lastTry }
            for _ in 0..<100 where !h.liveAgents().isEmpty { usleep(10_000) }
            try h.startFileAgent()
            let unlock = try h.tokend("unlock", "--passphrase-file", pass)
            #expect(unlock.status == 0, "round \(round): \(unlock.err)")
            for (name, value) in acknowledged {
                let stored = try h.tokend("get", name).out
                let landedInFlight = inFlight.map { $0.name == name && $0.value == stored } ?? false
                #expect(stored == value || landedInFlight, "round \(round): \(name)")
                acknowledged[name] = stored
            }
        }
        #expect(acknowledged.count >= rounds, "puts were acknowledged in most rounds")
        // Each kill may leave the temp file of an unfinished write; the next write reuses it, so at most one.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: h.dataDir).filter { $0.hasPrefix("vault.age.") }
        #expect(leftovers.allSatisfy { $0 == "vault.age.tmp" }, "\(leftovers)")
        print("crash safety: \(rounds) rounds, \(acknowledged.count) secrets checked after every round")
    }
}
