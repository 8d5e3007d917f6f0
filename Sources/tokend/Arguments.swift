import TokendCore

/// A small argument reader: flags with values (`--owner X` or `--owner=X`), repeatable flags, switches, and
/// positionals. Unknown flags are usage errors.
struct Arguments {
    var rest: [String]

    init(_ arguments: [String]) { rest = arguments }

    /// Parses `rest` against the given flags; returns the positionals.
    mutating func parse(values: Set<String> = [], switches: Set<String> = [], repeated: Set<String> = [])
        throws(CommandFailure) -> (positionals: [String], values: [String: [String]], switches: Set<String>)
    {
        var positionals: [String] = []
        var found: [String: [String]] = [:]
        var on: Set<String> = []
        var onlyPositionals = false
        while !rest.isEmpty {
            let arg = rest.removeFirst()
            if onlyPositionals || !arg.hasPrefix("-") || arg == "-" {
                positionals.append(arg)
                continue
            }
            if arg == "--" {
                onlyPositionals = true
                continue
            }
            var flag = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                flag = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            if switches.contains(flag) {
                guard inline == nil else { throw .usage("\(flag) takes no value") }
                on.insert(flag)
            } else if values.contains(flag) || repeated.contains(flag) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard !rest.isEmpty else { throw .usage("\(flag) needs a value") }
                    value = rest.removeFirst()
                }
                if values.contains(flag), found[flag] != nil { throw .usage("\(flag) given twice") }
                found[flag, default: []].append(value)
            } else {
                throw .usage("unknown option \(flag)")
            }
        }
        return (positionals, found, on)
    }
}

func secretName(_ text: String) throws(CommandFailure) -> SecretName {
    do { return try SecretName(text) } catch { throw CommandFailure(.usage, error.message) }
}
