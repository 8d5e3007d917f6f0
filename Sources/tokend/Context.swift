import TokendClient
import TokendCore
import TokendPosix
import TokendProtocol

/// What every command needs: where the agent is, and a connection made on first use.
final class Context {
    let socketFlag: String?
    private var client: AgentClient?
    /// The agent that answered, from its hello.
    private(set) var identity: AgentIdentity?
    /// Why the agent that answered must not be asked anything but `stop` (its protocol is not ours).
    private(set) var mismatch: TokendError?

    init(socketFlag: String?) { self.socketFlag = socketFlag }

    func paths() throws(CommandFailure) -> AgentPaths {
        do { return try AgentPaths.resolve(explicit: socketFlag) } catch { throw CommandFailure(error) }
    }

    /// The connection, after a version handshake (see `VersionHandshake`). With `autoStart`, an agent is
    /// started when none answers, an older one is replaced and a newer one is refused; without it, an agent
    /// of another protocol is kept for `stop` only.
    func agent(autoStart: Bool = true) throws(CommandFailure) -> AgentClient {
        if let client { return client }
        let paths = try paths()
        do throws(TokendError) {
            var connected = try AgentClient.connect(paths: paths, autoStart: autoStart)
            var answered = try AgentIdentity.hello(connected)
            switch answered.compatibility {
            case .compatible: break
            case .older where autoStart: (connected, answered) = try VersionHandshake.replace(answered, connected, paths: paths)
            case .older: mismatch = VersionHandshake.olderAgent(answered)
            case .newer where autoStart: throw VersionHandshake.newerAgent(answered)
            case .newer: mismatch = VersionHandshake.newerAgent(answered)
            }
            client = connected
            identity = answered
            return connected
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Sends a request; only `stop`, which every protocol version has, goes to an agent of another protocol.
    func call(_ request: Request) throws(CommandFailure) -> Response {
        let client = try agent()
        if let mismatch, request.op != .stop { throw CommandFailure(mismatch) }
        do { return try client.call(request) } catch { throw CommandFailure(error) }
    }
}
