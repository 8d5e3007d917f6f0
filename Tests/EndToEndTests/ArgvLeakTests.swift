import Foundation
import Testing

/// A value piped into `tokend put` never shows in any process's command line.
@Suite struct ArgvLeakTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    @Test func pipedPutNeverAppearsInProcCmdline() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let canary = "canary-argv-\(UUID().uuidString)"
        let name = "\(h.prefix)/argv"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.tokend)
        process.arguments = ["put", name]
        process.environment = h.environment
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var hits: [String] = []
        func sweep() {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
                if let data = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline")),
                    String(decoding: data, as: UTF8.self).contains(canary)
                {
                    hits.append(entry)
                }
            }
        }
        sweep()
        input.fileHandleForWriting.write(Data(canary.utf8))
        sweep()
        try input.fileHandleForWriting.close()
        while process.isRunning { sweep(); usleep(1000) }
        process.waitUntilExit()
        sweep()
        #expect(process.terminationStatus == 0)
        #expect(hits.isEmpty)
        #expect(try h.tokend("get", name).out == canary)
        #expect(!h.agentLog.contains(canary))
    }
}
