import Age
import Testing
import TokendCore

private func randomPlaintext(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

@Suite("AgeFile X25519 encryption")
struct AgeFileTests {
    @Test("empty, 1-byte, 64 KiB − 1, exactly 64 KiB, 64 KiB + 1 and multi-chunk plaintexts round-trip",
          arguments: [0, 1, 65_535, 65_536, 65_537, 131_072, 3 * 65_536 + 5])
    func plaintextRoundTrips(size: Int) throws {
        let identity = X25519Identity.generate()
        let plaintext = randomPlaintext(size)
        let file = try AgeFile.encrypt(SecretBytes(plaintext), to: [identity.recipient])
        let chunks = max(1, (size + 65_535) / 65_536)
        let header = file.count - 16 - size - 16 * chunks
        #expect(Array(file.prefix(22)) == Array("age-encryption.org/v1\n".utf8))
        #expect(header > 0 && header < 300, "payload is nonce + \(chunks) chunk(s) of at most 64 KiB + tag")
        let decrypted = try AgeFile.decrypt(file, identities: [identity])
        #expect(TestSupport.bytes(decrypted) == plaintext)
    }

    @Test("every recipient of a multi-recipient file can decrypt it; others get noIdentityMatched")
    func multipleRecipients() throws {
        let identities = (0..<3).map { _ in X25519Identity.generate() }
        let file = try AgeFile.encrypt(SecretBytes(Array("shared".utf8)), to: identities.map(\.recipient))
        for identity in identities {
            #expect(TestSupport.bytes(try AgeFile.decrypt(file, identities: [identity])) == Array("shared".utf8))
        }
        #expect(throws: AgeError.noIdentityMatched) {
            try AgeFile.decrypt(file, identities: [X25519Identity.generate()])
        }
        #expect(throws: AgeError.noIdentityMatched) { try AgeFile.decrypt(file, identities: []) }
    }

    @Test("each file gets a fresh file key, ephemeral share and nonce")
    func encryptionIsRandomized() throws {
        let recipient = X25519Identity.generate().recipient
        let a = try AgeFile.encrypt(SecretBytes(Array("same".utf8)), to: [recipient])
        let b = try AgeFile.encrypt(SecretBytes(Array("same".utf8)), to: [recipient])
        #expect(a != b)
    }

    @Test("encrypting to no recipient is refused")
    func noRecipientsIsRefused() {
        #expect(throws: AgeError.invalidArgument("no recipients")) { try AgeFile.encrypt(SecretBytes([1]), to: []) }
    }

    @Test("an armored file decrypts like the binary one and armor round-trips")
    func armoredFilesDecrypt() throws {
        let identity = X25519Identity.generate()
        let plaintext = randomPlaintext(1_000)
        let file = try AgeFile.encrypt(SecretBytes(plaintext), to: [identity.recipient])
        let armored = Armor.encode(file)
        let text = String(decoding: armored, as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----\n"))
        #expect(text.hasSuffix("\n-----END AGE ENCRYPTED FILE-----\n"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 64 || $0.hasPrefix("-----") })
        #expect(try Armor.decode(armored) == file)
        #expect(TestSupport.bytes(try AgeFile.decrypt(armored, identities: [identity])) == plaintext)
        var garbled = armored
        garbled[40] = UInt8(ascii: "!")
        #expect(throws: AgeError.armorInvalid("invalid base64")) {
            try AgeFile.decrypt(garbled, identities: [identity])
        }
    }
}

@Suite("AgeFile tampering and truncation")
struct TamperingTests {
    let identity = X25519Identity.generate()
    let file: [UInt8]
    let headerCount: Int

    init() throws {
        // Two chunks: a full one and a 1-byte final one.
        file = try AgeFile.encrypt(SecretBytes(randomPlaintext(65_537)), to: [identity.recipient])
        headerCount = file.count - 16 - 65_537 - 32
    }

    private func decrypt(_ bytes: [UInt8]) throws(AgeError) -> SecretBytes {
        try AgeFile.decrypt(bytes, identities: [identity])
    }

    private func flipping(_ index: Int) -> [UInt8] {
        var copy = file
        copy[index] ^= 0x01
        return copy
    }

    @Test("a file cut at a chunk boundary is payloadTruncated")
    func truncatedAtChunkBoundary() {
        #expect(throws: AgeError.payloadTruncated) { try decrypt(Array(file.dropLast(17))) }
        #expect(throws: AgeError.payloadTruncated) { try decrypt(Array(file.prefix(headerCount + 16))) }
    }

    @Test("a file cut inside a chunk fails authentication of that chunk, or a STREAM rule")
    func truncatedInsideChunk() {
        #expect(throws: AgeError.payloadAuthenticationFailed(chunk: 0)) {
            try decrypt(Array(file.prefix(headerCount + 16 + 1_000)))
        }
        // Cutting the 1-byte final chunk's last byte leaves 16 bytes: an empty final chunk, only legal alone.
        #expect(throws: AgeError.payloadInvalid("empty final chunk after data")) {
            try decrypt(Array(file.dropLast(1)))
        }
        #expect(throws: AgeError.payloadInvalid("final chunk shorter than its tag")) {
            try decrypt(Array(file.prefix(headerCount + 16 + 10)))
        }
    }

    @Test("a file cut inside the header or the nonce is headerInvalid")
    func truncatedInHeader() {
        #expect(throws: AgeError.headerInvalid("header ends before its MAC")) {
            try decrypt(Array(file.prefix(headerCount - 10)))
        }
        #expect(throws: AgeError.headerInvalid("payload nonce missing or short")) {
            try decrypt(Array(file.prefix(headerCount + 15)))
        }
    }

    @Test("a flipped payload byte names the chunk that failed")
    func flippedPayloadByte() {
        #expect(throws: AgeError.payloadAuthenticationFailed(chunk: 0)) {
            try decrypt(flipping(headerCount + 16 + 100))
        }
        // nonce
        #expect(throws: AgeError.payloadAuthenticationFailed(chunk: 0)) {
            try decrypt(flipping(headerCount + 3))
        }
        #expect(throws: AgeError.payloadAuthenticationFailed(chunk: 1)) { try decrypt(flipping(file.count - 1)) }
    }

    @Test("appended data after the final chunk is payloadInvalid")
    func trailingData() throws {
        #expect(throws: AgeError.payloadAuthenticationFailed(chunk: 1)) { try decrypt(file + [0]) }
        let exact = try AgeFile.encrypt(SecretBytes(randomPlaintext(65_536)), to: [identity.recipient])
        #expect(throws: AgeError.payloadInvalid("data after the final chunk")) {
            try decrypt(exact + [UInt8](repeating: 0, count: 17))
        }
    }

    @Test("an added stanza is macMismatch, an altered stanza body noIdentityMatched, another version unsupported")
    func alteredHeader() {
        var header = file
        let macLineStart = headerCount - 1 - 43 - 4
        #expect(Array(header[macLineStart..<(macLineStart + 4)]) == Array("--- ".utf8))
        // An extra unknown stanza is skipped when unwrapping, but the MAC does not cover it.
        let extra = Array("-> grease x\n\n".utf8)
        header.insert(contentsOf: extra, at: macLineStart)
        #expect(throws: AgeError.macMismatch) { try decrypt(header) }
        // Another valid base64 letter inside the stanza body: still well-formed, but it no longer opens.
        // "age-encryption.org/v1\n-> X25519 " is 32 bytes; the 43-character share and its LF follow.
        var body = file
        let bodyByte = 32 + 43 + 1 + 5
        body[bodyByte] = body[bodyByte] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: AgeError.noIdentityMatched) { try decrypt(body) }
        #expect(throws: AgeError.unsupported("age format version")) {
            try decrypt(Array("age-encryption.org/v2".utf8) + file.dropFirst(21))
        }
    }
}
