/// Strict standard-alphabet base64. The protocol uses the padded form; age uses the unpadded form and both
/// reject anything non-canonical (stray characters, wrong padding, non-zero unused bits) so that a value has
/// exactly one encoding.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encodedCount(_ n: Int, padded: Bool) -> Int {
        padded ? (n + 2) / 3 * 4 : (n * 4 + 2) / 3
    }

    /// Encodes `input` straight into a `SecretBytes`, so that a secret never passes through a `String`.
    public static func encode(_ input: UnsafeRawBufferPointer, padded: Bool, into out: SecretBytes) {
        out.reserveCapacity(out.count + encodedCount(input.count, padded: padded))
        var i = 0
        let n = input.count
        var quad = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        while i + 3 <= n {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            quad = (alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], alphabet[Int(v & 63)])
            withUnsafeBytes(of: &quad) { out.append($0) }
            i += 3
        }
        let rest = n - i
        if rest == 1 {
            let v = UInt32(input[i]) << 16
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int(v >> 12 & 63)])
            if padded { out.append(contentsOf: "==") }
        } else if rest == 2 {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(alphabet[Int(v >> 6 & 63)])
            if padded { out.append(UInt8(ascii: "=")) }
        }
        quad = (0, 0, 0, 0)
    }

    public static func encode(_ bytes: [UInt8], padded: Bool) -> String {
        let out = SecretBytes()
        bytes.withUnsafeBytes { encode($0, padded: padded, into: out) }
        return out.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    public static func decodedCount(_ n: Int) -> Int { n / 4 * 3 + 3 }

    /// Decodes into `out`; returns false (leaving `out` wiped back to its prior length) on any non-canonical
    /// input.
    public static func decode(_ input: UnsafeRawBufferPointer, padded: Bool, into out: SecretBytes) -> Bool {
        let start = out.count
        var n = input.count
        if padded {
            guard n % 4 == 0 else { return false }
            if n >= 1, input[n - 1] == UInt8(ascii: "=") { n -= 1 }
            if n >= 1, input[n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        if n % 4 == 1 { return false }
        out.reserveCapacity(start + n / 4 * 3 + 2)
        var i = 0
        var ok = true
        while i + 4 <= n {
            let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])]
            let c = reverse[Int(input[i + 2])], d = reverse[Int(input[i + 3])]
            if (a | b | c | d) & 0xC0 != 0 { ok = false; break }
            let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out.append(UInt8(v >> 16))
            out.append(UInt8(v >> 8 & 0xFF))
            out.append(UInt8(v & 0xFF))
            i += 4
        }
        if ok {
            let rest = n - i
            if rest == 2 {
                let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])]
                if (a | b) & 0xC0 != 0 || b & 0x0F != 0 { ok = false } else { out.append(a << 2 | b >> 4) }
            } else if rest == 3 {
                let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])], c = reverse[Int(input[i + 2])]
                if (a | b | c) & 0xC0 != 0 || c & 0x03 != 0 {
                    ok = false
                } else {
                    out.append(a << 2 | b >> 4)
                    out.append((b & 0x0F) << 4 | c >> 2)
                }
            }
        }
        if !ok { out.truncate(to: start) }
        return ok
    }

    public static func decode(_ text: String, padded: Bool) -> [UInt8]? {
        let out = SecretBytes()
        var text = text
        let ok = text.withUTF8 { decode(UnsafeRawBufferPointer($0), padded: padded, into: out) }
        return ok ? out.withUnsafeBytes { Array($0) } : nil
    }
}
