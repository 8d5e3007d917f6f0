import Glibc
import Synchronization
import TokendPosix

/// Request ids are 7-digit numbers so that every request of a kind has the same size and every response starts
/// with `{"id":NNNNNNN,"ok":` at the same offset, for the agent and the raw echo server alike.
let firstId = 1_000_000
let okOffset = 14
let okMarker = Array(#""ok":true"#.utf8)

/// A request line whose id digits are rewritten in place, so that a client builds no strings while timed.
struct RequestTemplate: Sendable {
    var bytes: [UInt8]

    /// `body` is the request after its id, e.g. `"op":"get","name":"bench/k"`.
    init(_ body: String) { bytes = Array("{\"id\":\(firstId),\(body)}\n".utf8) }

    func append(id: Int, to out: inout [UInt8]) {
        let start = out.count
        out += bytes
        var v = id
        for k in stride(from: 12, through: 6, by: -1) {
            out[start + k] = UInt8(48 + v % 10)
            v /= 10
        }
    }
}

/// Splits what a connection receives into lines and checks that each one is a success.
struct LineChecker {
    var position = 0
    var head: [UInt8] = []
    var lines = 0
    var failures = 0
    /// The start of the first failed line, to show what went wrong.
    var firstFailure: [UInt8] = []

    /// Returns how many lines the bytes completed.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Int {
        var completed = 0
        for byte in bytes {
            if head.count < 200 { head.append(byte) }
            position += 1
            guard byte == 0x0A else { continue }
            completed += 1
            let ok = head.count >= okOffset + okMarker.count && head[okOffset..<okOffset + okMarker.count].elementsEqual(okMarker)
            if !ok {
                failures += 1
                if firstFailure.isEmpty { firstFailure = head }
            }
            head.removeAll(keepingCapacity: true)
            position = 0
        }
        lines += completed
        return completed
    }
}

/// What every client thread of one measurement shares: the phase (0 warm-up, 1 measuring, 2 stop) and a count
/// of connected clients, so that the clock starts only once all are connected.
final class Phase: Sendable {
    let value = Atomic<Int>(0)
    let connected = Atomic<Int>(0)
    let failed = Atomic<Bool>(false)
    /// The next request index of a job split across connections (pipelined clients).
    let next = Atomic<Int>(0)
}

/// A thread running `body`; `join` waits for it.
struct Worker {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    let thread: pthread_t

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else { fatal("pthread_create: \(String(cString: strerror(rc)))") }
        self.thread = thread
    }

    func join() { pthread_join(thread, nil) }
}

/// Results a client thread fills in; the main thread reads them only after joining it.
final class ClientResult: @unchecked Sendable {
    var latenciesNs: [UInt32] = []
    var completed = 0
    var checker = LineChecker()
}

enum Clients {
    static func connect(_ path: String, _ phase: Phase) -> FileDescriptor? {
        do {
            let fd = try UnixSocket.connect(to: path)
            // A server that stops answering fails the benchmark instead of hanging it.
            UnixSocket.setTimeout(fd, seconds: 60)
            return fd
        } catch {
            progress("connect \(path): \(error)")
            phase.failed.store(true, ordering: .relaxed)
            return nil
        }
    }

    static func send(_ fd: FileDescriptor, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { (try? fd.writeAll($0)) != nil }
    }

    /// One client of a closed loop: a request, its whole answer, the next request. Requests sent while
    /// measuring are timed from just before the write to the answer's LF. With `pacing` (seconds between
    /// requests, and this client's offset within that period) the client waits for its next slot instead of
    /// sending at once, so that many clients can be active without saturating the server.
    static func closedLoop(
        path: String, template: RequestTemplate, phase: Phase, result: ClientResult,
        pacing: (interval: Double, offset: Double)? = nil
    ) {
        guard let fd = connect(path, phase) else { return }
        phase.connected.add(1, ordering: .relaxed)
        var next = Measure.now() + (pacing?.offset ?? 0)
        var request: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        var id = firstId
        result.latenciesNs.reserveCapacity(200_000)
        while true {
            if let pacing {
                Measure.sleep(until: next)
                // A client that fell behind starts again from now rather than catching up in a burst.
                next = max(next + pacing.interval, Measure.now())
            }
            let current = phase.value.load(ordering: .acquiring)
            if current == 2 { break }
            request.removeAll(keepingCapacity: true)
            template.append(id: id, to: &request)
            id += 1
            let start = Measure.nanoseconds()
            guard send(fd, request) else { return fail(phase, "write failed") }
            var answered = false
            while !answered {
                let n = (try? fd.read(into: buffer)) ?? -1
                guard n > 0 else { return fail(phase, "the server closed the connection") }
                answered = result.checker.feed(UnsafeRawBufferPointer(rebasing: buffer[..<n])) > 0
            }
            if current == 1 {
                result.latenciesNs.append(UInt32(clamping: Measure.nanoseconds() - start))
                result.completed += 1
            }
        }
    }

    /// One connection keeping `window` requests in flight: each answer that arrives lets another request go.
    /// Request indices come from `phase.next` up to `total` (shared by all connections of the job); answers
    /// received while measuring are counted.
    static func pipelined(
        path: String, window: Int, total: Int, phase: Phase, result: ClientResult,
        make: (Int, inout [UInt8]) -> Void
    ) {
        guard let fd = connect(path, phase) else { return }
        phase.connected.add(1, ordering: .relaxed)
        var outstanding = 0
        var batch: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        func refill(_ count: Int) -> Bool {
            batch.removeAll(keepingCapacity: true)
            for _ in 0..<count where phase.value.load(ordering: .relaxed) != 2 {
                let index = phase.next.add(1, ordering: .relaxed).oldValue
                if index >= total { break }
                make(index, &batch)
                outstanding += 1
            }
            return batch.isEmpty || send(fd, batch)
        }
        guard refill(window) else { return fail(phase, "write failed") }
        while outstanding > 0 {
            let n = (try? fd.read(into: buffer)) ?? -1
            guard n > 0 else { return fail(phase, "the server closed the connection") }
            let lines = result.checker.feed(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            outstanding -= lines
            if phase.value.load(ordering: .relaxed) == 1 { result.completed += lines }
            guard refill(lines) else { return fail(phase, "write failed") }
        }
    }

    static func fail(_ phase: Phase, _ why: String) {
        progress(why)
        phase.failed.store(true, ordering: .relaxed)
    }
}
