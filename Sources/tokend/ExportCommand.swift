import TokendCore
import TokendPosix

/// `tokend export`, the half that runs as a process. The shell function of `tokend shell-init` calls it with
/// `--shell SHELL` and the variables it set earlier (`--tracked VAR=DEADLINE`, names and times only), and
/// evaluates what it prints: shell code that sets, unsets or lists the variables and records their
/// deadlines for the prompt hook. Values reach the shell through that pipe only.
enum ExportCommand {
    static let defaultTTL: Int64 = 15 * 60
    static let usage =
        "usage: tokend export [--ttl 15m] VAR=NAME... | tokend export --clear [VAR]... | tokend export --list"
    static let needsShellInit = """
        tokend export sets variables in the calling shell, so it works through the shell function that \
        tokend shell-init defines: add
          eval "$(tokend shell-init bash)"     to ~/.bashrc  (zsh: the same with zsh, in ~/.zshrc)
          tokend shell-init fish | source      to ~/.config/fish/config.fish
        To give tokens to one command only, use tokend exec.
        """

    /// Variables a shell sets itself or needs in order to keep working, which an expiry must never unset.
    static let reserved: Set<String> = [
        "PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "SHLVL", "TERM", "USER", "LOGNAME", "PS1", "PS2",
        "PS3", "PS4", "PROMPT_COMMAND", "ENV", "BASH_ENV", "CDPATH", "HISTFILE", "COLUMNS", "LINES", "RANDOM",
        "SECONDS", "EPOCHSECONDS", "EPOCHREALTIME", "LINENO", "UID", "EUID", "PPID", "CMD_DURATION", "_",
        "argv", "status", "pipestatus", "history", "hostname", "version",
    ]

    enum Shell: String {
        case bash, zsh, fish
    }

    struct Tracked {
        var key: String
        var deadline: Int64
    }

    static func run(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(
            values: ["--ttl", "--shell"], switches: ["--clear", "--list"], repeated: ["--tracked"])
        guard let shellName = parsed.values["--shell"]?.first else { throw .usage(needsShellInit) }
        guard let shell = Shell(rawValue: shellName) else { throw .usage("--shell takes bash, zsh or fish") }
        guard !Output.stdoutIsTerminal else {
            throw .usage("tokend export --shell prints shell code holding the values, for the shell function of tokend shell-init to read: not for a terminal")
        }
        var tracked = try (parsed.values["--tracked"] ?? []).map(parseTracked)
        let clear = parsed.switches.contains("--clear")
        let list = parsed.switches.contains("--list")
        let code = SecretBytes(capacity: 1024)
        if list {
            guard !clear, parsed.values["--ttl"] == nil, parsed.positionals.isEmpty else { throw .usage(usage) }
            if !tracked.isEmpty { emitPrint(listing(tracked, now: Timestamp.now().seconds), shell, into: code) }
        } else if clear {
            guard parsed.values["--ttl"] == nil else { throw .usage(usage) }
            let names = parsed.positionals.isEmpty ? tracked.map(\.key) : parsed.positionals
            for name in names where !tracked.contains(where: { $0.key == name }) {
                throw CommandFailure(
                    .notFound, "\(EnvFile.isValidKey(name) ? name : "that variable") was not set by tokend export; nothing was cleared")
            }
            tracked.removeAll { names.contains($0.key) }
            if !names.isEmpty { emitUnset(names, shell, into: code) }
            emitState(tracked, shell, into: code)
        } else {
            guard !parsed.positionals.isEmpty else { throw .usage(usage) }
            let ttl = try parseTTL(parsed.values["--ttl"]?.first)
            let assignments = try parsed.positionals.map { (text) throws(CommandFailure) -> Assignment in
                let assignment = try Assignment.parse(text, what: "tokend export")
                if reserved.contains(assignment.key) || assignment.key.hasPrefix("__tokend") {
                    throw .usage("\(assignment.key) is a variable the shell needs; tokend export will not set it")
                }
                return assignment
            }
            let variables = try Resolver.resolve(assignments, context)
            let deadline = ceilingNow() + ttl
            for variable in variables {
                emitSet(variable, shell, into: code)
                tracked.removeAll { $0.key == variable.key }
                tracked.append(Tracked(key: variable.key, deadline: deadline))
            }
            emitState(tracked, shell, into: code)
        }
        guard Output.out(code) else { throw CommandFailure(.failure, "cannot write to standard output") }
    }

    static func parseTTL(_ text: String?) throws(CommandFailure) -> Int64 {
        guard let text else { return defaultTTL }
        guard let seconds = DurationParser.seconds(text), seconds > 0 else {
            throw .usage("--ttl takes a duration of at least one second: 90s, 15m, 2h…")
        }
        return seconds
    }

    /// `VAR=DEADLINE`, as the shell function recorded it.
    static func parseTracked(_ text: String) throws(CommandFailure) -> Tracked {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, EnvFile.isValidKey(String(parts[0])), let deadline = Int64(parts[1]) else {
            throw .usage("--tracked takes VAR=DEADLINE (the shell function of tokend shell-init passes it)")
        }
        return Tracked(key: String(parts[0]), deadline: deadline)
    }

    /// Now, rounded up to a whole second: the shells' clocks count whole seconds, and a variable must live
    /// for at least its TTL.
    static func ceilingNow() -> Int64 { ProcessControl.wallClockCeilingSeconds() }

    static func listing(_ tracked: [Tracked], now: Int64) -> String {
        var rows = [["VARIABLE", "EXPIRES", "REMAINING"]]
        for t in tracked {
            let left = t.deadline - now
            rows.append([
                t.key, Timestamp(seconds: t.deadline).description,
                left > 0 ? duration(left) : "expired (unset at the next prompt)",
            ])
        }
        return Table.render(rows)
    }

    /// `45s`, `14m05s`, `2h03m`.
    static func duration(_ seconds: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(two(seconds % 60))s" }
        return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
    }

    // MARK: shell code

    static func emitSet(_ variable: ResolvedVariable, _ shell: Shell, into code: SecretBytes) {
        code.append(text: shell == .fish ? "set -gx \(variable.key) " : "export \(variable.key)=")
        quote(variable.value, shell, into: code)
        code.append(0x0A)
    }

    static func emitUnset(_ keys: [String], _ shell: Shell, into code: SecretBytes) {
        code.append(text: (shell == .fish ? "set -eg " : "unset -v ") + keys.joined(separator: " ") + "\n")
    }

    /// The deadlines for the prompt hook: the list, and the earliest (0 when none).
    static func emitState(_ tracked: [Tracked], _ shell: Shell, into code: SecretBytes) {
        let entries = tracked.map { "\($0.key)=\($0.deadline)" }.joined(separator: " ")
        let next = tracked.map(\.deadline).min() ?? 0
        if shell == .fish {
            code.append(text: "set -g __tokend_exports \(entries)\nset -g __tokend_next \(next)\n")
        } else {
            code.append(text: "__tokend_exports=(\(entries))\n__tokend_next=\(next)\n")
        }
    }

    static func emitPrint(_ text: String, _ shell: Shell, into code: SecretBytes) {
        code.append(text: "printf %s ")
        quote(SecretBytes(Array(text.utf8)), shell, into: code)
        code.append(0x0A)
    }

    /// Single quotes, inside which bash and zsh take every byte literally, so only `'` needs care (closed,
    /// escaped, reopened); fish also treats a backslash in them as an escape.
    static func quote(_ value: SecretBytes, _ shell: Shell, into code: SecretBytes) {
        code.append(UInt8(ascii: "'"))
        value.withUnsafeBytes { bytes in
            for byte in bytes {
                switch (byte, shell) {
                case (UInt8(ascii: "'"), .fish): code.append(contentsOf: "\\'")
                case (UInt8(ascii: "\\"), .fish): code.append(contentsOf: "\\\\")
                case (UInt8(ascii: "'"), _): code.append(contentsOf: "'\\''")
                default: code.append(byte)
                }
            }
        }
        code.append(UInt8(ascii: "'"))
    }
}
