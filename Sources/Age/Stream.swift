import TokendCore

/// The age payload: a 16-byte nonce, then STREAM (ChaCha20-Poly1305 over 64 KiB chunks, nonce = 11-byte
/// big-endian chunk counter ‖ final flag) under a key derived from the file key and that nonce.
enum PayloadStream {
    static let chunkSize = 64 * 1024
    static let nonceSize = 16
    private static let sealedChunkSize = chunkSize + ChaChaPoly.tagSize

    private static func chunkNonce(_ index: Int, final: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { nonce[10 - i] = UInt8(truncatingIfNeeded: UInt64(index) >> UInt64(8 * i)) }
        nonce[11] = final ? 1 : 0
        return nonce
    }

    private static func payloadKey(_ fileKey: SecretBytes, nonce: [UInt8]) throws(AgeError) -> ChaChaPoly {
        try ChaChaPoly(key: Crypto.hkdf(key: fileKey, salt: nonce, info: "payload"))
    }

    /// Appends nonce ‖ chunks to `file`. Empty plaintext is one empty final chunk.
    static func seal(_ plaintext: SecretBytes, fileKey: SecretBytes, appendingTo file: inout [UInt8]) throws(AgeError) {
        let nonce = Crypto.randomBytes(count: nonceSize)
        let aead = try payloadKey(fileKey, nonce: nonce)
        let chunks = max(1, (plaintext.count + chunkSize - 1) / chunkSize)
        file += nonce
        let start = file.count
        file += repeatElement(0, count: plaintext.count + chunks * ChaChaPoly.tagSize)
        let ok = plaintext.withUnsafeBytes { input in
            file.withUnsafeMutableBytes { output in
                var read = 0
                var written = start
                for index in 0..<chunks {
                    let n = min(chunkSize, input.count - read)
                    let chunk = UnsafeRawBufferPointer(rebasing: input[read..<(read + n)])
                    let end = written + n + ChaChaPoly.tagSize
                    let sealed = UnsafeMutableRawBufferPointer(rebasing: output[written..<end])
                    guard aead.seal(nonce: chunkNonce(index, final: index == chunks - 1), chunk, into: sealed) else {
                        return false
                    }
                    read += n
                    written += sealed.count
                }
                return true
            }
        }
        guard ok else { throw .cryptoFailure("ChaCha20-Poly1305") }
    }

    /// Decrypts nonce ‖ chunks. Each chunk is released into the result only after its tag verifies, and on
    /// any error the partial result is dropped (and wiped), so no unauthenticated or partial plaintext escapes.
    static func open(_ payload: UnsafeRawBufferPointer, fileKey: SecretBytes) throws(AgeError) -> SecretBytes {
        // The reference suite counts a missing nonce with the header, before any chunk is looked at.
        guard payload.count >= nonceSize else { throw .headerInvalid("payload nonce missing or short") }
        let aead = try payloadKey(fileKey, nonce: Array(payload[..<nonceSize]))
        let chunks = UnsafeRawBufferPointer(rebasing: payload[nonceSize...])
        let plaintext = SecretBytes(capacity: chunks.count)

        func openChunk(_ sealed: UnsafeRawBufferPointer, _ index: Int, final: Bool) -> Bool {
            let nonce = chunkNonce(index, final: final)
            if sealed.count == ChaChaPoly.tagSize {
                return aead.open(nonce: nonce, sealed, into: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            }
            var opened = false
            _ = plaintext.appendInPlace(upTo: sealed.count - ChaChaPoly.tagSize) { out in
                opened = aead.open(nonce: nonce, sealed, into: out)
                return opened ? out.count : 0
            }
            return opened
        }

        var offset = 0
        var index = 0
        while true {
            // Reaching the end here means the previous chunk (if any) was not final.
            guard offset < chunks.count else { throw .payloadTruncated }
            let size = min(chunks.count - offset, sealedChunkSize)
            let sealed = UnsafeRawBufferPointer(rebasing: chunks[offset..<(offset + size)])
            offset += size
            let atEnd = offset == chunks.count
            if size < sealedChunkSize {
                // A short chunk can only be the final one.
                guard size >= ChaChaPoly.tagSize else { throw .payloadInvalid("final chunk shorter than its tag") }
                guard size > ChaChaPoly.tagSize || index == 0 else {
                    throw .payloadInvalid("empty final chunk after data")
                }
                guard openChunk(sealed, index, final: true) else { throw .payloadAuthenticationFailed(chunk: index) }
                return plaintext
            }
            // A full chunk may be final too: try the flag its position calls for, then the other one to say
            // precisely what is wrong.
            if openChunk(sealed, index, final: atEnd) {
                if atEnd { return plaintext }
                index += 1
                continue
            }
            if openChunk(sealed, index, final: !atEnd) {
                throw atEnd ? .payloadTruncated : .payloadInvalid("data after the final chunk")
            }
            throw .payloadAuthenticationFailed(chunk: index)
        }
    }
}
