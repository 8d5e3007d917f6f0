import TokendCore
import TokendPosix
import TokendProtocol

/// Text from outside (a host, a path, a user name) as one segment of a secret name: letters, digits and
/// `. _ - + @ : = ,` stay as they are, every other byte becomes `%XX`, and so do `%` itself and `~`, which
/// tokend keeps for its own markers (`~oauth_refresh_token`). A lone `.` or `..` is escaped too. Different
/// texts therefore never share a segment, and a segment reads back to its text.
enum NameSegment {
    static func encode(_ text: String) -> String {
        if text == "." || text == ".." { return String(repeating: "%2E", count: text.utf8.count) }
        var out = ""
        for byte in text.utf8 {
            if isKept(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hex(byte >> 4) + hex(byte & 15)
            }
        }
        return out
    }

    static func decode(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var i = segment.utf8.startIndex
        let utf8 = segment.utf8
        while i < utf8.endIndex {
            let c = utf8[i]
            if c == UInt8(ascii: "%") {
                let a = utf8.index(after: i)
                guard a < utf8.endIndex, utf8.index(after: a) < utf8.endIndex,
                    let high = nibble(utf8[a]), let low = nibble(utf8[utf8.index(after: a)])
                else { return nil }
                bytes.append(high << 4 | low)
                i = utf8.index(a, offsetBy: 2)
            } else {
                guard isKept(c) else { return nil }
                bytes.append(c)
                i = utf8.index(after: i)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isKept(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
            UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: ","):
            return true
        default:
            return false
        }
    }

    static func hex(_ v: UInt8) -> String { String(UnicodeScalar(v < 10 ? 48 + v : 55 + v)) }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - 48
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - 55
        default: nil
        }
    }
}

/// What the credential helpers share: reading their whole input into secret memory, and agent calls where
/// "nothing stored" is an answer rather than an error.
enum HelperIO {
    /// All of standard input, at most `limit` bytes.
    static func readInput(limit: Int) throws(CommandFailure) -> SecretBytes {
        let input = SecretBytes(capacity: 4096)
        let stdin = FileDescriptor.standardInput
        let complete: Bool
        do { complete = try stdin.readAll(into: input, limit: limit) } catch {
            throw CommandFailure(.failure, "cannot read standard input: \(error)")
        }
        guard complete else { throw CommandFailure(.invalid, "the input is larger than \(limit) bytes") }
        return input
    }

    /// The response, or nil when the secret does not exist (or has just expired).
    static func callAllowingAbsence(_ context: Context, _ request: Request) throws(CommandFailure) -> Response? {
        let client = try context.agent()
        do { return try client.call(request) } catch {
            if error.code == .notFound || error.code == .expired { return nil }
            throw CommandFailure(error)
        }
    }

    static func name(_ text: String) throws(CommandFailure) -> SecretName {
        do { return try SecretName(text) } catch { throw CommandFailure(error) }
    }

    /// The secret's value and metadata, or nil when there is none.
    static func fetch(_ context: Context, _ name: SecretName) throws(CommandFailure) -> (value: SecretBytes, metadata: SecretMetadata)? {
        var request = Request(op: .get)
        request.name = name
        guard let response = try callAllowingAbsence(context, request) else { return nil }
        do { return (try response.value(), SecretMetadata(response.object)) } catch { throw CommandFailure(error) }
    }

    /// Removes a secret; false when there was none.
    @discardableResult
    static func remove(_ context: Context, _ name: SecretName) throws(CommandFailure) -> Bool {
        var request = Request(op: .rm)
        request.name = name
        return try callAllowingAbsence(context, request) != nil
    }

    static func put(_ context: Context, _ name: SecretName, _ value: SecretBytes, _ metadata: SecretMetadata) throws(CommandFailure) {
        var request = Request(op: .put)
        request.name = name
        request.value = value
        request.owner = metadata.owner
        request.note = metadata.note
        request.expires = metadata.expires
        request.allow = metadata.allow.isEmpty ? nil : metadata.allow
        _ = try context.call(request)
    }

    /// Names and metadata of the secrets under `prefix`.
    static func list(_ context: Context, prefix: String) throws(CommandFailure) -> [(name: String, metadata: SecretMetadata)] {
        var request = Request(op: .list)
        request.prefix = prefix
        let items = try context.call(request).object.objects("items") ?? []
        return items.compactMap { item in item.string("name").map { ($0, SecretMetadata(item)) } }
    }
}
