import Glibc
import TokendPosix

/// The baseline: a process that answers every line on a Unix socket with a line of `replyBytes` (the size of
/// the agent's answer), from one epoll thread like the agent's I/O thread, doing nothing else. The reply
/// repeats the request's `{"id":NNNNNNN,` so that clients check it exactly as they check the agent's.
enum EchoServer {
    final class Connection {
        let fd: FileDescriptor
        var head: [UInt8] = []
        init(_ fd: FileDescriptor) { self.fd = fd }
    }

    static func serve(path: String, replyBytes: Int) -> Never {
        let tail = Array(#""ok":true,"pad":""#.utf8)
        let padding = replyBytes - okOffset - tail.count - 3
        guard padding >= 0 else { fatal("echo reply of \(replyBytes) bytes is too short") }
        let rest = tail + [UInt8](repeating: UInt8(ascii: "x"), count: padding) + Array("\"}\n".utf8)
        unlink(path)
        let listener: FileDescriptor
        let epoll: Epoll
        do {
            listener = try UnixSocket.listen(at: path)
            epoll = try Epoll()
            try epoll.add(listener, .readable, token: 0)
        } catch {
            fatal("echo server on \(path): \(error)")
        }
        var connections: [UInt64: Connection] = [:]
        var nextToken: UInt64 = 1
        // Raw memory: an array here was copied on every read (copy-on-write), which made the baseline slow.
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        var output: [UInt8] = []
        // Started by tokend-bench, it must not outlive it when the benchmark stops early.
        let parent = getppid()
        while getppid() == parent {
            for (token, events) in epoll.wait(timeoutMs: 1000) {
                if token == 0 {
                    while let fd = try? UnixSocket.accept(listener) {
                        guard (try? epoll.add(fd, .readable, token: nextToken)) != nil else { continue }
                        connections[nextToken] = Connection(fd)
                        nextToken += 1
                    }
                    continue
                }
                guard let connection = connections[token] else { continue }
                var n = 0
                if events.contains(.readable) {
                    do { n = try connection.fd.read(into: input) } catch {
                        if error == .again { continue }
                    }
                }
                guard n > 0 else {
                    epoll.remove(connection.fd)
                    connections[token] = nil
                    continue
                }
                output.removeAll(keepingCapacity: true)
                for byte in UnsafeRawBufferPointer(rebasing: input[..<n]) {
                    if connection.head.count < okOffset { connection.head.append(byte) }
                    guard byte == 0x0A else { continue }
                    output += connection.head
                    output += rest
                    connection.head.removeAll(keepingCapacity: true)
                }
                writeAll(connection.fd, output)
            }
        }
        exit(0)
    }

    /// Writes everything, waiting for room when the socket is full (clients read their answers, so it drains).
    static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd.rawValue, $0.baseAddress! + done, bytes.count - done) }
            if n > 0 {
                done += n
            } else if errno == EAGAIN || errno == EINTR {
                var p = pollfd(fd: fd.rawValue, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, -1)
            } else {
                return
            }
        }
    }
}
