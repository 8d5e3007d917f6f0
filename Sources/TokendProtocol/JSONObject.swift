import TokendCore

/// A parsed JSON object together with the line it came from (its strings are ranges of that line).
public struct JSONObject: @unchecked Sendable {
    public let line: SecretBytes
    public let members: [(key: String, value: JSONValue)]

    public init(line: SecretBytes, members: [(key: String, value: JSONValue)]) {
        self.line = line
        self.members = members
    }

    /// Parses a whole line that must hold one object.
    public static func parse(_ line: SecretBytes) throws(JSONError) -> JSONObject {
        let value = try line.withUnsafeBytes { (b) throws(JSONError) -> JSONValue in try JSONParser.parse(b) }
        guard case .object(let members) = value else { throw JSONError(reason: "not a JSON object", offset: 0) }
        return JSONObject(line: line, members: members)
    }

    public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    public func text(_ value: JSONValue) -> String? {
        guard case .string(let range, let escaped) = value else { return nil }
        return line.withUnsafeBytes { JSONText.string($0, range, escaped: escaped) }
    }

    public func string(_ key: String) -> String? { self[key].flatMap(text) }

    /// The exact JSON text of a value (to echo an id).
    public func rawText(_ value: JSONValue) -> String? {
        switch value {
        case .number(let range): return line.withUnsafeBytes { String(decoding: $0[range], as: UTF8.self) }
        case .string(let range, _):
            return line.withUnsafeBytes { String(decoding: $0[range.lowerBound - 1..<range.upperBound + 1], as: UTF8.self) }
        case .null: return "null"
        default: return nil
        }
    }

    public func int(_ key: String) -> Int64? {
        guard case .number(let range)? = self[key] else { return nil }
        return line.withUnsafeBytes { Int64(String(decoding: $0[range], as: UTF8.self)) }
    }

    public func bool(_ key: String) -> Bool? {
        guard case .bool(let v)? = self[key] else { return nil }
        return v
    }

    public func object(_ key: String) -> JSONObject? {
        guard case .object(let m)? = self[key] else { return nil }
        return JSONObject(line: line, members: m)
    }

    public func objects(_ key: String) -> [JSONObject]? {
        guard case .array(let items)? = self[key] else { return nil }
        var result: [JSONObject] = []
        for item in items {
            guard case .object(let m) = item else { return nil }
            result.append(JSONObject(line: line, members: m))
        }
        return result
    }

    public func strings(_ key: String) -> [String]? {
        guard case .array(let items)? = self[key] else { return nil }
        var result: [String] = []
        for item in items {
            guard let s = text(item) else { return nil }
            result.append(s)
        }
        return result
    }

    /// A string value decoded into secret memory (a passphrase).
    public func secretString(_ value: JSONValue) -> SecretBytes? {
        guard case .string(let range, _) = value else { return nil }
        let out = SecretBytes(capacity: range.count)
        line.withUnsafeBytes { JSONText.unescape(UnsafeRawBufferPointer(rebasing: $0[range]), into: out) }
        return out
    }

    /// A base64 string value decoded into secret memory; nil when it is not canonical padded base64.
    public func secretBase64(_ value: JSONValue) -> SecretBytes? {
        guard case .string(let range, let escaped) = value, !escaped else { return nil }
        let out = SecretBytes(capacity: Base64.decodedCount(range.count))
        let ok = line.withUnsafeBytes { Base64.decode(UnsafeRawBufferPointer(rebasing: $0[range]), padded: true, into: out) }
        return ok ? out : nil
    }

    /// The length in bytes of a string value as sent (before decoding).
    public func encodedLength(_ value: JSONValue) -> Int? {
        guard case .string(let range, _) = value else { return nil }
        return range.count
    }
}
