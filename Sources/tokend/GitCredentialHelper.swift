import TokendCore
import TokendProtocol

/// A credential description as git writes it to a helper (gitcredentials(7), git-credential(1)): `key=value`
/// lines up to a blank line or the end of input. The password and the OAuth refresh token go straight into
/// secret memory; unknown keys (`capability[]`, `wwwauth[]`, `authtype`, `state[]`…) are ignored.
struct GitCredential {
    var scheme: String?
    var host: String?
    var path: String?
    var username: String?
    var password: SecretBytes?
    var passwordExpiry: Int64?
    var refreshToken: SecretBytes?

    static func parse(_ input: SecretBytes) -> GitCredential {
        var credential = GitCredential()
        var start = 0
        while start < input.count {
            let newline = input.firstIndex(of: 0x0A, from: start) ?? input.count
            var end = newline
            // git reads its own input with strbuf_getline, which drops a CR before the LF.
            if end > start, input[end - 1] == 0x0D { end -= 1 }
            if end == start { break }
            if let equals = input.firstIndex(of: UInt8(ascii: "="), from: start), equals < end {
                credential.set(key: text(input, start..<equals), input, equals + 1..<end)
            }
            start = newline + 1
        }
        return credential
    }

    mutating func set(key: String, _ input: SecretBytes, _ range: Range<Int>) {
        switch key {
        case "protocol": scheme = GitCredential.text(input, range)
        case "host": host = GitCredential.text(input, range)
        case "path": path = GitCredential.text(input, range)
        case "username": username = GitCredential.text(input, range)
        case "password": password = GitCredential.secret(input, range)
        case "oauth_refresh_token": refreshToken = GitCredential.secret(input, range)
        // Past 9999 (git's "never", say) a time cannot be written down: kept as no expiry.
        case "password_expiry_utc":
            passwordExpiry = Int64(GitCredential.text(input, range)).flatMap { $0 <= Timestamp.latest.seconds ? $0 : nil }
        default: break
        }
    }

    static func text(_ input: SecretBytes, _ range: Range<Int>) -> String {
        input.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    static func secret(_ input: SecretBytes, _ range: Range<Int>) -> SecretBytes {
        input.withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}

/// Where git credentials live: `git/PROTOCOL/HOST[/PATH]/USERNAME` holds the password (its `expires` is
/// git's `password_expiry_utc`), and `…/USERNAME/~oauth_refresh_token` the refresh token, if any. HOST keeps
/// its `:PORT`; PATH (sent only with credential.useHttpPath) is one segment, its slashes escaped.
struct GitCredentialNames {
    static let refreshMarker = "~oauth_refresh_token"
    let base: String
    let host: String

    init?(_ credential: GitCredential) {
        guard let scheme = credential.scheme, !scheme.isEmpty, let host = credential.host, !host.isEmpty else { return nil }
        var base = "git/\(NameSegment.encode(scheme))/\(NameSegment.encode(host))"
        if let path = credential.path, !path.isEmpty { base += "/" + NameSegment.encode(path) }
        self.base = base
        self.host = host
    }

    func password(_ username: String) -> String { "\(base)/\(NameSegment.encode(username))" }
    func refreshToken(_ username: String) -> String { "\(password(username))/\(GitCredentialNames.refreshMarker)" }
    func owner(_ username: String) -> String { "git:\(host)/\(username)" }

    /// The user names stored for this base, most recently updated first.
    func usernames(in items: [(name: String, metadata: SecretMetadata)]) -> [String] {
        var latest: [String: Int64] = [:]
        let prefix = base + "/"
        for item in items where item.name.hasPrefix(prefix) {
            let rest = item.name.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            guard rest.count == 1 || (rest.count == 2 && rest[1] == GitCredentialNames.refreshMarker),
                let username = NameSegment.decode(rest[0]),
                // A name can hold an escaped line break, which would add lines of its own to git's answer.
                !username.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\0" })
            else { continue }
            latest[username] = max(latest[username] ?? .min, item.metadata.updated?.seconds ?? 0)
        }
        return latest.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }
}

/// `git-credential-tokend get|store|erase`: git's credential helper protocol over the agent.
enum GitCredentialHelper {
    static let usage = "usage: git-credential-tokend get|store|erase (set up with: git config --global credential.helper tokend)\n"
    static let note = "stored by git-credential-tokend"

    /// Runs one operation and returns the exit status. Operations git may add later are ignored, as
    /// gitcredentials(7) asks of a helper.
    static func run(_ arguments: [String], _ context: Context) -> Int32 {
        guard arguments.count == 1 else {
            Output.err(usage)
            return ExitCode.usage.rawValue
        }
        let operations: [String: (GitCredential, Context) throws(CommandFailure) -> Void] = [
            "get": get, "store": store, "erase": erase,
        ]
        guard let operation = operations[arguments[0]] else { return ExitCode.ok.rawValue }
        do {
            let input = try HelperIO.readInput(limit: 4 * Limits.maxValueBytes)
            try operation(GitCredential.parse(input), context)
            return ExitCode.ok.rawValue
        } catch {
            Output.err("git-credential-tokend: \(error.message)\n")
            return error.code.rawValue
        }
    }

    /// Prints `username`, `password`, `password_expiry_utc` and `oauth_refresh_token`, or nothing at all when
    /// nothing matches, so that git asks its next helper. No capability is announced: this helper keeps no
    /// `authtype`/`credential` pairs nor `state[]`.
    static func get(_ credential: GitCredential, _ context: Context) throws(CommandFailure) {
        guard let names = GitCredentialNames(credential) else { return }
        let username: String
        if let given = credential.username {
            username = given
        } else {
            guard let latest = names.usernames(in: try HelperIO.list(context, prefix: names.base + "/")).first else { return }
            username = latest
        }
        guard !username.isEmpty, let passwordName = try? SecretName(names.password(username)),
            let refreshName = try? SecretName(names.refreshToken(username))
        else { return }
        let password = try HelperIO.fetch(context, passwordName)
        let refresh = try HelperIO.fetch(context, refreshName)
        guard password != nil || refresh != nil else { return }
        for (name, found) in [(passwordName, password), (refreshName, refresh)] {
            guard let value = found?.value else { continue }
            if value.firstIndex(of: 0x0A) != nil || value.firstIndex(of: 0x0D) != nil || value.firstIndex(of: 0) != nil {
                throw CommandFailure(
                    .invalid, "the value of \(name) contains a line break or a NUL byte, which git's credential protocol cannot carry; not sent")
            }
        }
        let out = SecretBytes(capacity: 256)
        out.append(text: "username=\(username)\n")
        if let password {
            out.append(contentsOf: "password=")
            out.append(password.value)
            out.append(0x0A)
            if let expires = password.metadata.expires { out.append(text: "password_expiry_utc=\(expires.seconds)\n") }
        }
        if let refresh {
            out.append(contentsOf: "oauth_refresh_token=")
            out.append(refresh.value)
            out.append(0x0A)
        }
        guard Output.out(out) else { throw CommandFailure(.failure, "cannot write to standard output") }
    }

    /// Stores what git approved. A value equal to the one stored is left alone, so that a secret put by hand
    /// keeps its owner, note and allow-list when git approves it after use; a new value keeps them too.
    static func store(_ credential: GitCredential, _ context: Context) throws(CommandFailure) {
        guard let names = GitCredentialNames(credential), let username = credential.username, !username.isEmpty,
            let password = credential.password
        else { return }
        let expires = credential.passwordExpiry.map { Timestamp(seconds: $0) }
        if let expires, expires <= Timestamp.now() { return }
        for value in [password, credential.refreshToken] {
            if let value, value.firstIndex(of: 0) != nil {
                throw CommandFailure(.invalid, "git sent a value with a NUL byte; nothing was stored")
            }
        }
        let passwordName = try HelperIO.name(names.password(username))
        let refreshName = try HelperIO.name(names.refreshToken(username))
        try keep(password, as: passwordName, expires: expires, owner: names.owner(username), context)
        if let token = credential.refreshToken {
            try keep(token, as: refreshName, expires: nil, owner: names.owner(username), context)
        } else {
            try HelperIO.remove(context, refreshName)
        }
    }

    static func keep(_ value: SecretBytes, as name: SecretName, expires: Timestamp?, owner: String, _ context: Context)
        throws(CommandFailure)
    {
        var metadata = SecretMetadata(owner: owner, expires: expires, note: note)
        if let existing = try HelperIO.fetch(context, name) {
            if existing.value.constantTimeEquals(value) && existing.metadata.expires == expires { return }
            metadata = existing.metadata
            metadata.expires = expires
        }
        try HelperIO.put(context, name, value, metadata)
    }

    /// Erases the matching credentials: one user's, or every user's at that place when git names none. When
    /// git sends the password that failed, a different stored password (a newer one) is kept.
    static func erase(_ credential: GitCredential, _ context: Context) throws(CommandFailure) {
        guard let names = GitCredentialNames(credential) else { return }
        let usernames: [String]
        if let given = credential.username {
            usernames = [given]
        } else {
            usernames = names.usernames(in: try HelperIO.list(context, prefix: names.base + "/"))
        }
        for username in usernames where !username.isEmpty {
            guard let passwordName = try? SecretName(names.password(username)),
                let refreshName = try? SecretName(names.refreshToken(username))
            else { continue }
            if let failed = credential.password, let stored = try HelperIO.fetch(context, passwordName),
                !stored.value.constantTimeEquals(failed)
            {
                continue
            }
            try HelperIO.remove(context, passwordName)
            try HelperIO.remove(context, refreshName)
        }
    }
}
