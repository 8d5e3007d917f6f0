import TokendCore

/// Builds response lines (LF included) into a secret buffer: the agent's write buffer.
public enum ResponseEncoder {
    public static func ok(id: String, into out: SecretBytes, _ body: (inout JSONWriter) -> Void = { _ in }) {
        var w = JSONWriter(into: out)
        w.beginObject()
        w.key("id"); w.raw(id)
        w.field("ok", true)
        body(&w)
        w.endObject()
        out.append(0x0A)
    }

    public static func error(id: String, _ error: TokendError, into out: SecretBytes) {
        var w = JSONWriter(into: out)
        w.beginObject()
        w.key("id"); w.raw(id)
        w.field("ok", false)
        w.key("error")
        w.beginObject()
        w.field("code", error.code.rawValue)
        w.field("message", Redactor.redact(error.message))
        w.endObject()
        w.endObject()
        out.append(0x0A)
    }

    /// The metadata fields of a secret, as `get`, `info` and `list` return them.
    public static func metadata(_ m: SecretMetadata, into w: inout JSONWriter) {
        w.field("owner", m.owner)
        w.field("created", m.created?.description)
        w.field("updated", m.updated?.description)
        w.field("expires", m.expires?.description)
        w.field("note", m.note)
        if !m.allow.isEmpty {
            w.key("allow")
            w.beginArray()
            for path in m.allow { w.string(path) }
            w.endArray()
        }
    }
}

/// A decoded response, as the client sees it.
public struct Response: @unchecked Sendable {
    public let object: JSONObject

    public static func decode(_ line: SecretBytes) throws(TokendError) -> Response {
        do {
            let object = try JSONObject.parse(line)
            guard object.bool("ok") != nil else { throw TokendError(.internalError, "agent response has no 'ok'") }
            return Response(object: object)
        } catch let error as JSONError {
            throw TokendError(.internalError, "agent sent malformed JSON at byte \(error.offset): \(error.reason)")
        } catch let error as TokendError {
            throw error
        } catch {
            throw TokendError(.internalError, "agent response unreadable")
        }
    }

    public var ok: Bool { object.bool("ok") == true }

    /// The error this response carries, if any.
    public var error: TokendError? {
        guard !ok else { return nil }
        let detail = object.object("error")
        let code = detail?.string("code").flatMap(ErrorCode.init(rawValue:)) ?? .internalError
        return TokendError(code, detail?.string("message") ?? "unknown error")
    }

    /// Throws the carried error, if any.
    public func check() throws(TokendError) -> Response {
        if let error { throw error }
        return self
    }

    /// The secret value of a `get` response.
    public func value() throws(TokendError) -> SecretBytes {
        guard let v = object["value_b64"], let secret = object.secretBase64(v) else {
            throw TokendError(.internalError, "agent response has no valid value_b64")
        }
        return secret
    }
}

extension SecretMetadata {
    /// Reads the metadata fields of a `get`/`info` response or a `list` item.
    public init(_ o: JSONObject) {
        self.init(
            owner: o.string("owner"), created: o.string("created").flatMap(Timestamp.init(rfc3339:)),
            updated: o.string("updated").flatMap(Timestamp.init(rfc3339:)),
            expires: o.string("expires").flatMap(Timestamp.init(rfc3339:)), note: o.string("note"),
            allow: o.strings("allow") ?? [])
    }
}
