import TokendCore
import TokendPosix

/// `tokend exec`: resolves every variable, then becomes the command (execvp), so the command keeps this
/// pid, the terminal, the signals and the exit status, and no tokend process stays behind.
enum ExecCommand {
    static let usage =
        "usage: tokend exec [-e VAR=NAME]... [--env-file FILE]... [--only] [--] COMMAND [ARGS]..."

    /// What `--only` keeps from the current environment besides the requested variables.
    static let minimalEnvironment: Set<String> = [
        "HOME", "LANG", "LANGUAGE", "LOGNAME", "PATH", "SHELL", "TERM", "TMPDIR", "TZ", "USER",
    ]

    static func run(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        var fromFlags: [Assignment] = []
        var files: [String] = []
        var only = false
        // Options end at `--` or at the first word that is not one, so `tokend exec -e T=n sh -c …` works
        // and the command's own options are never read as ours.
        while let arg = args.rest.first, arg.hasPrefix("-"), arg != "-" {
            args.rest.removeFirst()
            if arg == "--" { break }
            func value() throws(CommandFailure) -> String {
                if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") { return String(arg[arg.index(after: eq)...]) }
                if arg.hasPrefix("-e"), arg.count > 2 { return String(arg.dropFirst(2)) }
                guard !args.rest.isEmpty else { throw .usage("\(flagName(arg)) needs a value") }
                return args.rest.removeFirst()
            }
            switch flagName(arg) {
            case "-e", "--env": fromFlags.append(try Assignment.parse(try value(), what: "-e"))
            case "--env-file": files.append(try value())
            case "--only":
                guard arg == "--only" else { throw .usage("--only takes no value") }
                only = true
            default: throw .usage("unknown option \(flagName(arg))\n\(usage)")
            }
        }
        guard !args.rest.isEmpty else { throw .usage(usage) }
        var assignments: [Assignment] = []
        for file in files { assignments += try Assignment.load(envFile: file) }
        assignments += fromFlags
        let variables = try Resolver.resolve(assignments, context)
        execute(args.rest, variables, only: only)
    }

    /// `--env-file=x` → `--env-file`, `-eT=n` → `-e`; other words unchanged.
    static func flagName(_ arg: String) -> String {
        if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") { return String(arg[..<eq]) }
        if arg.hasPrefix("-e") && !arg.hasPrefix("--") { return "-e" }
        return arg
    }

    /// Replaces this process with `command`. When that fails it exits with 127 if the command was not found
    /// and 126 if it could not be run: the statuses of sh and env(1), which ExitCode does not cover.
    static func execute(_ command: [String], _ variables: [ResolvedVariable], only: Bool) -> Never {
        let keys = Set(variables.map(\.key))
        // Every string of the new environment, NUL-terminated, in one block of secret memory: the new process
        // gets these very bytes (no copy), and if exec fails they are wiped with the block.
        let block = SecretBytes(capacity: 4096)
        ProcessControl.forEachEnvironmentEntry { entry in
            guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
            let key = String(decoding: entry[..<eq], as: UTF8.self)
            if !keys.contains(key) && (!only || minimalEnvironment.contains(key) || key.hasPrefix("LC_")) {
                block.append(UnsafeRawBufferPointer(entry))
                block.append(0)
            }
        }
        for variable in variables {
            block.append(text: variable.key)
            block.append(UInt8(ascii: "="))
            block.append(variable.value)
            block.append(0)
        }
        let failure = ProcessControl.replace(with: command, environment: block)
        Output.err("tokend: cannot run \(command[0]): \(failure)\n")
        ProcessControl.exit(failure == .notFound ? 127 : 126)
    }
}
