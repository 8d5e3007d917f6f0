import TokendCore
import TokendPosix
import TokendProtocol

/// One environment variable to set for `exec` or `export`, and where it was asked for.
struct Assignment {
    enum Source {
        case plain(SecretBytes)
        case secret(SecretName)
    }

    let key: String
    let source: Source
    /// `FILE:LINE` for env-file lines; nil for the command line.
    let origin: String?

    /// `VAR=NAME` from the command line. The argument is never echoed: a token typed in the wrong place would
    /// be shown on the terminal and kept in scrollback.
    static func parse(_ text: String, what: String) throws(CommandFailure) -> Assignment {
        guard let eq = text.firstIndex(of: "=") else { throw .usage("\(what) takes VAR=NAME") }
        let key = String(text[..<eq])
        guard EnvFile.isValidKey(key) else {
            throw .usage("\(what): the variable name must be letters, digits and _, not starting with a digit")
        }
        let name = try secretName(String(text[text.index(after: eq)...]))
        return Assignment(key: key, source: .secret(name), origin: nil)
    }

    /// The assignments of an env file, in order.
    static func load(envFile path: String) throws(CommandFailure) -> [Assignment] {
        let text = SecretBytes(capacity: 4096)
        let complete: Bool
        do {
            let fd = try FileDescriptor.openForReading(path)
            complete = try fd.readAll(into: text, limit: Limits.maxValueBytes)
        } catch {
            throw CommandFailure(.failure, "cannot read \(path): \(error)")
        }
        guard complete else { throw CommandFailure(.invalid, "\(path): larger than \(Limits.maxValueBytes) bytes") }
        let entries: [EnvFile.Entry]
        do { entries = try EnvFile.parse(text) } catch {
            throw CommandFailure(.invalid, "\(path):\(error.line): \(error.reason)")
        }
        return entries.map { entry in
            let source: Source
            switch entry.value {
            case .plain(let value): source = .plain(value)
            case .reference(let name): source = .secret(name)
            }
            return Assignment(key: entry.key, source: source, origin: "\(path):\(entry.line)")
        }
    }
}

/// A variable with its value, ready for an environment.
struct ResolvedVariable {
    let key: String
    let value: SecretBytes
}

enum Resolver {
    /// The kernel's limit on one environment string, `KEY=VALUE` and its NUL (MAX_ARG_STRLEN).
    static let maxEnvironmentString = 131_072

    /// Fetches every secret before anything is set, so that one failure sets nothing. A later assignment
    /// to a key replaces an earlier one in place.
    static func resolve(_ assignments: [Assignment], _ context: Context) throws(CommandFailure) -> [ResolvedVariable] {
        var resolved: [ResolvedVariable] = []
        var position: [String: Int] = [:]
        for assignment in assignments {
            let value = try fetch(assignment, context)
            let variable = ResolvedVariable(key: assignment.key, value: value)
            if let i = position[assignment.key] {
                resolved[i] = variable
            } else {
                position[assignment.key] = resolved.count
                resolved.append(variable)
            }
        }
        return resolved
    }

    static func fetch(_ assignment: Assignment, _ context: Context) throws(CommandFailure) -> SecretBytes {
        let origin = assignment.origin.map { "\($0): " } ?? ""
        let value: SecretBytes
        let subject: String
        switch assignment.source {
        case .plain(let plain):
            value = plain
            subject = "\(origin)\(assignment.key)"
        case .secret(let name):
            subject = "\(origin)\(assignment.key) (secret \(name))"
            var request = Request(op: .get)
            request.name = name
            let response: Response
            do { response = try context.call(request) } catch {
                throw CommandFailure(error.code, "\(subject): \(error.message)")
            }
            do { value = try response.value() } catch {
                throw CommandFailure(error.code.exitCode, "\(subject): \(error.message)")
            }
        }
        if value.firstIndex(of: 0) != nil {
            throw CommandFailure(.invalid, "\(subject): the value contains a NUL byte, which an environment variable cannot hold")
        }
        if assignment.key.utf8.count + value.count + 2 > maxEnvironmentString {
            throw CommandFailure(
                .invalid,
                "\(subject): the value is \(value.count) bytes; an environment variable holds at most \(maxEnvironmentString) bytes with its name")
        }
        return value
    }
}
