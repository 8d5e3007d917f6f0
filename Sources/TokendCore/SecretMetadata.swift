/// What tokend knows about a secret besides its value. None of it is secret: it is listed by `tokend ls`
/// and stored in the clear next to the value (keyring attributes, vault records).
public struct SecretMetadata: Sendable, Equatable {
    /// Who the token belongs to, e.g. `slack:T024BE7LD/U0G9QF9C6`.
    public var owner: String?
    public var created: Timestamp?
    public var updated: Timestamp?
    public var expires: Timestamp?
    public var note: String?
    /// Absolute paths of the executables allowed to read the value; empty means any peer of the same uid.
    public var allow: [String]

    public init(
        owner: String? = nil, created: Timestamp? = nil, updated: Timestamp? = nil, expires: Timestamp? = nil,
        note: String? = nil, allow: [String] = []
    ) {
        self.owner = owner
        self.created = created
        self.updated = updated
        self.expires = expires
        self.note = note
        self.allow = allow
    }

    public func isExpired(at now: Timestamp) -> Bool {
        guard let expires else { return false }
        return expires <= now
    }

    /// Checks the free-text fields so that they can travel in keyring attributes and protocol lines.
    public func validate() throws(TokendError) {
        func check(_ text: String?, _ field: String, _ limit: Int) throws(TokendError) {
            guard let text else { return }
            if text.utf8.count > limit { throw TokendError(.invalidRequest, "\(field) is longer than \(limit) bytes") }
            if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                throw TokendError(.invalidRequest, "\(field) contains a control character")
            }
        }
        try check(owner, "owner", Limits.maxOwnerBytes)
        try check(note, "note", Limits.maxNoteBytes)
        if allow.count > Limits.maxAllowEntries {
            throw TokendError(.invalidRequest, "more than \(Limits.maxAllowEntries) allowed executables")
        }
        for path in allow {
            try check(path, "allowed executable", 4096)
            if !path.hasPrefix("/") { throw TokendError(.invalidRequest, "allowed executables must be absolute paths") }
        }
    }
}

/// A name with its metadata, as listed.
public struct SecretInfo: Sendable, Equatable {
    public var name: SecretName
    public var metadata: SecretMetadata

    public init(name: SecretName, metadata: SecretMetadata) {
        self.name = name
        self.metadata = metadata
    }
}
