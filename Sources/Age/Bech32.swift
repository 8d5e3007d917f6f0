import TokendCore

/// BIP 173 Bech32 (checksum constant 1) as age uses it: no 90-character limit, one case throughout, and the
/// human-readable part compared case-sensitively, which is how age keeps identities (`AGE-SECRET-KEY-`, upper
/// case) apart from recipients (`age`, lower case). Data goes straight between the text and a `SecretBytes`,
/// with no intermediate array, because for identities the data is the secret key.
enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (value, letter) in charset.enumerated() { table[Int(letter)] = Int8(value) }
        return table
    }()
    private static let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]

    private static func step(_ checksum: UInt32, _ value: UInt8) -> UInt32 {
        let top = checksum >> 25
        var next = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
        for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { next ^= generator[i] }
        return next
    }

    /// The checksum state after the expanded human-readable part (always taken in lower case).
    private static func start(hrp: String) -> UInt32 {
        let lower = Array(hrp.lowercased().utf8)
        var checksum: UInt32 = 1
        for c in lower { checksum = step(checksum, c >> 5) }
        checksum = step(checksum, 0)
        for c in lower { checksum = step(checksum, c & 31) }
        return checksum
    }

    private static func isUpper(_ c: UInt8) -> Bool { (0x41...0x5A).contains(c) }
    private static func isLower(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) }

    /// Appends `hrp`, "1", the data and the checksum to `out`, in the case of `hrp` (which must be one case).
    static func encode(hrp: String, _ data: UnsafeRawBufferPointer, into out: SecretBytes) {
        let upper = hrp.utf8.contains(where: isUpper)
        precondition(!(upper && hrp.utf8.contains(where: isLower)))
        var checksum = start(hrp: hrp)
        func emit(_ value: UInt8) {
            let letter = charset[Int(value)]
            out.append(upper && isLower(letter) ? letter - 0x20 : letter)
        }
        out.append(text: hrp)
        out.append(UInt8(ascii: "1"))
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in data {
            accumulator = (accumulator << 8 | UInt32(byte)) & 0x1fff
            bits += 8
            while bits >= 5 {
                bits -= 5
                let value = UInt8(accumulator >> UInt32(bits) & 31)
                checksum = step(checksum, value)
                emit(value)
            }
        }
        if bits > 0 {
            let value = UInt8(accumulator << UInt32(5 - bits) & 31)
            checksum = step(checksum, value)
            emit(value)
        }
        accumulator = 0
        for _ in 0..<6 { checksum = step(checksum, 0) }
        checksum ^= 1
        for i in 0..<6 { emit(UInt8(checksum >> UInt32(5 * (5 - i)) & 31)) }
    }

    /// Appends the data of `text` to `out` if `text` is valid Bech32 whose human-readable part is exactly
    /// `hrp`; on failure `out` is left as it was.
    static func decode(_ text: UnsafeRawBufferPointer, hrp: String, into out: SecretBytes) throws(AgeError) {
        var sawUpper = false
        var sawLower = false
        for c in text {
            guard (33...126).contains(c) else { throw .keyInvalid("Bech32 string has an invalid character") }
            sawUpper = sawUpper || isUpper(c)
            sawLower = sawLower || isLower(c)
        }
        guard !(sawUpper && sawLower) else { throw .keyInvalid("Bech32 string mixes upper and lower case") }
        guard let separator = text.lastIndex(of: UInt8(ascii: "1")), separator >= 1, separator + 7 <= text.count
        else { throw .keyInvalid("Bech32 separator missing or misplaced") }
        guard text[..<separator].elementsEqual(hrp.utf8) else { throw .keyInvalid("wrong key type prefix") }
        for c in text[(separator + 1)...] where values[Int(c | 0x20)] < 0 {
            throw .keyInvalid("Bech32 string has an invalid character")
        }

        let initialCount = out.count
        let dataEnd = text.count - 6
        var checksum = start(hrp: hrp)
        var accumulator: UInt32 = 0
        var bits = 0
        for i in (separator + 1)..<text.count {
            // Digits are unaffected by | 0x20; letters become lower case.
            let value = UInt8(values[Int(text[i] | 0x20)])
            checksum = step(checksum, value)
            guard i < dataEnd else { continue }
            accumulator = (accumulator << 5 | UInt32(value)) & 0x1fff
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // The leftover bits are padding: fewer than five, all zero.
        let paddingOK = bits < 5 && accumulator & ((1 << UInt32(bits)) - 1) == 0
        accumulator = 0
        guard checksum == 1 else {
            out.truncate(to: initialCount)
            throw .keyInvalid("Bech32 checksum mismatch")
        }
        guard paddingOK else {
            out.truncate(to: initialCount)
            throw .keyInvalid("Bech32 data has invalid padding")
        }
    }
}
