import TokendCore
import TokendPosix
import TokendProtocol

/// A connection to the agent: sends request lines and reads response lines, all in secret memory.
public final class AgentClient {
    let fd: FileDescriptor
    let buffer = SecretBytes(capacity: 4096)
    var nextID: Int64 = 1
    public private(set) var agentVersion: Int = 0
    public private(set) var agentDescription = ""

    init(fd: FileDescriptor) { self.fd = fd }

    /// Connects to a running agent, or starts one (see `AutoStart`) when none answers.
    public static func connect(paths: AgentPaths, autoStart: Bool = true, timeout: Double = 60) throws(TokendError)
        -> AgentClient
    {
        let fd = try AutoStart.connect(paths, autoStart: autoStart)
        UnixSocket.setTimeout(fd, seconds: timeout)
        return AgentClient(fd: fd)
    }

    /// Sends a request (its id is set here) and returns the response, whose error (if any) is thrown.
    public func call(_ request: Request) throws(TokendError) -> Response {
        try send(request)
        return try receive().check()
    }

    public func send(_ request: Request) throws(TokendError) {
        var request = request
        request.id = String(nextID)
        nextID += 1
        let line = SecretBytes(capacity: 256)
        request.encode(into: line)
        do { try line.withUnsafeBytes { (b) throws(Errno) in try fd.writeAll(b) } } catch {
            throw TokendError(.agentUnavailable, "lost the connection to the agent: \(error)")
        }
    }

    public func receive() throws(TokendError) -> Response {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = SecretBytes(capacity: newline)
                buffer.withUnsafeBytes { line.append(UnsafeRawBufferPointer(rebasing: $0[0..<newline])) }
                buffer.removeFirst(newline + 1)
                return try Response.decode(line)
            }
            let n: Int
            do {
                n = try buffer.appendInPlace(upTo: 65536) { (b) throws(Errno) -> Int in try fd.read(into: b) }
            } catch {
                if error == .again || error == .wouldBlock {
                    throw TokendError(.timeout, "the agent did not answer in time")
                }
                throw TokendError(.agentUnavailable, "lost the connection to the agent: \(error)")
            }
            if n == 0 { throw TokendError(.agentUnavailable, "the agent closed the connection") }
            if buffer.count > Limits.maxResponseBytes {
                throw TokendError(.internalError, "the agent sent a response over \(Limits.maxResponseBytes / (1024 * 1024)) MiB")
            }
        }
    }

    /// Checks that the agent speaks our protocol version.
    public func handshake() throws(TokendError) {
        var hello = Request(op: .hello)
        hello.versions = ProtocolVersion.supported
        hello.client = "tokend"
        let response = try call(hello)
        agentVersion = Int(response.object.int("version") ?? 0)
        agentDescription = response.object.string("agent") ?? "unknown agent"
    }
}
