import TokendClient
import TokendCore
import TokendPosix
import TokendProtocol

/// What every command needs: where the agent is, and a connection made on first use.
final class Context {
    let socketFlag: String?
    private var client: AgentClient?

    init(socketFlag: String?) { self.socketFlag = socketFlag }

    func paths() throws(CommandFailure) -> AgentPaths {
        do { return try AgentPaths.resolve(explicit: socketFlag) } catch { throw CommandFailure(error) }
    }

    /// The connection, after a version handshake; the agent is started when none answers.
    func agent(autoStart: Bool = true) throws(CommandFailure) -> AgentClient {
        if let client { return client }
        let paths = try paths()
        do throws(TokendError) {
            let connected = try AgentClient.connect(paths: paths, autoStart: autoStart)
            try connected.handshake()
            client = connected
            return connected
        } catch {
            throw CommandFailure(error)
        }
    }

    func call(_ request: Request) throws(CommandFailure) -> Response {
        let client = try agent()
        do { return try client.call(request) } catch { throw CommandFailure(error) }
    }
}
