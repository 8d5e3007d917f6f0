import Foundation
import Testing

/// `tokend migrate` moves every secret with its metadata between the keyring and the vault, byte for byte.
/// Migration moves everything in the keyring, so each test has a keyring of its own.
@Suite struct MigrationTests {
    @Test func migrateBothWaysKeepsEveryByteAndAllMetadata() throws {
        let h = try Harness()
        let keyring = try PrivateKeyring(in: h)
        defer { keyring.stop(); h.shutdown() }
        let values: [String: Data] = [
            "\(h.prefix)/m/binary": Data((0...255).map { UInt8($0) }),
            "\(h.prefix)/m/text": Data("🔑 xoxb-1-2-3\r\n".utf8),
            "\(h.prefix)/m/empty": Data(),
        ]
        try h.startFileAgent(["--store", "secret-service"])
        for (name, value) in values {
            #expect(try h.tokend("put", "--raw", name, "--owner", "slack:T1/U2", "--expires", "2099-01-01T00:00:00Z", stdin: value).status == 0)
        }
        let before = try h.tokend("ls", "\(h.prefix)/", "--json").out

        let toFile = try h.tokend("migrate", "--to", "file", "--passphrase-file", try h.passphraseFile("mig pass"))
        #expect(toFile.status == 0, "\(toFile.err)")
        #expect(toFile.out == "migrated 3 secrets to the file store\n")
        #expect(try h.run("/usr/bin/secret-tool", ["search", "--all", "name", "\(h.prefix)/m/text"]).out.isEmpty)
        for (name, value) in values { #expect(try h.tokend("get", name).stdout == value, "\(name)") }
        #expect(try h.tokend("ls", "\(h.prefix)/", "--json").out == before)
        #expect(try h.tokend("status", "--json").out.contains(#""store":"file""#))

        let toKeyring = try h.tokend("migrate", "--to", "secret-service")
        #expect(toKeyring.status == 0, "\(toKeyring.err)")
        #expect(toKeyring.out == "migrated 3 secrets to the secret-service store\n")
        for (name, value) in values {
            #expect(try h.tokend("get", name).stdout == value, "\(name)")
            #expect(try h.run("/usr/bin/secret-tool", ["lookup", "name", name]).stdout == value, "\(name)")
        }
        #expect(try h.tokend("ls", "\(h.prefix)/", "--json").out == before)
        #expect(try h.tokend("ls", "--json").out.contains(h.prefix))
        for name in values.keys { #expect(try h.tokend("rm", name).status == 0) }
    }

    @Test func theMigratedStoreIsChosenAgainAtTheNextStart() throws {
        let h = try Harness()
        let keyring = try PrivateKeyring(in: h)
        defer { keyring.stop(); h.shutdown() }
        #expect(try h.tokend("put", "\(h.prefix)/again", stdin: Data("v".utf8)).status == 0)
        #expect(try h.tokend("migrate", "--to", "file", "--passphrase-file", try h.passphraseFile("p")).status == 0)
        #expect(try h.tokend("stop").status == 0)
        let status = try h.tokend("status", "--json")
        #expect(status.out.contains(#""store":"file""#))
        #expect(status.out.contains(#""store_reason":"chosen by tokend migrate ("#))
    }
}
