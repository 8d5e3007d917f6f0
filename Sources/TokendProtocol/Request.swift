import TokendCore

/// Protocol versions this build speaks.
public enum ProtocolVersion {
    public static let current = 1
    public static let supported = [1]
}

public enum Op: String, Sendable, CaseIterable {
    case hello, get, put, update, rm, list, info, status, stop
    case initialize = "init"
    case lock, unlock, migrate

    /// The fields each op accepts besides `id` and `op`; anything else is `invalid_request`.
    var fields: Set<String> {
        switch self {
        case .hello: ["versions", "client"]
        case .get, .info: ["name"]
        case .put: ["name", "value_b64", "owner", "expires", "note", "allow"]
        case .update: ["name", "owner", "expires", "note", "allow"]
        case .rm: ["name", "owner"]
        case .list: ["prefix", "owner"]
        case .status, .stop, .lock: []
        case .initialize, .unlock: ["passphrase"]
        case .migrate: ["to", "passphrase"]
        }
    }

    /// `fields` of every op, built once: `decode` checks each request against them.
    static let fieldsByOp = Dictionary(uniqueKeysWithValues: Op.allCases.map { ($0, $0.fields) })
    static let allFields = Set(Op.allCases.flatMap(\.fields))
    static let needingName: Set<Op> = [.get, .info, .put, .update]
}

/// A decoded request. Secret fields (the value, a passphrase) are in `SecretBytes`.
public struct Request: @unchecked Sendable {
    /// The request's `id` as JSON text, echoed in the response (`null` when absent).
    public var id: String = "null"
    public var op: Op = .hello
    public var name: SecretName?
    public var value: SecretBytes?
    public var owner: String?
    public var expires: Timestamp?
    public var note: String?
    public var allow: [String]?
    public var prefix: String?
    public var versions: [Int] = []
    public var client: String?
    public var passphrase: SecretBytes?
    /// The target store of `migrate`.
    public var to: String?

    public init(op: Op) { self.op = op }

    public var metadata: SecretMetadata {
        SecretMetadata(owner: owner, expires: expires, note: note, allow: allow ?? [])
    }
}

/// A request that could not be decoded: the error to send, and the id to echo if it was readable.
public struct RequestDecodeError: Error, Sendable {
    public var id: String
    public var error: TokendError
}

extension Request {
    /// Decodes one line (without its LF). The line stays owned by the caller's buffer only for the duration of
    /// the call: every field is copied out, secrets into their own `SecretBytes`.
    public static func decode(_ line: SecretBytes) throws(RequestDecodeError) -> Request {
        let object: JSONObject
        do {
            object = try JSONObject.parse(line)
        } catch {
            throw RequestDecodeError(
                id: "null", error: TokendError(.invalidRequest, "malformed JSON at byte \(error.offset): \(error.reason)"))
        }
        var request = Request(op: .hello)
        if let idValue = object["id"] {
            guard let raw = object.rawText(idValue), raw.utf8.count <= 128 else {
                throw RequestDecodeError(id: "null", error: TokendError(.invalidRequest, "id must be a number, a string of at most 126 bytes, or null"))
            }
            request.id = raw
        }
        func bad(_ message: String) -> RequestDecodeError {
            RequestDecodeError(id: request.id, error: TokendError(.invalidRequest, message))
        }
        guard let opText = object.string("op") else { throw bad("missing op") }
        guard let op = Op(rawValue: opText) else {
            throw bad("unknown op (known: \(Op.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        request.op = op
        for member in object.members where member.key != "id" && member.key != "op" {
            guard Op.fieldsByOp[op]!.contains(member.key) else {
                // Only a field name of the protocol is repeated back: a key could be anything a tool mixed up,
                // a token included.
                let shown = Op.allFields.contains(member.key) ? "'\(member.key)'" : "a field of another name"
                let takes = (["id", "op"] + Op.fieldsByOp[op]!.sorted()).joined(separator: ", ")
                throw bad("op '\(op.rawValue)' does not take \(shown) (it takes \(takes))")
            }
        }
        func string(_ key: String) throws(RequestDecodeError) -> String? {
            guard let v = object[key] else { return nil }
            guard let s = object.text(v) else { throw bad("\(key) must be a string") }
            return s
        }
        if let nameText = try string("name") {
            do { request.name = try SecretName(nameText) } catch {
                throw RequestDecodeError(id: request.id, error: error)
            }
        }
        if let v = object["value_b64"] {
            guard let length = object.encodedLength(v) else { throw bad("value_b64 must be a string") }
            if length > Base64.encodedCount(Limits.maxValueBytes, padded: true) {
                throw RequestDecodeError(id: request.id, error: .tooLargeValue)
            }
            guard let value = object.secretBase64(v) else { throw bad("value_b64 is not canonical padded base64") }
            if value.count > Limits.maxValueBytes { throw RequestDecodeError(id: request.id, error: .tooLargeValue) }
            request.value = value
        }
        request.owner = try string("owner")
        request.note = try string("note")
        request.prefix = try string("prefix")
        request.client = try string("client")
        request.to = try string("to")
        if let text = try string("expires") {
            guard let t = Timestamp(rfc3339: text) else { throw bad("expires must be an RFC 3339 time") }
            request.expires = t
        }
        if object["allow"] != nil {
            guard let list = object.strings("allow") else { throw bad("allow must be an array of strings") }
            request.allow = list
        }
        if let v = object["versions"] {
            guard case .array(let items) = v else { throw bad("versions must be an array of integers") }
            for item in items {
                guard let raw = object.rawText(item), case .number = item, let n = Int(raw) else {
                    throw bad("versions must be an array of integers")
                }
                request.versions.append(n)
            }
        }
        if let v = object["passphrase"] {
            guard let secret = object.secretString(v) else { throw bad("passphrase must be a string") }
            request.passphrase = secret
        }
        if Op.needingName.contains(op), request.name == nil { throw bad("op '\(op.rawValue)' needs a name") }
        if op == .put, request.value == nil { throw bad("op 'put' needs value_b64") }
        if op == .rm, (request.name == nil) == (request.owner == nil) { throw bad("op 'rm' needs either a name or an owner") }
        if op == .initialize || op == .unlock, request.passphrase == nil { throw bad("op '\(op.rawValue)' needs a passphrase") }
        if op == .migrate, request.to != "file" && request.to != "secret-service" {
            throw bad("op 'migrate' needs to: \"file\" or \"secret-service\"")
        }
        do { try request.metadata.validate() } catch { throw RequestDecodeError(id: request.id, error: error) }
        return request
    }

    /// Encodes the request as one line (LF included) into secret memory.
    public func encode(into out: SecretBytes) {
        var w = JSONWriter(into: out)
        w.beginObject()
        w.key("id"); w.raw(id)
        w.field("op", op.rawValue)
        w.field("name", name?.value)
        if let value { w.key("value_b64"); w.base64(value) }
        w.field("owner", owner)
        w.field("expires", expires?.description)
        w.field("note", note)
        if let allow {
            w.key("allow")
            w.beginArray()
            for path in allow { w.string(path) }
            w.endArray()
        }
        w.field("prefix", prefix)
        if !versions.isEmpty {
            w.key("versions")
            w.beginArray()
            for v in versions { w.int(Int64(v)) }
            w.endArray()
        }
        w.field("client", client)
        w.field("to", to)
        if let passphrase {
            w.key("passphrase")
            // A passphrase is text typed by a person: send it as a JSON string, escaped in secret memory.
            w.secretString(passphrase)
        }
        w.endObject()
        out.append(0x0A)
    }
}
