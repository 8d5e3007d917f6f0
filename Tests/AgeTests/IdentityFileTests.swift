import Age
import Testing
import TokendCore

@Suite("IdentityFile")
struct IdentityFileTests {
    @Test("render writes age-keygen's three lines and parse reads the identity back")
    func renderThenParse() throws {
        let identity = X25519Identity.generate()
        let text = IdentityFile.render(identity, created: "2026-12-03T18:30:00Z")
        let lines = String(decoding: TestSupport.bytes(text), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 4 && lines[3].isEmpty)
        #expect(lines[0] == "# created: 2026-12-03T18:30:00Z")
        #expect(lines[1] == "# public key: \(identity.recipient.encoded)")
        #expect(lines[2].hasPrefix("AGE-SECRET-KEY-1") && lines[2].count == 74)
        let parsed = try IdentityFile.parse(text)
        #expect(parsed.map(\.recipient) == [identity.recipient])
    }

    @Test("blank lines, comments and CRLF line ends are skipped; several identities are all returned")
    func commentsAndSeveralIdentities() throws {
        let a = X25519Identity.generate()
        let b = X25519Identity.generate()
        let text = SecretBytes()
        text.append(contentsOf: "# a comment\r\n\r\n")
        text.append(a.encoded())
        text.append(contentsOf: "\r\n\n#\n")
        text.append(b.encoded())
        #expect(try IdentityFile.parse(text).map(\.recipient) == [a.recipient, b.recipient])
    }

    @Test("a line that is not an identity, or a file without any, is rejected")
    func invalidFilesAreRejected() {
        let text = SecretBytes()
        text.append(contentsOf: "# comment\n")
        text.append(X25519Identity.generate().encoded())
        text.append(contentsOf: "\n AGE-SECRET-KEY-1\n")
        let reason = "identity file line 3: invalid key: Bech32 string has an invalid character"
        #expect(throws: AgeError.keyInvalid(reason)) {
            try IdentityFile.parse(text)
        }
        #expect(throws: AgeError.keyInvalid("no identities in the identity file")) {
            try IdentityFile.parse(SecretBytes(Array("# only a comment\n\n".utf8)))
        }
    }
}
