import CLibsecret
import Synchronization
import TokendCore
import TokendPosix

/// Secrets in the Secret Service (gnome-keyring, KeePassXC…) through libsecret.
///
/// Items live in the `default` collection alias (a collection is never created: that needs a GUI prompter),
/// under the schema `org.tokend.Secret` with the attribute `name`, the label `tokend: NAME`, and the
/// non-secret metadata as further attributes. Searches use SECRET_SEARCH_ALL so that a locked item is seen
/// and reported as `locked` — a plain lookup in a locked collection answers "nothing", which would read as
/// `not_found`. Every call is bounded by a `Deadline`.
public final class SecretServiceStore: SecretStore, @unchecked Sendable {
    public let kind = StoreKind.secretService
    let timeout: Double
    let schema: UnsafeMutablePointer<SecretSchema>
    /// When the last call ran out of time (monotonic seconds); calls come from the store thread only.
    var lastTimeout = -Double.infinity
    static let backoffAfterTimeout = 10.0

    static let schemaName = "org.tokend.Secret"
    static let keyringLocked = TokendError(
        .locked, "the keyring is locked: unlock its default collection (the login keyring), then try again")
    enum Attribute {
        static let name = "name", owner = "owner", created = "created", updated = "updated"
        static let expires = "expires", note = "note", allow = "allow"
        static let all = [name, owner, created, updated, expires, note, allow]
    }

    /// - Parameter timeout: the longest any one call may take, in seconds.
    public init(timeout: Double = 5) {
        self.timeout = timeout
        let types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, nil)!
        for attribute in Attribute.all { g_hash_table_insert(types, g_strdup(attribute), nil) }
        schema = secret_schema_newv(SecretServiceStore.schemaName, SECRET_SCHEMA_NONE, types)
        g_hash_table_unref(types)
    }

    deinit { secret_schema_unref(schema) }

    /// Without a bus address and without `$XDG_RUNTIME_DIR/bus`, GLib would try to autolaunch a bus through
    /// X11; that is never wanted, so the store is unavailable without asking.
    static func sessionBusProblem() -> String? {
        if let address = ProcessControl.environment("DBUS_SESSION_BUS_ADDRESS"), !address.isEmpty { return nil }
        if let runtime = ProcessControl.environment("XDG_RUNTIME_DIR"), (try? FileStatus.following(runtime + "/bus")) != nil {
            return nil
        }
        return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    }

    /// Runs one libsecret call with a deadline and turns its GError into a TokendError.
    func call<T>(_ what: String, _ body: (UnsafeMutablePointer<GCancellable>, inout UnsafeMutablePointer<GError>?) -> T)
        throws(TokendError) -> T
    {
        if let problem = SecretServiceStore.sessionBusProblem() { throw TokendError(.storeUnavailable, problem) }
        // A provider that just timed out (stopped, or waiting on a prompt nobody answers) is not asked again for
        // a few seconds: queued requests fail at once instead of each waiting out its own deadline.
        let quiet = ProcessControl.monotonicSeconds() - lastTimeout
        if quiet < SecretServiceStore.backoffAfterTimeout {
            throw TokendError(.timeout, "the Secret Service did not answer recently; asking again in \(Int(SecretServiceStore.backoffAfterTimeout - quiet) + 1) s")
        }
        let deadline = Deadline(seconds: timeout)
        var error: UnsafeMutablePointer<GError>?
        let result = body(deadline.cancellable, &error)
        if let failure = GLib.consume(error) {
            throw classify(failure, during: what, timedOut: deadline.fired)
        }
        return result
    }

    func classify(_ failure: (domain: GQuark, code: Int32, message: String), during what: String, timedOut: Bool)
        -> TokendError
    {
        if timedOut {
            lastTimeout = ProcessControl.monotonicSeconds()
            secret_service_disconnect()
            return TokendError(.timeout, "the Secret Service did not answer \(what) within \(timeout) s")
        }
        if failure.message.contains("locked") {
            return SecretServiceStore.keyringLocked
        }
        if failure.domain == secret_error_get_quark() && failure.code == Int32(SECRET_ERROR_IS_LOCKED.rawValue) {
            return SecretServiceStore.keyringLocked
        }
        // Forget the connection so that the next call reconnects: the provider may have restarted.
        secret_service_disconnect()
        return TokendError(.storeUnavailable, "Secret Service \(what) failed: \(Redactor.redact(failure.message))")
    }

    func service(_ c: UnsafeMutablePointer<GCancellable>, _ e: inout UnsafeMutablePointer<GError>?)
        -> UnsafeMutablePointer<SecretService>?
    {
        secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, c, &e)
    }

    /// Items of our schema matching `pairs` (locked ones included), optionally with their secrets loaded.
    func search(_ pairs: [(String, String)], loadSecrets: Bool) throws(TokendError) -> [Item] {
        let list = try call("search") { c, e -> UnsafeMutablePointer<GList>? in
            guard let svc = service(c, &e) else { return nil }
            defer { g_object_unref(svc) }
            let attributes = GLib.attributes(pairs)
            defer { g_hash_table_unref(attributes) }
            var flags = SECRET_SEARCH_ALL.rawValue
            if loadSecrets { flags |= SECRET_SEARCH_LOAD_SECRETS.rawValue }
            return secret_service_search_sync(svc, schema, attributes, SecretSearchFlags(flags), c, &e)
        }
        var items: [Item] = []
        var node = list
        while let current = node {
            if let data = current.pointee.data {
                items.append(Item(data.assumingMemoryBound(to: SecretItem.self)))
            }
            node = current.pointee.next
        }
        g_list_free(list)
        return items
    }

    public func state() -> StoreState {
        do {
            let locked = try call("open") { c, e -> Bool? in
                guard let svc = service(c, &e) else { return nil }
                defer { g_object_unref(svc) }
                guard let collection = secret_collection_for_alias_sync(svc, "default", SECRET_COLLECTION_NONE, c, &e)
                else { return nil }
                defer { g_object_unref(collection) }
                return secret_collection_get_locked(collection) != 0
            }
            switch locked {
            case .some(true): return .locked
            case .some(false): return .ready
            case .none: return .unavailable("the Secret Service has no default collection")
            }
        } catch {
            if error.code == .locked { return .locked }
            return .unavailable(error.message)
        }
    }

    /// The newest of several items with one name (a put interrupted between storing and cleaning up can
    /// leave two).
    func newest(_ items: [Item]) -> Item? {
        items.max { ($0.metadata.updated ?? Timestamp(seconds: 0)) < ($1.metadata.updated ?? Timestamp(seconds: 0)) }
    }

    public func get(_ name: SecretName) throws(TokendError) -> StoredSecret {
        let items = try search([(Attribute.name, name.value)], loadSecrets: true)
        guard let item = newest(items.filter { !$0.locked }) else {
            if !items.isEmpty { throw SecretServiceStore.keyringLocked }
            throw TokendError.notFound(name)
        }
        guard let value = item.secret() else { throw TokendError(.locked, "the keyring did not release the value") }
        return StoredSecret(value: value, metadata: item.metadata)
    }

    public func put(_ name: SecretName, value: SecretBytes, metadata: SecretMetadata) throws(TokendError) {
        let existing = try search([(Attribute.name, name.value)], loadSecrets: false)
        if existing.contains(where: \.locked) { throw SecretServiceStore.keyringLocked }
        var stored = metadata
        let now = Timestamp.now()
        stored.created = metadata.created ?? newest(existing)?.metadata.created ?? now
        stored.updated = metadata.updated ?? now
        let attributes = SecretServiceStore.attributes(name, stored)
        // Store first, then remove the older items: a crash in between leaves a duplicate (the newest wins),
        // never a lost secret.
        _ = try call("store") { c, e -> Int32 in
            guard let svc = service(c, &e) else { return 0 }
            defer { g_object_unref(svc) }
            let table = GLib.attributes(attributes)
            defer { g_hash_table_unref(table) }
            // An empty value has no buffer address; libsecret wants a valid pointer even for zero bytes.
            let secret = value.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return secret_value_new("", 0, "application/octet-stream") }
                return secret_value_new(base.assumingMemoryBound(to: CChar.self), bytes.count, "application/octet-stream")
            }
            defer { secret_value_unref(UnsafeMutableRawPointer(secret)) }
            return secret_service_store_sync(svc, schema, table, "default", "tokend: \(name.value)", secret, c, &e)
        }
        // Providers differ on whether a store with changed attributes replaces the old item in place, so the
        // clean-up looks again and keeps exactly the item with the new attributes.
        var wanted = Dictionary(uniqueKeysWithValues: attributes)
        wanted["xdg:schema"] = SecretServiceStore.schemaName
        for item in try search([(Attribute.name, name.value)], loadSecrets: false) where item.attributes != wanted {
            try delete(item)
        }
    }

    func delete(_ item: Item) throws(TokendError) {
        _ = try call("delete") { c, e in secret_item_delete_sync(item.pointer, c, &e) }
    }

    public func remove(_ name: SecretName) throws(TokendError) -> Bool {
        let items = try search([(Attribute.name, name.value)], loadSecrets: false)
        if items.contains(where: \.locked) { throw SecretServiceStore.keyringLocked }
        for item in items { try delete(item) }
        return !items.isEmpty
    }

    public func list() throws(TokendError) -> [SecretInfo] {
        var byName: [SecretName: SecretInfo] = [:]
        for item in try search([], loadSecrets: false) {
            guard let raw = item.attributes[Attribute.name], let name = try? SecretName(raw) else { continue }
            let info = SecretInfo(name: name, metadata: item.metadata)
            if let seen = byName[name], (seen.metadata.updated ?? Timestamp(seconds: 0)) > (info.metadata.updated ?? Timestamp(seconds: 0)) {
                continue
            }
            byName[name] = info
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    public func unlock(passphrase: SecretBytes) throws(TokendError) {
        throw TokendError(.unsupported, "the Secret Service store is unlocked by its own keyring, not by tokend")
    }
    public func lock() throws(TokendError) {
        throw TokendError(.unsupported, "the Secret Service store is locked by its own keyring, not by tokend")
    }
    public func initialize(passphrase: SecretBytes) throws(TokendError) {
        throw TokendError(.unsupported, "the Secret Service store needs no initialisation")
    }

    static func attributes(_ name: SecretName, _ m: SecretMetadata) -> [(String, String)] {
        var pairs = [(Attribute.name, name.value)]
        if let v = m.owner { pairs.append((Attribute.owner, v)) }
        if let v = m.created { pairs.append((Attribute.created, v.description)) }
        if let v = m.updated { pairs.append((Attribute.updated, v.description)) }
        if let v = m.expires { pairs.append((Attribute.expires, v.description)) }
        if let v = m.note { pairs.append((Attribute.note, v)) }
        if !m.allow.isEmpty { pairs.append((Attribute.allow, m.allow.joined(separator: "\n"))) }
        return pairs
    }

    /// One SecretItem, owned (unref'd on release).
    final class Item {
        let pointer: UnsafeMutablePointer<SecretItem>
        let attributes: [String: String]
        let locked: Bool

        init(_ pointer: UnsafeMutablePointer<SecretItem>) {
            self.pointer = pointer
            let table = secret_item_get_attributes(pointer)!
            attributes = GLib.dictionary(table)
            g_hash_table_unref(table)
            locked = secret_item_get_locked(pointer) != 0
        }

        deinit { g_object_unref(UnsafeMutableRawPointer(pointer)) }

        var metadata: SecretMetadata {
            SecretMetadata(
                owner: attributes[Attribute.owner],
                created: attributes[Attribute.created].flatMap(Timestamp.init(rfc3339:)),
                updated: attributes[Attribute.updated].flatMap(Timestamp.init(rfc3339:)),
                expires: attributes[Attribute.expires].flatMap(Timestamp.init(rfc3339:)),
                note: attributes[Attribute.note],
                allow: attributes[Attribute.allow].map { $0.split(separator: "\n").map(String.init) } ?? [])
        }

        /// The loaded value, copied into secret memory (libsecret keeps its own copy in its secure memory and
        /// wipes it on unref).
        func secret() -> SecretBytes? {
            guard let value = secret_item_get_secret(pointer) else { return nil }
            defer { secret_value_unref(UnsafeMutableRawPointer(value)) }
            var length = 0
            guard let data = secret_value_get(value, &length) else { return SecretBytes() }
            return SecretBytes(copying: UnsafeRawBufferPointer(start: data, count: length))
        }
    }
}
