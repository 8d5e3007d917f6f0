import TokendCore
import TokendPosix

/// One client connection: its buffers (secret memory: requests and responses carry values), the peer, and
/// the times that drive its deadlines.
final class Connection {
    let fd: FileDescriptor
    let token: UInt64
    let peer: Peer
    let input = SecretBytes(capacity: 512)
    let output = SecretBytes(capacity: 512)
    var written = 0
    /// A request of this connection is at the store thread; later lines wait so that answers keep order.
    var busy = false
    /// Close once the output is flushed, ignoring further input (after a fatal protocol error).
    var closing = false
    /// The peer shut down its sending side: answer the complete lines it sent, then close.
    var inputEnded = false
    var lastActivity: Double
    /// When the first byte of the current incomplete line arrived.
    var partialSince: Double?
    var interest: Epoll.Events = .readable
    /// False once the connection has left the epoll set (peer hung up while a request was at the store).
    var registered = true

    init(fd: FileDescriptor, token: UInt64, peer: Peer, now: Double) {
        self.fd = fd
        self.token = token
        self.peer = peer
        lastActivity = now
    }

    var hasPendingOutput: Bool { written < output.count }

    /// Memory this connection holds: its unfinished input and its unsent output.
    var bufferedBytes: Int { input.count + output.count - written }

    /// Unread answers beyond this stop reading from the client until it reads them: a client that pipelines
    /// requests without reading answers cannot make the agent buffer without bound.
    static let maxPendingOutput = 4 * 1024 * 1024

    /// Whether to read more: not after a fatal error or end of input, not past one line's worth of unprocessed
    /// input (requests waiting behind a slow one), not while answers pile up unread.
    var wantsInput: Bool {
        !closing && !inputEnded && input.count <= TokendCore.Limits.maxLineBytes
            && output.count - written <= Connection.maxPendingOutput
    }

    /// Drops what has been written, so the buffer does not grow with a long-lived connection.
    func compactOutput() {
        if written == output.count {
            output.removeAll()
            written = 0
        }
    }
}
