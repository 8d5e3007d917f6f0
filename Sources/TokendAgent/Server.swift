import Dispatch
import Synchronization
import TokendCore
import TokendPosix
import TokendProtocol

/// Counters shared with the status op.
final class ServerStats: Sendable {
    let connections = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
}

/// The listener and its epoll loop. One I/O thread owns every connection; store calls run on a serial
/// store queue and come back through `completions` and an eventfd. No client can hold up another: reads
/// and writes never block, and a connection that is idle, slow or oversized is cut off by its deadline or
/// its limit.
final class Server {
    static let listenerToken: UInt64 = 0
    static let wakeupToken: UInt64 = 1
    static let signalToken: UInt64 = 2
    static let firstConnectionToken: UInt64 = 16

    let configuration: AgentConfiguration
    let listener: FileDescriptor
    let handler: RequestHandler
    let epoll: Epoll
    let wakeup: Wakeup
    let signals: SignalDescriptor
    let store = StoreScheduler()
    let completions = Completions()
    let stats: ServerStats
    var connections: [UInt64: Connection] = [:]
    var nextToken = Server.firstConnectionToken
    var running = true
    let uid = ProcessControl.userID
    /// When `checkSocketFile` last ran (monotonic seconds).
    var lastSocketCheck = 0.0
    /// The socket file this agent created, which it watches and removes at the end; nil when systemd passed
    /// the socket (systemd owns that file). Taken when the socket was bound, not later: a file removed while
    /// the agent was still starting must count as removed.
    let socketFile: FileStatus?
    /// Set while the listener is out of the epoll set after a failed accept.
    var acceptResumesAt: Double?
    static let acceptPause = 0.1

    init(configuration: AgentConfiguration, listener: FileDescriptor, handler: RequestHandler, stats: ServerStats,
         signals: SignalDescriptor, socketFile: FileStatus?) throws(Errno)
    {
        self.configuration = configuration
        self.listener = listener
        self.handler = handler
        self.stats = stats
        self.signals = signals
        self.socketFile = socketFile
        epoll = try Epoll()
        wakeup = try Wakeup()
        try epoll.add(listener, .readable, token: Server.listenerToken)
        try epoll.add(wakeup.fd, .readable, token: Server.wakeupToken)
        try epoll.add(signals.fd, .readable, token: Server.signalToken)
    }

    /// Whether the socket path still names the socket this agent listens on.
    var socketFileIsOurs: Bool {
        guard let mine = socketFile, let now = try? FileStatus.of(configuration.paths.socket) else { return false }
        return now.isSameFile(as: mine)
    }

    func run() {
        while running {
            let now = ProcessControl.monotonicSeconds()
            for (token, events) in epoll.wait(timeoutMs: acceptResumesAt == nil ? 250 : 50) {
                switch token {
                case Server.listenerToken: acceptAll()
                case Server.wakeupToken: wakeup.drain(); deliverCompletions()
                case Server.signalToken: handleSignals()
                default:
                    guard let connection = connections[token] else { continue }
                    // Read before acting on a hang-up: a client may send its last requests and close at once.
                    if events.contains(.readable) { readFrom(connection) }
                    guard connections[token] != nil else { continue }
                    if events.contains(.hangup) || events.contains(.error) {
                        hangUp(connection)
                    } else if events.contains(.writable) {
                        flush(connection)
                        // Lines held back while answers piled up can go now.
                        if connections[token] != nil && !connection.busy { processLines(connection) }
                    }
                }
            }
            enforceDeadlines(now: ProcessControl.monotonicSeconds())
            if let resume = acceptResumesAt, ProcessControl.monotonicSeconds() >= resume {
                acceptResumesAt = nil
                try? epoll.add(listener, .readable, token: Server.listenerToken)
            }
            if now - lastSocketCheck > 1 {
                lastSocketCheck = now
                checkSocketFile()
                AuditLog.rotateIfNeeded(configuration.paths.log)
            }
            if handler.stopRequested.load(ordering: .relaxed) && !connections.values.contains(where: \.hasPendingOutput) {
                running = false
            }
        }
        for connection in Array(connections.values) { close(connection) }
        if socketFileIsOurs { try? FileSystem.remove(configuration.paths.socket) }
    }

    func handleSignals() {
        while let signal = signals.next() {
            if signal == .hangup {
                AuditLog.notice("SIGHUP received; ignored")
            } else {
                AuditLog.notice("signal \(signal) received; stopping")
                running = false
            }
        }
    }

    /// The socket file removed or replaced under a running agent: nobody can reach this agent any more and
    /// a new one may already be starting, so stop rather than serve a path that is no longer ours.
    func checkSocketFile() {
        guard socketFile != nil else { return }
        guard socketFileIsOurs else {
            AuditLog.notice("socket \(configuration.paths.socket) was removed or replaced; stopping")
            running = false
            return
        }
    }

    func acceptAll() {
        while true {
            let fd: FileDescriptor
            do {
                guard let accepted = try UnixSocket.accept(listener) else { return }
                fd = accepted
            } catch {
                // Out of descriptors (a limit lowered under the agent): the listener stays readable, so it
                // leaves the epoll set for a moment rather than spin and flood the log.
                AuditLog.notice("accept failed: \(error); not accepting for \(Int(Server.acceptPause * 1000)) ms")
                epoll.remove(listener)
                acceptResumesAt = ProcessControl.monotonicSeconds() + Server.acceptPause
                return
            }
            guard let credentials = try? UnixSocket.peer(fd) else { continue }
            guard credentials.uid == uid else {
                AuditLog.event(op: "connect", name: nil, peer: Peer(credentials), outcome: "refused_uid")
                continue
            }
            let peer = Peer(credentials)
            let now = ProcessControl.monotonicSeconds()
            if connections.count >= configuration.maxConnections {
                let refusal = SecretBytes()
                ResponseEncoder.error(id: "null", TokendError(.busy, "too many connections (limit \(configuration.maxConnections)); try again"), into: refusal)
                _ = refusal.withUnsafeBytes { try? fd.write($0) }
                AuditLog.event(op: "connect", name: nil, peer: peer, outcome: "busy")
                continue
            }
            let connection = Connection(fd: fd, token: nextToken, peer: peer, now: now)
            nextToken += 1
            do { try epoll.add(fd, .readable, token: connection.token) } catch { continue }
            connections[connection.token] = connection
            stats.connections.store(connections.count, ordering: .relaxed)
        }
    }

    /// The peer is gone entirely. EPOLLHUP is reported whatever the interest, so a connection waiting for
    /// the store thread leaves the epoll set until its answer arrives (and is then dropped).
    func hangUp(_ connection: Connection) {
        guard connection.busy else {
            close(connection)
            return
        }
        connection.closing = true
        connection.registered = false
        epoll.remove(connection.fd)
    }

    func close(_ connection: Connection) {
        if connection.registered { epoll.remove(connection.fd) }
        connection.fd.close()
        connections[connection.token] = nil
        stats.connections.store(connections.count, ordering: .relaxed)
    }

    func readFrom(_ connection: Connection) {
        // Stop reading past one line's worth when requests pile up behind a slow one.
        guard connection.wantsInput else { return }
        let n: Int
        do {
            n = try connection.input.appendInPlace(upTo: 64 * 1024) { (b) throws(Errno) -> Int in
                try connection.fd.read(into: b)
            }
        } catch {
            if error == .again || error == .wouldBlock { return }
            close(connection)
            return
        }
        if n == 0 {
            // The peer shut down its sending side; it still gets the answers to the lines it sent.
            connection.inputEnded = true
            if connection.partialSince != nil { connection.input.removeAll() }
            flush(connection)
            return
        }
        connection.lastActivity = ProcessControl.monotonicSeconds()
        enforceBufferBudget(after: connection)
        guard connections[connection.token] != nil else { return }
        processLines(connection)
    }

    /// Each connection's buffers are capped (a line, and a few MiB of unread answers), and so is their sum:
    /// past `bufferBudget` the connection holding the most is cut off, so that one process with many
    /// connections cannot take all memory while the others keep being served. Only a connection holding over
    /// 1 MiB triggers the count, so small requests never pay for it.
    func enforceBufferBudget(after connection: Connection) {
        guard connection.bufferedBytes > 1024 * 1024 else { return }
        var total = 0
        var largest = connection
        for other in connections.values {
            total += other.bufferedBytes
            if other.bufferedBytes > largest.bufferedBytes { largest = other }
        }
        guard total > configuration.bufferBudget else { return }
        let refusal = SecretBytes()
        ResponseEncoder.error(
            id: "null", TokendError(.busy, "the agent's buffers for all connections are full and this connection held the most; closing"),
            into: refusal)
        // Not in the middle of an answer already on its way.
        if !largest.hasPendingOutput { _ = refusal.withUnsafeBytes { try? largest.fd.write($0) } }
        AuditLog.event(op: "connect", name: nil, peer: largest.peer, outcome: "buffer_budget")
        close(largest)
    }

    func processLines(_ connection: Connection) {
        while !connection.busy && !connection.closing
            && connection.output.count - connection.written <= Connection.maxPendingOutput
        {
            guard let newline = connection.input.firstIndex(of: 0x0A) else {
                if connection.input.count > Limits.maxLineBytes {
                    fail(connection, TokendError(.tooLarge, "request line longer than \(Limits.maxLineBytes) bytes; closing"))
                } else if connection.input.isEmpty {
                    connection.partialSince = nil
                } else if connection.partialSince == nil {
                    connection.partialSince = ProcessControl.monotonicSeconds()
                }
                break
            }
            connection.partialSince = nil
            if newline > Limits.maxLineBytes {
                fail(connection, TokendError(.tooLarge, "request line longer than \(Limits.maxLineBytes) bytes; closing"))
                break
            }
            let line = SecretBytes(capacity: newline)
            connection.input.withUnsafeBytes { line.append(UnsafeRawBufferPointer(rebasing: $0[0..<newline])) }
            connection.input.removeFirst(newline + 1)
            stats.requests.add(1, ordering: .relaxed)
            handle(line, connection)
        }
        flush(connection)
    }

    func handle(_ line: SecretBytes, _ connection: Connection) {
        let request: Request
        do {
            request = try Request.decode(line)
        } catch {
            ResponseEncoder.error(id: error.id, error.error, into: connection.output)
            AuditLog.event(op: "request", name: nil, peer: connection.peer, outcome: error.error.code.rawValue)
            return
        }
        line.removeAll()
        if handler.answerFast(request, peer: connection.peer, into: connection.output) { return }
        connection.busy = true
        let token = connection.token
        let peer = connection.peer
        let box = UncheckedRequest(request)
        store.submit(read: request.op.onlyReads) { [handler, completions, wakeup] in
            let response = SecretBytes(capacity: 256)
            handler.answer(box.request, peer: peer, into: response)
            completions.add(token, response)
            wakeup.signal()
        }
    }

    func deliverCompletions() {
        for (token, response) in completions.takeAll() {
            guard let connection = connections[token] else { continue }
            connection.output.append(response)
            response.removeAll()
            connection.busy = false
            connection.lastActivity = ProcessControl.monotonicSeconds()
            enforceBufferBudget(after: connection)
            guard connections[token] != nil else { continue }
            processLines(connection)
        }
    }

    /// Sends an error and closes the connection once it is written.
    func fail(_ connection: Connection, _ error: TokendError) {
        ResponseEncoder.error(id: "null", error, into: connection.output)
        AuditLog.event(op: "request", name: nil, peer: connection.peer, outcome: error.code.rawValue)
        connection.input.removeAll()
        connection.closing = true
    }

    func flush(_ connection: Connection) {
        while connection.hasPendingOutput {
            let n: Int
            do {
                n = try connection.output.withUnsafeBytes { (b) throws(Errno) -> Int in
                    try connection.fd.write(UnsafeRawBufferPointer(rebasing: b[connection.written...]))
                }
            } catch {
                if error == .again || error == .wouldBlock { break }
                close(connection)
                return
            }
            connection.written += n
        }
        connection.compactOutput()
        let finished = connection.closing || (connection.inputEnded && connection.input.firstIndex(of: 0x0A) == nil)
        if finished && !connection.hasPendingOutput && !connection.busy {
            close(connection)
            return
        }
        guard connection.registered else {
            if !connection.busy { close(connection) }
            return
        }
        var wanted: Epoll.Events = connection.wantsInput ? .readable : []
        if connection.hasPendingOutput { wanted.insert(.writable) }
        if wanted != connection.interest {
            connection.interest = wanted
            try? epoll.modify(connection.fd, wanted, token: connection.token)
        }
    }

    func enforceDeadlines(now: Double) {
        for connection in Array(connections.values) where !connection.busy {
            if let since = connection.partialSince, now - since > configuration.requestTimeout {
                fail(connection, TokendError(.timeout, "request not completed within \(Int(configuration.requestTimeout)) s; closing"))
                flush(connection)
            } else if connection.partialSince == nil && !connection.hasPendingOutput
                && now - connection.lastActivity > configuration.idleTimeout
            {
                close(connection)
            }
        }
    }
}

/// Responses finished on the store thread, waiting for the I/O thread.
final class Completions: Sendable {
    private let pending = Mutex<[(UInt64, SecretBytes)]>([])

    func add(_ token: UInt64, _ response: SecretBytes) { pending.withLock { $0.append((token, response)) } }

    func takeAll() -> [(UInt64, SecretBytes)] {
        pending.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}

/// Hands a decoded request (which owns secret buffers) to the store thread; the I/O thread lets go of it.
struct UncheckedRequest: @unchecked Sendable {
    let request: Request
    init(_ request: Request) { self.request = request }
}
