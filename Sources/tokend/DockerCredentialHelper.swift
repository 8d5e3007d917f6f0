import TokendCore
import TokendProtocol

/// `docker-credential-tokend store|get|erase|list|version`: the docker-credential-helpers protocol. Requests
/// and answers are JSON (or a bare server URL) on stdin/stdout; an error is one line on stdout with exit 1.
///
/// A registry's secret is `docker/HOST[:PORT]`, keyed the way docker keys its credentials (scheme, path
/// and user info dropped); Docker Hub's names (`docker.io`, `index.docker.io`, `registry-1.docker.io`,
/// `https://index.docker.io/v1/`) are one registry, listed as `https://index.docker.io/v1/`. The user name
/// is not secret: it is the secret's owner, `docker:HOST/USERNAME` (`<token>` for an identity token).
enum DockerCredentialHelper {
    static let notFound = "credentials not found in native keychain"
    static let hubServer = "https://index.docker.io/v1/"
    static let hubKey = "index.docker.io"
    static let hubAliases: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]
    static let note = "stored by docker-credential-tokend"

    static func run(_ arguments: [String], _ context: Context) -> Int32 {
        guard arguments.count == 1 else { return fail("Usage: docker-credential-tokend <store|get|erase|list|version>") }
        do {
            switch arguments[0] {
            case "store": try store(context)
            case "get": try get(context)
            case "erase": try erase(context)
            case "list": try list(context)
            case "version": Output.out("docker-credential-tokend (tokend) 0.1.0\n")
            default: return fail("docker-credential-tokend: unknown action: \(arguments[0])")
            }
            return ExitCode.ok.rawValue
        } catch {
            return fail(error.message)
        }
    }

    static func fail(_ message: String) -> Int32 {
        Output.out(Redactor.redact(message) + "\n")
        return ExitCode.failure.rawValue
    }

    /// docker's key for a server URL: the host and port, or Docker Hub's index URL.
    static func registryKey(_ serverURL: String) -> String? {
        var rest = Substring(serverURL)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        var host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        guard !host.isEmpty else { return nil }
        return hubAliases.contains(String(host)) ? hubKey : String(host)
    }

    static func secretName(_ key: String) throws(CommandFailure) -> SecretName {
        try HelperIO.name("docker/" + NameSegment.encode(key))
    }

    static func owner(_ key: String, _ username: String) -> String { "docker:\(key)/\(username)" }

    static func username(_ key: String, _ metadata: SecretMetadata) -> String {
        let prefix = "docker:\(key)/"
        guard let owner = metadata.owner, owner.hasPrefix(prefix) else { return "" }
        return String(owner.dropFirst(prefix.count))
    }

    /// The server URL a `get` or `erase` names: the whole input, trimmed.
    static func readServerURL() throws(CommandFailure) -> (url: String, key: String) {
        let input = try HelperIO.readInput(limit: 64 * 1024)
        var url = Substring(input.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        while url.first?.isWhitespace == true { url.removeFirst() }
        while url.last?.isWhitespace == true { url.removeLast() }
        let text = String(url)
        guard !text.isEmpty else { throw CommandFailure(.failure, "no credentials server URL") }
        guard let key = registryKey(text) else { throw CommandFailure(.failure, "no hostname in URL") }
        return (text, key)
    }

    /// `{"ServerURL":…,"Username":…,"Secret":…}`; the secret goes from the JSON straight into secret memory.
    static func store(_ context: Context) throws(CommandFailure) {
        let input = try HelperIO.readInput(limit: 8 * Limits.maxValueBytes)
        let object: JSONObject
        do { object = try JSONObject.parse(input) } catch {
            throw CommandFailure(.failure, "the credentials are not a JSON object (at byte \(error.offset): \(error.reason))")
        }
        guard let serverURL = object.string("ServerURL"), !serverURL.isEmpty else {
            throw CommandFailure(.failure, "no credentials server URL")
        }
        guard let username = object.string("Username"), !username.isEmpty else {
            throw CommandFailure(.failure, "no credentials username")
        }
        guard let key = registryKey(serverURL) else { throw CommandFailure(.failure, "no hostname in URL") }
        // As docker's own helpers read it: a missing or null Secret is empty, anything but a string an error.
        let secret: SecretBytes
        switch object["Secret"] {
        case nil, .null?: secret = SecretBytes()
        case let value?:
            guard let text = object.secretString(value) else { throw CommandFailure(.failure, "the credentials secret must be a string") }
            secret = text
        }
        let name = try secretName(key)
        var metadata = SecretMetadata(owner: owner(key, username), note: note)
        // docker stores again at every login: an unchanged credential is left alone, and a changed one keeps
        // the note and allow-list someone may have set by hand.
        if let existing = try HelperIO.fetch(context, name) {
            if existing.value.constantTimeEquals(secret) && existing.metadata.owner == metadata.owner { return }
            metadata.note = existing.metadata.note
            metadata.allow = existing.metadata.allow
        }
        try HelperIO.put(context, name, secret, metadata)
    }

    static func get(_ context: Context) throws(CommandFailure) {
        let (url, key) = try readServerURL()
        guard let found = try HelperIO.fetch(context, try secretName(key)) else { throw CommandFailure(.failure, notFound) }
        let out = SecretBytes(capacity: found.value.count + 256)
        var w = JSONWriter(into: out)
        w.beginObject()
        w.field("ServerURL", url)
        w.field("Username", username(key, found.metadata))
        w.key("Secret")
        w.secretString(found.value)
        w.endObject()
        // A value stored as raw bytes may not be UTF-8, and JSON text must be: parse what is about to go out.
        do { _ = try JSONObject.parse(out) } catch {
            throw CommandFailure(.failure, "the value of docker/\(NameSegment.encode(key)) is not UTF-8 text, which docker's JSON cannot carry; not sent")
        }
        out.append(0x0A)
        guard Output.out(out) else { throw CommandFailure(.failure, "cannot write to standard output") }
    }

    static func erase(_ context: Context) throws(CommandFailure) {
        let (_, key) = try readServerURL()
        guard try HelperIO.remove(context, try secretName(key)) else { throw CommandFailure(.failure, notFound) }
    }

    /// `{"SERVER":"USERNAME",…}`, sorted by server.
    static func list(_ context: Context) throws(CommandFailure) {
        var entries: [(server: String, username: String)] = []
        for item in try HelperIO.list(context, prefix: "docker/") {
            let segment = item.name.dropFirst("docker/".count)
            guard !segment.contains("/"), let key = NameSegment.decode(segment) else { continue }
            entries.append((key == hubKey ? hubServer : key, username(key, item.metadata)))
        }
        entries.sort { $0.server < $1.server }
        let body = entries.map { "\(jsonString($0.server)):\(jsonString($0.username))" }.joined(separator: ",")
        Output.out("{\(body)}\n")
    }

    /// A JSON string for non-secret text (server URLs, user names).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
