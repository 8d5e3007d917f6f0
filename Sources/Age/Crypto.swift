import COpenSSL
import Glibc
import TokendCore

// Thin typed wrappers over OpenSSL 3.0 libcrypto. Secrets go in and come out as `SecretBytes`; OpenSSL's
// error queue is cleared on every failure so that it never leaks into an unrelated later call.

/// `withUnsafeBytes` is `rethrows`, which widens a typed error to `any Error`; this carries `AgeError` through.
func withBytes<R>(of array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(AgeError) -> R) throws(AgeError) -> R {
    try array.withUnsafeBytes { bytes in Result { () throws(AgeError) in try body(bytes) } }.get()
}

/// The `SecretBytes` counterpart of `withBytes(of:_:)` for arrays.
func withBytes<R>(of secret: SecretBytes, _ body: (UnsafeRawBufferPointer) throws(AgeError) -> R) throws(AgeError)
    -> R
{
    try secret.withUnsafeBytes { bytes in Result { () throws(AgeError) in try body(bytes) } }.get()
}

extension UnsafeRawBufferPointer {
    var bytePointer: UnsafePointer<UInt8>? { baseAddress?.assumingMemoryBound(to: UInt8.self) }
}

extension UnsafeMutableRawBufferPointer {
    var bytePointer: UnsafeMutablePointer<UInt8>? { baseAddress?.assumingMemoryBound(to: UInt8.self) }
}

enum Crypto {
    /// Key material comes from the private DRBG, so that nonces and salts (public) never share its state.
    static func randomSecret(count: Int) -> SecretBytes {
        let out = SecretBytes(capacity: count)
        let written = out.appendInPlace(upTo: count) { buffer in
            RAND_priv_bytes(buffer.bytePointer, Int32(count)) == 1 ? count : 0
        }
        // Without randomness no key can be made safely; there is nothing sensible to fall back to.
        guard written == count else { fatalError("tokend: the OpenSSL random generator failed") }
        return out
    }

    static func randomBytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&out, Int32(count)) == 1 else { fatalError("tokend: the OpenSSL random generator failed") }
        return out
    }

    /// HKDF-SHA-256 with a 32-byte output.
    static func hkdf(key: SecretBytes, salt: [UInt8], info: StaticString) throws(AgeError) -> SecretBytes {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw failure("HKDF") }
        defer { EVP_PKEY_CTX_free(context) }
        var ok = key.withUnsafeBytes { ikm in
            EVP_PKEY_derive_init(context) == 1
                && EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) == 1
                && EVP_PKEY_CTX_set1_hkdf_key(context, ikm.bytePointer, Int32(ikm.count)) == 1
                && EVP_PKEY_CTX_add1_hkdf_info(context, info.utf8Start, Int32(info.utf8CodeUnitCount)) == 1
        }
        // An empty salt means HKDF's default salt, which is what OpenSSL uses when none is set; setting a
        // zero-length one instead makes the derivation fail.
        if ok, !salt.isEmpty {
            ok = EVP_PKEY_CTX_set1_hkdf_salt(context, salt, Int32(salt.count)) == 1
        }
        let out = SecretBytes(capacity: 32)
        if ok {
            let written = out.appendInPlace(upTo: 32) { buffer in
                var length = 32
                return EVP_PKEY_derive(context, buffer.bytePointer, &length) == 1 ? length : 0
            }
            ok = written == 32
        }
        guard ok else { throw failure("HKDF") }
        return out
    }

    static func hmacSHA256(key: SecretBytes, message: UnsafeRawBufferPointer) throws(AgeError) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            mac.withUnsafeMutableBufferPointer { m in
                let digest = HMAC(
                    EVP_sha256(), k.baseAddress, Int32(k.count), message.bytePointer, message.count, m.baseAddress,
                    &length)
                return digest != nil
            }
        }
        guard ok, length == 32 else { throw failure("HMAC") }
        return mac
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && CRYPTO_memcmp(a, b, a.count) == 0
    }

    /// X25519(privateKey, basepoint); nil only if OpenSSL fails.
    static func x25519PublicKey(_ privateKey: SecretBytes) -> [UInt8]? {
        guard let key = privateKey.withUnsafeBytes({
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.bytePointer, $0.count)
        }) else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_free(key) }
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == 32 else {
            ERR_clear_error()
            return nil
        }
        return out
    }

    /// X25519(privateKey, peer); nil when there is no usable shared secret. OpenSSL refuses low-order peers
    /// (the result would be all zero); the explicit zero check keeps that rule independent of OpenSSL.
    static func x25519(_ privateKey: SecretBytes, _ peer: [UInt8]) -> SecretBytes? {
        guard peer.count == 32,
            let key = privateKey.withUnsafeBytes({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.bytePointer, $0.count)
            })
        else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_free(key) }
        guard let peerKey = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, peer, peer.count) else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_free(peerKey) }
        guard let context = EVP_PKEY_CTX_new(key, nil) else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_CTX_free(context) }
        let shared = SecretBytes(capacity: 32)
        let written = shared.appendInPlace(upTo: 32) { buffer in
            var length = 32
            let ok = EVP_PKEY_derive_init(context) == 1 && EVP_PKEY_derive_set_peer(context, peerKey) == 1
                && EVP_PKEY_derive(context, buffer.bytePointer, &length) == 1
            return ok ? length : 0
        }
        let allZero = shared.withUnsafeBytes { $0.reduce(0, |) == 0 }
        guard written == 32, !allZero else {
            ERR_clear_error()
            return nil
        }
        return shared
    }

    /// scrypt with age's parameters: N = 2^logN, r = 8, p = 1, 32-byte output.
    static func scrypt(passphrase: SecretBytes, salt: [UInt8], logN: Int) throws(AgeError) -> SecretBytes {
        precondition((1...30).contains(logN))
        let n = UInt64(1) << UInt64(logN)
        // What r = 8, p = 1 needs; with 0 OpenSSL applies a 32 MiB limit that fails from logN 15 on.
        let maxMemory = 1024 * (n + 3)
        let key = SecretBytes(capacity: 32)
        let written = passphrase.withUnsafeBytes { pass in
            key.appendInPlace(upTo: 32) { out in
                let ok = EVP_PBE_scrypt(
                    pass.baseAddress?.assumingMemoryBound(to: CChar.self), pass.count, salt, salt.count,
                    n, 8, 1, maxMemory, out.bytePointer, 32)
                return ok == 1 ? 32 : 0
            }
        }
        guard written == 32 else { throw failure("scrypt") }
        return key
    }

    private static func failure(_ operation: String) -> AgeError {
        ERR_clear_error()
        return .cryptoFailure(operation)
    }
}

/// ChaCha20-Poly1305 without associated data, the only AEAD age uses. One instance serves all the chunks of
/// a payload; freeing the OpenSSL context also wipes its copy of the key.
final class ChaChaPoly {
    static let tagSize = 16
    /// Every stanza wrap key encrypts exactly one message, so a fixed nonce is safe there.
    static let zeroNonce = [UInt8](repeating: 0, count: 12)

    private let context: OpaquePointer
    private let key: SecretBytes

    init(key: SecretBytes) throws(AgeError) {
        precondition(key.count == 32)
        guard let context = EVP_CIPHER_CTX_new() else {
            ERR_clear_error()
            throw .cryptoFailure("cipher context")
        }
        self.context = context
        self.key = key
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Writes ciphertext ‖ tag into `out`, which holds exactly `plaintext.count + 16` bytes.
    func seal(nonce: [UInt8], _ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(nonce.count == 12 && out.count == plaintext.count + Self.tagSize)
        let n = plaintext.count
        let output = out.bytePointer!
        var length: Int32 = 0
        let initialized = key.withUnsafeBytes { k in
            EVP_EncryptInit_ex(context, EVP_chacha20_poly1305(), nil, k.bytePointer, nonce) == 1
        }
        let ok = initialized
            && (n == 0
                || (EVP_EncryptUpdate(context, output, &length, plaintext.bytePointer, Int32(n)) == 1 && length == n))
            && EVP_EncryptFinal_ex(context, output + n, &length) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagSize), output + n) == 1
        if !ok { ERR_clear_error() }
        return ok
    }

    /// Decrypts ciphertext ‖ tag into `out` (exactly `sealed.count - 16` bytes). OpenSSL writes plaintext
    /// before it checks the tag, so on failure `out` is wiped and must not be used.
    func open(nonce: [UInt8], _ sealed: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(nonce.count == 12 && sealed.count >= Self.tagSize && out.count == sealed.count - Self.tagSize)
        let n = out.count
        let tag = UnsafeMutableRawPointer(mutating: sealed.baseAddress! + n)
        var length: Int32 = 0
        var finalByte: UInt8 = 0
        let initialized = key.withUnsafeBytes { k in
            EVP_DecryptInit_ex(context, EVP_chacha20_poly1305(), nil, k.bytePointer, nonce) == 1
        }
        let ok = initialized
            && (n == 0
                || (EVP_DecryptUpdate(context, out.bytePointer, &length, sealed.bytePointer, Int32(n)) == 1
                    && length == n))
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagSize), tag) == 1
            && EVP_DecryptFinal_ex(context, &finalByte, &length) == 1
        if !ok {
            if let base = out.baseAddress { explicit_bzero(base, n) }
            ERR_clear_error()
        }
        return ok
    }

    /// Encrypts a 16-byte file key under a single-use wrap key: the 32-byte body of a stanza.
    static func sealFileKey(_ fileKey: SecretBytes, with wrapKey: SecretBytes) throws(AgeError) -> [UInt8] {
        let aead = try ChaChaPoly(key: wrapKey)
        var body = [UInt8](repeating: 0, count: fileKey.count + tagSize)
        let ok = fileKey.withUnsafeBytes { plaintext in
            body.withUnsafeMutableBytes { aead.seal(nonce: zeroNonce, plaintext, into: $0) }
        }
        guard ok else { throw .cryptoFailure("ChaCha20-Poly1305") }
        return body
    }

    /// The file key inside a stanza body, or nil when the body does not authenticate under `wrapKey`.
    static func openFileKey(_ body: [UInt8], with wrapKey: SecretBytes) throws(AgeError) -> SecretBytes? {
        let aead = try ChaChaPoly(key: wrapKey)
        let fileKey = SecretBytes(capacity: body.count - tagSize)
        var opened = false
        _ = body.withUnsafeBytes { sealed in
            fileKey.appendInPlace(upTo: body.count - tagSize) { out in
                opened = aead.open(nonce: zeroNonce, sealed, into: out)
                return opened ? out.count : 0
            }
        }
        return opened ? fileKey : nil
    }
}
