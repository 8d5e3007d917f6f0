import TokendCore
import TokendPosix
import TokendProtocol

/// get, put, rm, ls.
enum SecretCommands {
    static func get(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse()
        guard parsed.positionals.count == 1 else { throw .usage("usage: tokend get NAME") }
        var request = Request(op: .get)
        request.name = try secretName(parsed.positionals[0])
        let response = try callOfferingUnlock(context, request)
        let value: SecretBytes
        do { value = try response.value() } catch { throw CommandFailure(error) }
        guard Output.out(value) else { throw CommandFailure(.failure, "cannot write to standard output") }
        if Output.stdoutIsTerminal { Output.out("\n") }
    }

    /// A locked vault met at a terminal: ask for the passphrase, unlock, and try once more. A tool speaking
    /// the socket, or a script without a terminal, gets `locked` (exit 4) instead.
    static func callOfferingUnlock(_ context: Context, _ request: Request) throws(CommandFailure) -> Response {
        let client = try context.agent()
        do throws(TokendError) {
            return try client.call(request)
        } catch {
            guard error.code == .locked, Output.stdinIsTerminal, Terminal.isAvailable,
                (try? client.call(Request(op: .status)))?.object.string("store") == "file",
                let passphrase = Terminal.readSecret(prompt: "tokend: the vault is locked; passphrase to unlock it: ")
            else { throw CommandFailure(error) }
            try VaultCommands.sendUnlock(context, passphrase)
            return try context.call(request)
        }
    }

    static func put(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(
            values: ["--owner", "--expires", "--note"], switches: ["--raw"], repeated: ["--allow"])
        guard parsed.positionals.count == 1 else {
            throw .usage("usage: tokend put NAME [--raw] [--owner OWNER] [--expires 30d|TIME] [--note TEXT] [--allow PATH]… (the value comes from stdin or a prompt, never from the command line)")
        }
        var request = Request(op: .put)
        request.name = try secretName(parsed.positionals[0])
        request.owner = parsed.values["--owner"]?.first
        request.note = parsed.values["--note"]?.first
        if let text = parsed.values["--expires"]?.first { request.expires = try expiry(text) }
        if let paths = parsed.values["--allow"] { request.allow = try paths.map(resolveExecutable) }
        do { try request.metadata.validate() } catch { throw CommandFailure(.usage, error.message) }
        request.value = try readValue(name: request.name!, raw: parsed.switches.contains("--raw"))
        _ = try context.call(request)
    }

    /// Changes metadata (owner, expiry, note, allowed executables) and keeps the value.
    static func update(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(
            values: ["--owner", "--expires", "--note"], switches: ["--allow-any"], repeated: ["--allow"])
        guard parsed.positionals.count == 1, !(parsed.switches.contains("--allow-any") && parsed.values["--allow"] != nil)
        else {
            throw .usage("usage: tokend update NAME [--owner OWNER] [--expires 30d|TIME] [--note TEXT] [--allow PATH]... | [--allow-any]")
        }
        var request = Request(op: .update)
        request.name = try secretName(parsed.positionals[0])
        request.owner = parsed.values["--owner"]?.first
        request.note = parsed.values["--note"]?.first
        if let text = parsed.values["--expires"]?.first { request.expires = try expiry(text) }
        if let paths = parsed.values["--allow"] { request.allow = try paths.map(resolveExecutable) }
        if parsed.switches.contains("--allow-any") { request.allow = [] }
        do { try request.metadata.validate() } catch { throw CommandFailure(.usage, error.message) }
        _ = try context.call(request)
    }

    /// `30d`, `12h`… from now, or an RFC 3339 time.
    static func expiry(_ text: String) throws(CommandFailure) -> Timestamp {
        if let seconds = DurationParser.seconds(text) { return Timestamp(seconds: Timestamp.now().seconds + seconds) }
        if let time = Timestamp(rfc3339: text) { return time }
        throw .usage("--expires takes a duration (90s, 15m, 2h, 30d, 1w) or an RFC 3339 time (2027-01-31T00:00:00Z)")
    }

    /// Allow-list entries are compared with /proc/PID/exe, which is an absolute path with symlinks resolved.
    static func resolveExecutable(_ path: String) throws(CommandFailure) -> String {
        do { return try FileSystem.canonicalPath(path) } catch { throw .usage("--allow \(path): \(error)") }
    }

    /// The value from stdin when it is not a terminal (one trailing LF removed unless `raw`), else from a
    /// prompt without echo. Never from argv.
    static func readValue(name: SecretName, raw: Bool) throws(CommandFailure) -> SecretBytes {
        if Output.stdinIsTerminal {
            guard let value = Terminal.readSecret(prompt: "Value for \(name): ") else {
                throw CommandFailure(.usage, "no terminal to prompt on; pipe the value into tokend put")
            }
            if value.count > Limits.maxValueBytes { throw CommandFailure(TokendError.tooLargeValue) }
            return value
        }
        let value = SecretBytes(capacity: 4096)
        let stdin = FileDescriptor.standardInput
        let complete: Bool
        do { complete = try stdin.readAll(into: value, limit: Limits.maxValueBytes + 1) } catch {
            throw CommandFailure(.failure, "cannot read the value from standard input: \(error)")
        }
        if !raw, value.count > 0, value[value.count - 1] == 0x0A { value.truncate(to: value.count - 1) }
        if !complete || value.count > Limits.maxValueBytes { throw CommandFailure(TokendError.tooLargeValue) }
        return value
    }

    static func rm(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(values: ["--owner"])
        var request = Request(op: .rm)
        if let owner = parsed.values["--owner"]?.first {
            guard parsed.positionals.isEmpty else { throw .usage("usage: tokend rm NAME | tokend rm --owner OWNER") }
            request.owner = owner
            let response = try context.call(request)
            for name in response.object.strings("names") ?? [] { Output.out("removed \(name)\n") }
            return
        }
        guard parsed.positionals.count == 1 else { throw .usage("usage: tokend rm NAME | tokend rm --owner OWNER") }
        request.name = try secretName(parsed.positionals[0])
        _ = try context.call(request)
    }

    static func ls(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(values: ["--owner"], switches: ["--json"])
        guard parsed.positionals.count <= 1 else { throw .usage("usage: tokend ls [PREFIX] [--owner OWNER] [--json]") }
        var request = Request(op: .list)
        request.prefix = parsed.positionals.first
        request.owner = parsed.values["--owner"]?.first
        let response = try context.call(request)
        // The agent matches a plain string prefix; names are paths, so `ls git` means `git` and `git/…`, not
        // `github/…`. A prefix ending in `/` already is a whole segment.
        let items = (response.object.objects("items") ?? []).filter { item in
            guard let prefix = request.prefix, !prefix.hasSuffix("/"), let name = item.string("name") else { return true }
            return name == prefix || name.hasPrefix(prefix + "/")
        }
        if parsed.switches.contains("--json") {
            let out = SecretBytes()
            var w = JSONWriter(into: out)
            w.beginArray()
            for item in items {
                w.beginObject()
                w.field("name", item.string("name"))
                ResponseEncoder.metadata(SecretMetadata(item), into: &w)
                w.endObject()
            }
            w.endArray()
            out.append(0x0A)
            _ = Output.out(out)
            return
        }
        var rows = [["NAME", "OWNER", "EXPIRES", "UPDATED", "ALLOW"]]
        for item in items {
            let m = SecretMetadata(item)
            rows.append([
                item.string("name") ?? "?", m.owner ?? "-", m.expires?.description ?? "-",
                m.updated?.description ?? "-", m.allow.isEmpty ? "-" : m.allow.joined(separator: ","),
            ])
        }
        if items.isEmpty { return }
        Output.out(Table.render(rows))
    }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var text = ""
        for row in rows {
            for (i, cell) in row.enumerated() {
                text += cell
                if i < columns - 1 { text += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            text += "\n"
        }
        return text
    }
}
