import Foundation
import Testing

/// The client stays small: no libsecret, GLib, OpenSSL or ICU, so that it starts in a few milliseconds.
@Suite struct ClientBinaryTests {
    @Test func tokendLinksNeitherLibsecretNorGlibNorOpenSSLNorICU() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let ldd = try h.run("/usr/bin/ldd", [Harness.tokend])
        #expect(ldd.status == 0)
        let libraries = ldd.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? "" }
        #expect(libraries.contains("libc.so.6"))
        for forbidden in ["libsecret", "libglib", "libgio", "libgobject", "libssl", "libcrypto", "libicu", "libFoundation", "libswiftCore"] {
            #expect(!libraries.contains { $0.hasPrefix(forbidden) }, "\(forbidden)")
        }
        let agent = try h.run("/usr/bin/ldd", [Harness.agent]).out
        #expect(agent.contains("libsecret-1.so.0") && agent.contains("libcrypto.so.3"), "the agent is where they belong")
    }
}
