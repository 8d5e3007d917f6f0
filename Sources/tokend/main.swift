import TokendCore
import TokendPosix

let usage = """
    usage: tokend [--socket PATH] COMMAND [ARGS]

    Secrets:
      get NAME                 print a secret's value (exact bytes; a newline only on a terminal)
      put NAME [--raw] [--owner O] [--expires 30d|TIME] [--note TEXT] [--allow PATH]...
                               store a value read from stdin (one trailing LF removed unless --raw)
                               or typed at a prompt without echo
      update NAME [--owner O] [--expires 30d|TIME] [--note TEXT] [--allow PATH]... | [--allow-any]
                               change a secret's metadata, keeping its value
      rm NAME | rm --owner O   remove a secret, or every secret of an owner
      ls [PREFIX] [--owner O] [--json]
                               list names and metadata (never values)
    Processes and shells:
      exec [-e VAR=NAME]... [--env-file FILE]... [--only] [--] COMMAND [ARGS]...
                               run COMMAND with secrets in its environment (COMMAND replaces tokend)
      export [--ttl 15m] VAR=NAME... | export --clear [VAR]... | export --list
                               set variables in this shell until a deadline (needs shell-init)
      shell-init bash|zsh|fish print the shell integration: eval "$(tokend shell-init bash)"
    Agent:
      status [--json]          show the agent, its store and its counters
      stop                     stop the agent
    Encrypted file store (where no keyring answers):
      init [--passphrase-fd N | --passphrase-file PATH]
                               create the identity and the vault (passphrase asked twice without echo)
      unlock [--passphrase-fd N | --passphrase-file PATH]
                               unlock the vault
      lock                     forget the identity and the decrypted secrets
      migrate --to file|secret-service [--passphrase-fd N | --passphrase-file PATH]
                               move every secret to the other store
    Set-up and tools:
      doctor                   check the set-up, one line per topic, each problem with its fix
      git-credential get|store|erase
                               git's credential helper (also run as git-credential-tokend)
      docker-credential store|get|erase|list|version
                               docker's credential helper (also run as docker-credential-tokend)

    Exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 locked, 5 unavailable, 6 denied/expired/rate-limited,
    7 invalid or too large. See tokend(1).

    """

// The CLI holds values too (get, exec, export, the credential helpers): no core file, no crash report of its
// memory.
ProcessControl.forbidCoreDumps()

// git and docker run their helpers by these names: links to tokend installed next to it.
switch CommandLine.arguments.first?.split(separator: "/").last {
case "git-credential-tokend"?:
    ProcessControl.exit(GitCredentialHelper.run(Array(CommandLine.arguments.dropFirst()), Context(socketFlag: nil)))
case "docker-credential-tokend"?:
    ProcessControl.exit(DockerCredentialHelper.run(Array(CommandLine.arguments.dropFirst()), Context(socketFlag: nil)))
default:
    break
}

var arguments = Array(CommandLine.arguments.dropFirst())
var socketFlag: String?
while let first = arguments.first, first.hasPrefix("-") {
    arguments.removeFirst()
    switch first {
    case "--socket":
        guard !arguments.isEmpty else {
            Output.err("tokend: --socket needs a value\n")
            ProcessControl.exit(ExitCode.usage.rawValue)
        }
        socketFlag = arguments.removeFirst()
    case "--help", "-h":
        Output.out(usage)
        ProcessControl.exit(0)
    case "--version":
        Output.out("tokend 0.1.0 (protocol 1)\n")
        ProcessControl.exit(0)
    default:
        Output.err("tokend: unknown option \(first)\n\(usage)")
        ProcessControl.exit(ExitCode.usage.rawValue)
    }
}
guard !arguments.isEmpty else {
    Output.err(usage)
    ProcessControl.exit(ExitCode.usage.rawValue)
}
let command = arguments.removeFirst()
var rest = Arguments(arguments)
let context = Context(socketFlag: socketFlag)
let commands: [String: (Context, inout Arguments) throws(CommandFailure) -> Void] = [
    "get": SecretCommands.get, "put": SecretCommands.put, "update": SecretCommands.update, "rm": SecretCommands.rm, "ls": SecretCommands.ls,
    "status": AgentCommands.status, "stop": AgentCommands.stop,
    "init": VaultCommands.initialize, "unlock": VaultCommands.unlock, "lock": VaultCommands.lock,
    "migrate": VaultCommands.migrate,
    "doctor": DoctorCommand.run,
    "git-credential": { context, args in ProcessControl.exit(GitCredentialHelper.run(args.rest, context)) },
    "docker-credential": { context, args in ProcessControl.exit(DockerCredentialHelper.run(args.rest, context)) },
    "exec": ExecCommand.run, "export": ExportCommand.run, "shell-init": ShellInit.run,
]
guard let run = commands[command] else {
    Output.err("tokend: unknown command \(command)\n\(usage)")
    ProcessControl.exit(ExitCode.usage.rawValue)
}
do {
    try run(context, &rest)
} catch {
    Output.err("tokend: \(error.message)\n")
    ProcessControl.exit(error.code.rawValue)
}
ProcessControl.exit(0)
