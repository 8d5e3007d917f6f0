import Age
import Foundation
import Testing
import TokendCore

@Suite("AgeFile passphrase (scrypt) encryption")
struct PassphraseTests {
    let passphrase = SecretBytes(Array("correct horse battery staple".utf8))

    @Test("a passphrase file round-trips and carries one scrypt stanza with the chosen work factor")
    func roundTrip() throws {
        let plaintext = Array("vault contents".utf8)
        let file = try AgeFile.encrypt(SecretBytes(plaintext), passphrase: passphrase, logN: 10)
        let header = String(decoding: file.prefix(80), as: UTF8.self)
        #expect(header.split(separator: "\n")[1].hasPrefix("-> scrypt "))
        #expect(header.split(separator: "\n")[1].hasSuffix(" 10"))
        #expect(TestSupport.bytes(try AgeFile.decrypt(file, passphrase: passphrase)) == plaintext)
    }

    @Test("a wrong passphrase is badPassphrase")
    func wrongPassphrase() throws {
        let file = try AgeFile.encrypt(SecretBytes([1, 2, 3]), passphrase: passphrase, logN: 10)
        #expect(throws: AgeError.badPassphrase) {
            try AgeFile.decrypt(file, passphrase: SecretBytes(Array("correct horse battery stapler".utf8)))
        }
    }

    @Test("logN 23 is workFactorTooHigh, refused before scrypt runs")
    func workFactor23IsRefusedWithoutRunningScrypt() throws {
        let file = try AgeFile.encrypt(SecretBytes([1]), passphrase: passphrase, logN: 10)
        var text = file
        let stanzaEnd = text.indices.dropFirst(22).first { text[$0] == 0x0A }!
        #expect(Array(text[(stanzaEnd - 3)..<stanzaEnd]) == Array(" 10".utf8))
        text.replaceSubrange((stanzaEnd - 2)..<stanzaEnd, with: Array("23".utf8))
        // scrypt at logN 23 would need 8 GiB and many seconds; refusing must be immediate.
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            #expect(throws: AgeError.workFactorTooHigh) { try AgeFile.decrypt(text, passphrase: passphrase) }
        }
        #expect(elapsed < .milliseconds(200))
        #expect(throws: AgeError.workFactorTooHigh) { try AgeFile.decrypt(file, passphrase: passphrase, maxLogN: 9) }
        #expect(throws: AgeError.workFactorTooHigh) {
            try AgeFile.encrypt(SecretBytes([1]), passphrase: passphrase, logN: 23)
        }
    }

    @Test("empty passphrases and out-of-range work factors are refused")
    func invalidArguments() throws {
        #expect(throws: AgeError.invalidArgument("empty passphrase")) {
            try AgeFile.encrypt(SecretBytes([1]), passphrase: SecretBytes(), logN: 10)
        }
        #expect(throws: AgeError.invalidArgument("scrypt work factor below 1")) {
            try AgeFile.encrypt(SecretBytes([1]), passphrase: passphrase, logN: 0)
        }
        let file = try AgeFile.encrypt(SecretBytes([1]), passphrase: passphrase, logN: 10)
        #expect(throws: AgeError.invalidArgument("empty passphrase")) {
            try AgeFile.decrypt(file, passphrase: SecretBytes())
        }
        #expect(throws: AgeError.invalidArgument("maximum work factor outside 1...30")) {
            try AgeFile.decrypt(file, passphrase: passphrase, maxLogN: 31)
        }
    }

    @Test("a passphrase file does not open with identities, and an X25519 file not with a passphrase")
    func keyKindsDoNotMix() throws {
        let identity = X25519Identity.generate()
        let passphraseFile = try AgeFile.encrypt(SecretBytes([1]), passphrase: passphrase, logN: 10)
        #expect(throws: AgeError.noIdentityMatched) { try AgeFile.decrypt(passphraseFile, identities: [identity]) }
        let x25519File = try AgeFile.encrypt(SecretBytes([1]), to: [identity.recipient])
        #expect(throws: AgeError.noIdentityMatched) { try AgeFile.decrypt(x25519File, passphrase: passphrase) }
    }
}
