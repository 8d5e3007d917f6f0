import Foundation
import Testing

/// The client stays small: a static PIE with no libsecret, GLib, OpenSSL or ICU, so that it starts in a few
/// milliseconds and keeps ASLR.
@Suite struct ClientBinaryTests {
    @Test func tokendIsAStaticPositionIndependentExecutableAndTheAgentHoldsTheLibraries() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let ldd = try h.run("/usr/bin/ldd", [Harness.tokend])
        #expect(ldd.status == 0)
        #expect(ldd.out.trimmingCharacters(in: .whitespacesAndNewlines) == "statically linked")
        let header = try #require(FileHandle(forReadingAtPath: Harness.tokend)?.readData(ofLength: 18))
        #expect(Array(header.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(header[16] == 3 && header[17] == 0, "e_type ET_DYN: position-independent, so ASLR applies")
        let agent = try h.run("/usr/bin/ldd", [Harness.agent]).out
        #expect(agent.contains("libsecret-1.so.0") && agent.contains("libcrypto.so.3"), "the agent is where they belong")
    }
}
