import Age
import Foundation
import Testing
import TokendCore

/// Interoperability with the stock `age` 1.1.1 and `age-keygen` binaries. age reads passphrases only from
/// /dev/tty, so those runs go through `expect`, which gives it a pseudo-terminal; the passphrase reaches
/// expect through the environment, never the command line.
@Suite("age 1.1.1 interoperability")
struct InteropTests {
    static let age = "/usr/bin/age"
    static let ageKeygen = "/usr/bin/age-keygen"
    static let passphrase = "interop passphrase 4 tokend"

    static let expectScript = """
        set timeout 120
        spawn -noecho {*}$argv
        expect {
            -re {passphrase[^\\n]*: $} { send -- "$env(AGE_TEST_PASSPHRASE)\\r"; exp_continue }
            eof {}
            timeout { puts "expect: timed out"; exit 124 }
        }
        lassign [wait] pid spawn_id os_error status
        exit $status
        """

    let directory: TemporaryDirectory
    let plaintext: [UInt8] = (0..<100_000).map { _ in UInt8.random(in: 0...255) }

    init() throws {
        directory = try TemporaryDirectory()
        try directory.write("plain", plaintext)
    }

    private var secretPassphrase: SecretBytes { SecretBytes(Array(Self.passphrase.utf8)) }

    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let result = try TestSupport.run(executable, arguments, in: directory)
        #expect(result.status == 0, "\(executable) \(arguments): \(result.output)")
        return result.output
    }

    /// Runs an `age` command that prompts for `passphrase` on its terminal.
    private func runWithPassphrase(_ arguments: [String]) throws {
        try directory.write("prompt.exp", Array(Self.expectScript.utf8))
        let result = try TestSupport.run(
            "/usr/bin/expect", [directory.path("prompt.exp"), Self.age] + arguments,
            environment: ["AGE_TEST_PASSPHRASE": Self.passphrase], in: directory)
        #expect(result.status == 0, "age \(arguments): \(result.output)")
    }

    /// `age -d -i <identityFile>` on `file`, returning what it wrote.
    private func ageDecrypt(_ file: String, identityFile: String) throws -> [UInt8] {
        try run(Self.age, ["-d", "-i", directory.path(identityFile), "-o", directory.path("out"), directory.path(file)])
        return try directory.read("out")
    }

    private func keygen(_ name: String) throws -> X25519Recipient {
        try run(Self.ageKeygen, ["-o", directory.path(name)])
        let line = try run(Self.ageKeygen, ["-y", directory.path(name)])
        return try X25519Recipient(parsing: line.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("a file age encrypts to our recipient (binary and armored) decrypts with our identity")
    func ageToOurRecipient() throws {
        let identity = X25519Identity.generate()
        let recipient = identity.recipient.encoded
        try run(Self.age, ["-r", recipient, "-o", directory.path("binary.age"), directory.path("plain")])
        try run(Self.age, ["-a", "-r", recipient, "-o", directory.path("armored.age"), directory.path("plain")])
        for name in ["binary.age", "armored.age"] {
            let decrypted = try AgeFile.decrypt(try directory.read(name), identities: [identity])
            #expect(TestSupport.bytes(decrypted) == plaintext, "\(name)")
        }
    }

    @Test("a file we encrypt to an age-keygen recipient decrypts with age -d -i")
    func oursToAgeKeygenRecipient() throws {
        let recipient = try keygen("key.txt")
        try directory.write("file.age", try AgeFile.encrypt(SecretBytes(plaintext), to: [recipient]))
        #expect(try ageDecrypt("file.age", identityFile: "key.txt") == plaintext)
    }

    @Test("an identity file we render is read by age and age-keygen, and an age-keygen file by us")
    func identityFilesAreInterchangeable() throws {
        let identity = X25519Identity.generate()
        try directory.write("ours.txt", IdentityFile.render(identity, created: "2026-12-03T18:30:00Z"))
        let derived = try run(Self.ageKeygen, ["-y", directory.path("ours.txt")])
        #expect(derived.trimmingCharacters(in: .whitespacesAndNewlines) == identity.recipient.encoded)
        try directory.write("file.age", try AgeFile.encrypt(SecretBytes(plaintext), to: [identity.recipient]))
        #expect(try ageDecrypt("file.age", identityFile: "ours.txt") == plaintext)

        let recipient = try keygen("theirs.txt")
        let parsed = try IdentityFile.parse(SecretBytes(try directory.read("theirs.txt")))
        #expect(parsed.map(\.recipient) == [recipient])
    }

    @Test("a passphrase file we make (logN 10) opens with age -d")
    func ourPassphraseFileOpensWithAge() throws {
        let file = try AgeFile.encrypt(SecretBytes(plaintext), passphrase: secretPassphrase, logN: 10)
        try directory.write("file.age", file)
        try runWithPassphrase(["-d", "-o", directory.path("out"), directory.path("file.age")])
        #expect(try directory.read("out") == plaintext)
    }

    @Test("a file age -p makes opens with our passphrase decryption")
    func agePassphraseFileOpensWithOurs() throws {
        try runWithPassphrase(["-p", "-o", directory.path("file.age"), directory.path("plain")])
        let decrypted = try AgeFile.decrypt(try directory.read("file.age"), passphrase: secretPassphrase)
        #expect(TestSupport.bytes(decrypted) == plaintext)
        #expect(throws: AgeError.badPassphrase) {
            try AgeFile.decrypt(try directory.read("file.age"), passphrase: SecretBytes(Array("wrong".utf8)))
        }
    }

    @Test("an age-keygen identity protected with age -p opens with our passphrase path and decrypts age -r output")
    func ageProtectedIdentityFile() throws {
        let recipient = try keygen("key.txt")
        try runWithPassphrase(["-p", "-o", directory.path("key.age"), directory.path("key.txt")])
        try run(Self.age, ["-r", recipient.encoded, "-o", directory.path("file.age"), directory.path("plain")])

        let keyFile = try AgeFile.decrypt(try directory.read("key.age"), passphrase: secretPassphrase)
        let identities = try IdentityFile.parse(keyFile)
        #expect(identities.map(\.recipient) == [recipient])
        let decrypted = try AgeFile.decrypt(try directory.read("file.age"), identities: identities)
        #expect(TestSupport.bytes(decrypted) == plaintext)
    }

    @Test("our passphrase-protected identity file works with age -d -i (the emergency path)")
    func ourProtectedIdentityFileWorksWithAge() throws {
        let identity = X25519Identity.generate()
        let keyFile = IdentityFile.render(identity, created: "2026-12-03T18:30:00Z")
        try directory.write("identity.age", try AgeFile.encrypt(keyFile, passphrase: secretPassphrase, logN: 10))
        try directory.write("vault.age", try AgeFile.encrypt(SecretBytes(plaintext), to: [identity.recipient]))
        try runWithPassphrase(
            ["-d", "-i", directory.path("identity.age"), "-o", directory.path("out"), directory.path("vault.age")])
        #expect(try directory.read("out") == plaintext)
    }
}
