import TokendCore
import TokendProtocol

/// status, stop.
enum AgentCommands {
    static func status(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse(switches: ["--json"])
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend status [--json]") }
        let response = try context.call(Request(op: .status))
        if parsed.switches.contains("--json") {
            _ = Output.out(response.object.line)
            Output.out("\n")
            return
        }
        let o = response.object
        var rows: [[String]] = []
        let paths = try context.paths()
        rows.append(["agent:", "\(o.string("agent") ?? "?") (pid \(o.int("pid") ?? 0), protocol \(o.int("version") ?? 0))"])
        rows.append(["socket:", paths.socket])
        rows.append(["started:", o.string("started") ?? "?"])
        rows.append(["store:", "\(o.string("store") ?? "?") — \(o.string("store_state") ?? "?")"])
        rows.append(["chosen because:", o.string("store_reason") ?? "?"])
        rows.append(["connections:", "\(o.int("connections") ?? 0)"])
        rows.append(["requests:", "\(o.int("requests") ?? 0)"])
        rows.append(["cached secrets:", "\(o.int("cached") ?? 0)"])
        rows.append([
            "access:",
            "\(o.int("grants") ?? 0) granted, \(o.int("denials") ?? 0) denied, \(o.int("rate_limited") ?? 0) rate-limited, \(o.int("expired") ?? 0) expired",
        ])
        let limit = o.int("memlock_limit") ?? -1
        let limitText = limit < 0 ? "unlimited" : "\(limit) bytes"
        rows.append([
            "memory:",
            o.bool("memory_locked") == true
                ? "secrets locked in RAM (RLIMIT_MEMLOCK \(limitText))"
                : "some secret memory could not be locked (RLIMIT_MEMLOCK \(limitText) is too small); it is still wiped and kept out of core dumps",
        ])
        rows.append(["core dumps:", o.bool("dumpable") == false ? "disabled (non-dumpable)" : "ENABLED"])
        Output.out(Table.render(rows))
    }

    static func stop(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse()
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend stop") }
        do {
            _ = try context.agent(autoStart: false)
        } catch {
            if error.code == .unavailable {
                Output.err("tokend: no agent is running\n")
                return
            }
            throw error
        }
        _ = try context.call(Request(op: .stop))
    }
}
