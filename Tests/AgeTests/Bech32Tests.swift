import Testing
import TokendCore

@testable import Age

private func decode(_ text: String, hrp: String) throws(AgeError) -> [UInt8] {
    let out = SecretBytes()
    try withBytes(of: Array(text.utf8)) { bytes throws(AgeError) in try Bech32.decode(bytes, hrp: hrp, into: out) }
    return TestSupport.bytes(out)
}

private func encode(_ data: [UInt8], hrp: String) -> String {
    let out = SecretBytes()
    data.withUnsafeBytes { Bech32.encode(hrp: hrp, $0, into: out) }
    return String(decoding: TestSupport.bytes(out), as: UTF8.self)
}

@Suite("Bech32")
struct Bech32Tests {
    /// BIP 173's valid strings whose data converts to whole bytes, with their human-readable parts and data.
    static let valid: [(String, String, [UInt8])] = [
        ("A12UEL5L", "A", []),
        ("a12uel5l", "a", []),
        ("an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
         "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio", []),
        ("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "abcdef",
         [0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf,
          0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf]),
        ("11" + String(repeating: "q", count: 82) + "c8247j", "1",
         [UInt8](repeating: 0, count: 51)),
        ("?1ezyfcl", "?", []),
    ]

    @Test("BIP 173 vectors decode to their data and encode back to the same string")
    func bip173VectorsRoundTrip() throws {
        for (text, hrp, data) in Self.valid {
            #expect(try decode(text, hrp: hrp) == data, "\(text)")
            #expect(encode(data, hrp: hrp) == text)
        }
    }

    @Test("random data round-trips in lower and upper case, with no 90-character limit")
    func randomDataRoundTrips() throws {
        for count in [0, 1, 31, 32, 33, 100] {
            let data = (0..<count).map { _ in UInt8.random(in: 0...255) }
            for hrp in ["age", "AGE-SECRET-KEY-"] {
                let text = encode(data, hrp: hrp)
                #expect(text == (hrp == "age" ? text.lowercased() : text.uppercased()))
                #expect(try decode(text, hrp: hrp) == data)
            }
        }
    }

    @Test("mixed case, bad checksums, bad characters and misplaced separators are rejected")
    func invalidStringsAreRejected() {
        #expect(throws: AgeError.keyInvalid("Bech32 string mixes upper and lower case")) {
            try decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqXw", hrp: "abcdef")
        }
        // BIP 173: checksum computed over the upper-case human-readable part.
        #expect(throws: AgeError.keyInvalid("Bech32 checksum mismatch")) { try decode("A1G7SGD8", hrp: "A") }
        #expect(throws: AgeError.keyInvalid("Bech32 checksum mismatch")) {
            try decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxq", hrp: "abcdef")
        }
        #expect(throws: AgeError.keyInvalid("Bech32 string has an invalid character")) {
            try decode("x1b4n0q5v", hrp: "x")
        }
        #expect(throws: AgeError.keyInvalid("Bech32 string has an invalid character")) {
            try decode("a1 2uel5l", hrp: "a")
        }
        #expect(throws: AgeError.keyInvalid("Bech32 separator missing or misplaced")) { try decode("10a06t8", hrp: "") }
        #expect(throws: AgeError.keyInvalid("Bech32 separator missing or misplaced")) {
            try decode("li1dgmt3", hrp: "li")
        }
        #expect(throws: AgeError.keyInvalid("wrong key type prefix")) { try decode("a12uel5l", hrp: "A") }
    }

    @Test("recipients and identities round-trip through their public encodings")
    func keysRoundTrip() throws {
        let identity = X25519Identity.generate()
        let encoded = identity.encoded()
        #expect(encoded.count == 74)
        #expect(String(decoding: TestSupport.bytes(encoded), as: UTF8.self).hasPrefix("AGE-SECRET-KEY-1"))
        let parsed = try X25519Identity(parsing: encoded)
        #expect(parsed.recipient == identity.recipient)
        #expect(parsed.encoded().constantTimeEquals(encoded))

        let recipient = identity.recipient.encoded
        #expect(recipient.count == 62 && recipient.hasPrefix("age1"))
        #expect(try X25519Recipient(parsing: recipient) == identity.recipient)
    }

    @Test("keys in the wrong case, with a flipped character or of the wrong type are rejected")
    func malformedKeysAreRejected() {
        let identity = X25519Identity.generate()
        let recipient = identity.recipient.encoded
        let secret = String(decoding: TestSupport.bytes(identity.encoded()), as: UTF8.self)

        #expect(throws: AgeError.keyInvalid("wrong key type prefix")) {
            try X25519Recipient(parsing: recipient.uppercased())
        }
        #expect(throws: AgeError.keyInvalid("Bech32 string mixes upper and lower case")) {
            try X25519Recipient(parsing: "A" + recipient.dropFirst())
        }
        var flipped = Array(recipient.utf8)
        flipped[10] = flipped[10] == UInt8(ascii: "q") ? UInt8(ascii: "p") : UInt8(ascii: "q")
        #expect(throws: AgeError.keyInvalid("Bech32 checksum mismatch")) {
            try X25519Recipient(parsing: String(decoding: flipped, as: UTF8.self))
        }
        #expect(throws: AgeError.keyInvalid("wrong key type prefix")) {
            try X25519Identity(parsing: SecretBytes(Array(secret.lowercased().utf8)))
        }
        #expect(throws: AgeError.keyInvalid("wrong key type prefix")) {
            try X25519Identity(parsing: SecretBytes(Array(recipient.utf8)))
        }
        #expect(throws: AgeError.keyInvalid("an X25519 recipient holds 32 bytes")) {
            try X25519Recipient(parsing: encode([1, 2, 3], hrp: "age"))
        }
    }
}
