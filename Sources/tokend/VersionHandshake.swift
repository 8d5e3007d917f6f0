import TokendClient
import TokendCore
import TokendPosix
import TokendProtocol

/// Who answered on the socket, from its `hello`.
struct AgentIdentity {
    var agent: String
    var version: Int
    var protocols: [Int]
    var pid: Int32

    /// The hello carries no `versions`: every agent answers such a hello with its own version and list,
    /// whereas one that does not speak a listed version answers only an error, which would not tell an older
    /// agent from a newer one.
    static func hello(_ client: AgentClient) throws(TokendError) -> AgentIdentity {
        var request = Request(op: .hello)
        request.client = "tokend"
        let o = try client.call(request).object
        let version = Int(o.int("version") ?? 0)
        var protocols: [Int] = []
        if case .array(let items)? = o["protocols"] {
            for item in items { if let text = o.rawText(item), let n = Int(text) { protocols.append(n) } }
        }
        return AgentIdentity(
            agent: o.string("agent") ?? "an unknown agent", version: version,
            protocols: protocols.isEmpty ? [version] : protocols, pid: Int32(o.int("pid") ?? 0))
    }

    enum Compatibility: Equatable {
        case compatible
        /// Every protocol the agent speaks is older than ours: this CLI's agent should replace it.
        case older
        /// The agent is newer and no longer speaks ours: replacing it would be a downgrade.
        case newer
    }

    var compatibility: Compatibility {
        if protocols.contains(ProtocolVersion.current) { return .compatible }
        return (protocols.max() ?? 0) < ProtocolVersion.current ? .older : .newer
    }

    var label: String { "\(agent), pid \(pid), protocol \(version)" }
}

/// The CLI/agent version rule: a CLI newer than the running agent stops it and starts its own; a CLI older
/// than the agent never talks past it and says what to do.
enum VersionHandshake {
    static let stopDeadline = 5.0

    static func newerAgent(_ identity: AgentIdentity) -> TokendError {
        TokendError(
            .agentUnavailable,
            "the running agent (\(identity.label)) does not speak this tokend's protocol \(ProtocolVersion.current): use the tokend installed with that agent, or run 'tokend stop' to replace it with this version's agent")
    }

    static func olderAgent(_ identity: AgentIdentity) -> TokendError {
        TokendError(
            .agentUnavailable,
            "the running agent (\(identity.label)) is older than this tokend (protocol \(ProtocolVersion.current)): run 'tokend stop', then run the command again")
    }

    /// Stops the older agent, waits until its process is gone, and connects again, which starts this
    /// version's agent (or, under socket activation, lets systemd start the one its unit names).
    static func replace(_ old: AgentIdentity, _ client: AgentClient, paths: AgentPaths) throws(TokendError)
        -> (AgentClient, AgentIdentity)
    {
        _ = try client.call(Request(op: .stop))
        let deadline = ProcessControl.monotonicSeconds() + stopDeadline
        while !ProcessControl.isGone(old.pid) {
            guard ProcessControl.monotonicSeconds() < deadline else {
                throw TokendError(
                    .agentUnavailable,
                    "the running agent (\(old.label)) is older than this tokend (protocol \(ProtocolVersion.current)) and did not stop when asked: stop it (kill \(old.pid)), then run the command again")
            }
            ProcessControl.sleep(seconds: 0.01)
        }
        let fresh = try AgentClient.connect(paths: paths, autoStart: true)
        let identity = try AgentIdentity.hello(fresh)
        guard identity.compatibility == .compatible else {
            throw TokendError(
                .agentUnavailable,
                "stopped the older agent (\(old.label)), but the agent that answers now (\(identity.label)) does not speak protocol \(ProtocolVersion.current) either: install the tokend-agent that came with this tokend next to it (or name it in TOKEND_AGENT); under systemd, point ExecStart= of tokend.service at it and run 'systemctl --user restart tokend.service'")
        }
        Output.err("tokend: replaced the older agent (\(old.label)) with \(identity.label)\n")
        return (fresh, identity)
    }

}
