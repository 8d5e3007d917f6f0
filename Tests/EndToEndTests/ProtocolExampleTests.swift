import Foundation
import Testing

/// The examples in tokend-protocol(7) work as printed: the Python one and the socat one.
@Suite struct ProtocolExampleTests {
    /// The EX…EE blocks of the man page, unescaped from groff.
    static func examples() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("man/tokend-protocol.7"), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == ".EX" { current = [] } else if line == ".EE" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line.replacingOccurrences(of: "\\e", with: "\\").replacingOccurrences(of: "\\-", with: "-"))
            }
        }
        return blocks
    }

    @Test func pythonExampleStoresAndReadsAToken() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        let python = try #require(try Self.examples().first { $0.hasPrefix("import base64") })
        let script = python + "\nprint(token.decode())\n"
        let result = try h.run("/usr/bin/python3", ["-c", script])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "ghp_example\n")
        #expect(try h.tokend("get", "github/pat").out == "ghp_example")
    }

    @Test func socatExampleGetsTheResponseLine() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        #expect(try h.tokend("put", "github/pat", stdin: Data("ghp_example".utf8)).status == 0)
        let socat = try #require(try Self.examples().first { $0.hasPrefix("printf") })
        let result = try h.run("/bin/sh", ["-c", socat])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.hasPrefix(#"{"id":1,"ok":true,"name":"github/pat","value_b64":"Z2hwX2V4YW1wbGU=","created":""#))
    }
}
