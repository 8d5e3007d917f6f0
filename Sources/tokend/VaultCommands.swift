import TokendCore
import TokendPosix
import TokendProtocol

/// init, unlock, lock, migrate: the lifecycle of the encrypted file store.
enum VaultCommands {
    static func initialize(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(values: Passphrase.flags)
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend init [--passphrase-fd N | --passphrase-file PATH]") }
        // Asked before the passphrase is: nobody should type a new passphrase twice only to hear it was not needed.
        let status = try context.call(Request(op: .status)).object
        if status.string("store") == "file", status.string("store_state") != "not initialized" {
            let place = status.string("store_path").map { " (\($0))" } ?? ""
            throw CommandFailure(.invalid, "the encrypted file store already exists\(place); use tokend unlock")
        }
        var request = Request(op: .initialize)
        request.passphrase = try Passphrase.read(parsed.values, prompt: "New passphrase for the tokend vault: ", confirm: true)
        _ = try context.call(request)
        Output.err("tokend: the encrypted file store is ready and unlocked\n")
    }

    static func unlock(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(values: Passphrase.flags)
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend unlock [--passphrase-fd N | --passphrase-file PATH]") }
        try sendUnlock(context, try Passphrase.read(parsed.values, prompt: "Passphrase for the tokend vault: ", confirm: false))
    }

    static func sendUnlock(_ context: Context, _ passphrase: SecretBytes) throws(CommandFailure) {
        var request = Request(op: .unlock)
        request.passphrase = passphrase
        _ = try context.call(request)
    }

    static func lock(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse()
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend lock") }
        _ = try context.call(Request(op: .lock))
    }

    static func migrate(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(values: Passphrase.flags.union(["--to"]))
        guard parsed.positionals.isEmpty, let to = parsed.values["--to"]?.first, to == "file" || to == "secret-service" else {
            throw .usage("usage: tokend migrate --to file|secret-service [--passphrase-fd N | --passphrase-file PATH]")
        }
        var request = Request(op: .migrate)
        request.to = to
        if to == "file" {
            request.passphrase = try Passphrase.read(parsed.values, prompt: "Passphrase for the tokend vault: ", confirm: false)
        }
        let response: Response
        do { response = try context.call(request) } catch {
            // The store is reached from the agent's environment, which may predate this shell's bus.
            if to == "secret-service", error.code == .unavailable, error.message.contains("no D-Bus session bus"),
                ProcessControl.environment("DBUS_SESSION_BUS_ADDRESS") != nil
            {
                throw CommandFailure(
                    error.code, error.message + " in the agent's environment; run tokend stop, then tokend migrate again from this shell")
            }
            throw error
        }
        Output.out("migrated \(response.object.int("migrated") ?? 0) secrets to the \(to) store\n")
    }
}
