import TokendCore
import TokendProtocol

/// The plaintext inside vault.age, version 1:
///
///     tokend-vault 1\n
///     {"name":"…","value_b64":"…","owner":"…","created":"…","updated":"…","expires":"…","note":"…","allow":[…]}\n
///     …
///
/// One JSON object per secret and line, in name order, with the protocol's field names and encodings (values
/// as padded base64, times as RFC 3339). It is built and parsed in secret memory only.
enum VaultFormat {
    static let header = "tokend-vault 1"

    static func encode(_ entries: [SecretName: StoredSecret]) -> SecretBytes {
        let out = SecretBytes(capacity: 4096)
        out.append(text: header)
        out.append(0x0A)
        for name in entries.keys.sorted() {
            let secret = entries[name]!
            var w = JSONWriter(into: out)
            w.beginObject()
            w.field("name", name.value)
            w.key("value_b64"); w.base64(secret.value)
            ResponseEncoder.metadata(secret.metadata, into: &w)
            w.endObject()
            out.append(0x0A)
        }
        return out
    }

    static func decode(_ plaintext: SecretBytes) throws(TokendError) -> [SecretName: StoredSecret] {
        let headerLine = header + "\n"
        let headerOK = plaintext.withUnsafeBytes { b in
            b.count >= headerLine.utf8.count && b.prefix(headerLine.utf8.count).elementsEqual(headerLine.utf8)
        }
        guard headerOK else {
            throw TokendError(.storeCorrupt, "vault.age decrypted but does not hold a tokend vault (version 1)")
        }
        var entries: [SecretName: StoredSecret] = [:]
        var start = headerLine.utf8.count
        var lineNumber = 1
        while start < plaintext.count {
            lineNumber += 1
            guard let end = plaintext.firstIndex(of: 0x0A, from: start) else {
                throw TokendError(.storeCorrupt, "vault line \(lineNumber) is not terminated")
            }
            let line = SecretBytes(capacity: end - start)
            plaintext.withUnsafeBytes { line.append(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            start = end + 1
            let object: JSONObject
            do { object = try JSONObject.parse(line) } catch {
                throw TokendError(.storeCorrupt, "vault line \(lineNumber) is not valid JSON")
            }
            guard let nameText = object.string("name"), let name = try? SecretName(nameText),
                let encoded = object["value_b64"], let value = object.secretBase64(encoded)
            else { throw TokendError(.storeCorrupt, "vault line \(lineNumber) lacks a valid name or value") }
            entries[name] = StoredSecret(value: value, metadata: SecretMetadata(object))
            line.removeAll()
        }
        return entries
    }
}
