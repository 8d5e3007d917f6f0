import Glibc
import Synchronization
import TokendPosix

// tokend-bench: measures a running agent against its targets (DESIGN.md, "Performance targets") and prints a
// table. scripts/bench starts the keyring and the agent around it. `tokend-bench echo-server PATH BYTES` is
// the raw socket baseline, which the benchmark starts itself.

let usage = """
    usage: tokend-bench --tokend PATH [--socket PATH] [--file-socket PATH] [--runs N] [--seconds S]
                        [--keyring-secrets N] [--secrets N]
    Needs a running tokend-agent on the socket (default $XDG_RUNTIME_DIR/tokend/agent.sock) using the Secret
    Service, and secret-tool on PATH reaching the same keyring; with --file-socket, a second agent using a
    new, uninitialised file store, for the memory measurement with --secrets secrets (default 10,000). Both
    need their rate limit raised (--rate 1000000 --burst 1000000).

    """

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "echo-server", arguments.count == 3, let bytes = Int(arguments[2]) {
    EchoServer.serve(path: arguments[1], replyBytes: bytes)
}

var tokendFlag: String?
var socketFlag = (getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? "") + "/tokend/agent.sock"
var runsFlag = 21
var secondsFlag = 2.0
var secretsFlag = 10_000
var keyringSecretsFlag = 1_000
var fileSocketFlag: String?
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard !arguments.isEmpty else { fatal("\(flag) needs a value\n\(usage)") }
    let value = arguments.removeFirst()
    switch flag {
    case "--tokend": tokendFlag = value
    case "--socket": socketFlag = value
    case "--runs": runsFlag = max(1, Int(value) ?? runsFlag)
    case "--seconds": secondsFlag = max(0.1, Double(value) ?? secondsFlag)
    case "--secrets": secretsFlag = max(1, Int(value) ?? secretsFlag)
    case "--keyring-secrets": keyringSecretsFlag = max(1, Int(value) ?? keyringSecretsFlag)
    case "--file-socket": fileSocketFlag = value
    default: fatal("unknown argument \(flag)\n\(usage)")
    }
}
guard let tokendPath = tokendFlag else { fatal("--tokend is required\n\(usage)") }
// Constants from here on: the client threads read them.
let socketPath = socketFlag
let runs = runsFlag
let seconds = secondsFlag
let secretCount = secretsFlag
let keyringSecretCount = keyringSecretsFlag

let benchName = "bench/k"
let benchValue = Array("bench-value-0123456789-abcdefghijklmnopq".utf8)
let getTemplate = RequestTemplate(#""op":"get","name":"\#(benchName)""#)
let loadAtStart = Measure.loadAverage

/// A connection to an agent for set-up requests, one at a time.
struct Control {
    let fd: FileDescriptor
    private(set) var pid: Int32 = 0

    init(_ path: String) {
        do { fd = try UnixSocket.connect(to: path) } catch { fatal("no agent on \(path): \(error)") }
        let hello = call(#"{"id":\#(firstId),"op":"hello"}"#)
        guard let text = Control.field(hello, "pid"), let pid = Int32(text) else {
            fatal("no pid in the agent's hello: \(hello)")
        }
        self.pid = pid
    }

    func call(_ line: String) -> String {
        var checker = LineChecker()
        guard Clients.send(fd, Array(line.utf8) + [0x0A]) else { fatal("cannot write to the agent") }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while checker.lines == 0 {
            let n = buffer.withUnsafeMutableBytes { (try? fd.read(into: $0)) ?? -1 }
            guard n > 0 else { fatal("the agent closed the connection") }
            bytes += buffer[..<n]
            _ = buffer.withUnsafeBytes { checker.feed(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
        }
        let answer = String(decoding: bytes.dropLast(), as: UTF8.self)
        // Set-up requests carry ids of the 7-digit form, so the checker's verdict applies.
        guard checker.failures == 0 else { fatal("the agent refused \(line.prefix(60))…: \(answer)") }
        return answer
    }

    /// A number field of a flat answer.
    static func field(_ answer: String, _ name: String) -> String? {
        answer.split(separator: ",").first(where: { $0.hasPrefix("\"\(name)\":") })
            .map { String($0.dropFirst(name.count + 3).prefix(while: \.isNumber)) }
    }
}

let control = Control(socketPath)
let agentPid = control.pid
let rssIdle = Measure.resident(agentPid)
_ = control.call(#"{"id":\#(firstId),"op":"put","name":"\#(benchName)","value_b64":"\#(base64(benchValue))"}"#)
let sampleAnswer = control.call(#"{"id":\#(firstId),"op":"get","name":"\#(benchName)"}"#)
let requestBytes = getTemplate.bytes.count
let answerBytes = sampleAnswer.utf8.count + 1

// 1. Whole process, alternating (and alternating which goes first) so that drift hits both alike.
progress("1/4 whole process: \(runs) runs each of tokend get and secret-tool lookup")
let tokendGet = [tokendPath, "get", benchName]
let secretToolLookup = ["secret-tool", "lookup", "name", benchName]
for argv in [tokendGet, secretToolLookup] {
    let warm = Spawn.run(argv, capture: true)
    var output = warm.output
    if output.last == 0x0A, output.count == benchValue.count + 1 { output.removeLast() }
    guard warm.status == 0, output == benchValue else {
        fatal("\(argv.joined(separator: " ")) did not print the stored value (status \(warm.status))")
    }
}
var tokendMs: [Double] = []
var secretToolMs: [Double] = []
for i in 0..<runs {
    for argv in i % 2 == 0 ? [tokendGet, secretToolLookup] : [secretToolLookup, tokendGet] {
        let result = Spawn.run(argv)
        guard result.status == 0 else { fatal("\(argv.joined(separator: " ")) failed (status \(result.status))") }
        if argv == tokendGet { tokendMs.append(result.seconds * 1000) } else { secretToolMs.append(result.seconds * 1000) }
    }
}
tokendMs.sort()
secretToolMs.sort()

// 2. and 3. Socket round trips and throughput, the agent and the echo baseline taking turns.
struct Cell {
    var p50Us = 0.0
    var p99Us = 0.0
    var perSecond = 0.0
    var cpuUsPerRequest = 0.0
}

/// Starts `count` client threads, waits until all are connected, warms up for 0.3 s, measures for `seconds`
/// (nil: until the job is done) and joins them.
func measure(count: Int, seconds: Double?, serverPid: Int32, phase: Phase,
             client: @escaping @Sendable (ClientResult) -> Void) -> (Cell, [ClientResult])
{
    let results = (0..<count).map { _ in ClientResult() }
    if seconds == nil { phase.value.store(1, ordering: .releasing) }
    let workers = results.map { result in Worker { client(result) } }
    let deadline = Measure.now() + 10
    while phase.connected.load(ordering: .relaxed) < count && !phase.failed.load(ordering: .relaxed) {
        if Measure.now() > deadline { fatal("clients could not connect within 10 s") }
        Measure.sleep(0.001)
    }
    if seconds != nil { Measure.sleep(0.3) }
    let cpuBefore = Measure.cpuSeconds(serverPid) ?? 0
    let start = Measure.now()
    if let seconds {
        phase.value.store(1, ordering: .releasing)
        Measure.sleep(seconds)
        phase.value.store(2, ordering: .releasing)
    } else {
        for worker in workers { worker.join() }
    }
    let elapsed = Measure.now() - start
    let cpu = (Measure.cpuSeconds(serverPid) ?? 0) - cpuBefore
    if seconds != nil { for worker in workers { worker.join() } }
    var cell = Cell()
    if phase.failed.load(ordering: .relaxed) { fatal("a client failed") }
    for result in results where result.checker.failures > 0 {
        fatal("\(result.checker.failures) answers were errors, the first: \(String(decoding: result.checker.firstFailure, as: UTF8.self))")
    }
    let completed = results.reduce(0) { $0 + $1.completed }
    cell.perSecond = Double(completed) / elapsed
    cell.cpuUsPerRequest = completed > 0 ? cpu * 1e6 / Double(completed) : 0
    let latencies = results.flatMap(\.latenciesNs).sorted()
    if !latencies.isEmpty {
        cell.p50Us = Double(Measure.percentile(latencies, 0.50)) / 1000
        cell.p99Us = Double(Measure.percentile(latencies, 0.99)) / 1000
    }
    return (cell, results)
}

/// `rate`: requests per second of all clients together, spread evenly over them (nil: as fast as they can).
func closedLoop(_ path: String, _ pid: Int32, clients: Int, rate: Double? = nil) -> Cell {
    let phase = Phase()
    let slot = Atomic<Int>(0)
    return measure(count: clients, seconds: seconds, serverPid: pid, phase: phase) { result in
        let pacing = rate.map { rate in
            let interval = Double(clients) / rate
            return (interval, interval * Double(slot.add(1, ordering: .relaxed).oldValue) / Double(clients))
        }
        Clients.closedLoop(path: path, template: getTemplate, phase: phase, result: result, pacing: pacing)
    }.0
}

let pipelineConnections = 4
let pipelineWindow = 32
func pipelinedGets(_ path: String, _ pid: Int32) -> Cell {
    let phase = Phase()
    return measure(count: pipelineConnections, seconds: seconds, serverPid: pid, phase: phase) { result in
        Clients.pipelined(path: path, window: pipelineWindow, total: Int.max, phase: phase, result: result) { i, out in
            getTemplate.append(id: firstId + i % 8_000_000, to: &out)
        }
    }.0
}

let echoPath = String(socketPath[..<socketPath.lastIndex(of: "/")!]) + "/bench-echo.sock"
let echo = Spawn.start(["/proc/self/exe", "echo-server", echoPath, String(answerBytes)])
var echoWait = 0
while (try? UnixSocket.connect(to: echoPath)) == nil {
    echoWait += 1
    if echoWait > 1000 { fatal("the echo server did not start") }
    Measure.sleep(0.005)
}

let levels = [1, 16, 64]
var agentCells: [Int: Cell] = [:]
var rawCells: [Int: Cell] = [:]
for clients in levels {
    progress("2/4 round trips, \(clients) client(s): raw echo, then agent, \(seconds) s each")
    rawCells[clients] = closedLoop(echoPath, echo, clients: clients)
    agentCells[clients] = closedLoop(socketPath, agentPid, clients: clients)
}
// 64 clients in a closed loop keep 64 requests queued, so their latency is 64 ÷ throughput (Little's law),
// milliseconds even for the raw echo; paced below saturation, the same 64 clients show the service latency.
let pacedRate = 10_000.0
progress("2/4 round trips, 64 clients paced at \(Int(pacedRate)) gets/s in total: raw echo, then agent")
let rawPaced = closedLoop(echoPath, echo, clients: 64, rate: pacedRate)
let agentPaced = closedLoop(socketPath, agentPid, clients: 64, rate: pacedRate)
progress("3/4 pipelined gets: \(pipelineConnections) connections × \(pipelineWindow) in flight, raw then agent")
let rawPipelined = pipelinedGets(echoPath, echo)
let agentPipelined = pipelinedGets(socketPath, agentPid)
kill(echo, SIGTERM)
var echoStatus: Int32 = 0
waitpid(echo, &echoStatus, 0)
let rssAfterGets = Measure.resident(agentPid)

// 4. Memory. The Secret Service agent holds only what it has cached; the file store agent holds every secret
// of its store, so it is the one that gets the 10,000. Puts go over several connections so that the store
// queue never waits for a client; it handles them one at a time all the same.
struct Fill {
    var puts = Cell()
    var gets = Cell()
    var rssStored = Measure.Resident()
    var rssRead = Measure.Resident()
}

func fill(_ path: String, _ pid: Int32, count: Int, store: String) -> Fill {
    func job(_ what: String, _ make: @escaping @Sendable (Int, inout [UInt8]) -> Void) -> Cell {
        progress("4/4 \(what) \(count) secrets, \(store) store")
        let phase = Phase()
        return measure(count: 8, seconds: nil, serverPid: pid, phase: phase) { result in
            Clients.pipelined(path: path, window: 8, total: count, phase: phase, result: result, make: make)
        }.0
    }
    var fill = Fill()
    fill.puts = job("putting") { i, out in
        let value = base64(Array("bench-many-value-\(100_000 + i)-abcdefghijklmn".utf8))
        out += Array(#"{"id":\#(firstId + i),"op":"put","name":"bench/many/\#(i)","value_b64":"\#(value)"}"#.utf8)
        out.append(0x0A)
    }
    fill.rssStored = Measure.resident(pid)
    fill.gets = job("getting") { i, out in
        out += Array(#"{"id":\#(firstId + i),"op":"get","name":"bench/many/\#(i)"}"#.utf8)
        out.append(0x0A)
    }
    fill.rssRead = Measure.resident(pid)
    return fill
}

let keyringFill = fill(socketPath, agentPid, count: keyringSecretCount, store: "Secret Service")
let cachedCount = Control.field(control.call(#"{"id":\#(firstId),"op":"status"}"#), "cached") ?? "?"
let fileAgent = fileSocketFlag.map { path -> (pid: Int32, rssIdle: Measure.Resident, fill: Fill) in
    let fileControl = Control(path)
    _ = fileControl.call(#"{"id":\#(firstId),"op":"init","passphrase":"tokend-bench"}"#)
    let rssIdle = Measure.resident(fileControl.pid)
    return (fileControl.pid, rssIdle, fill(path, fileControl.pid, count: secretCount, store: "file"))
}

// The table.
func fixed(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let n = Int((v * scale).rounded())
    guard decimals > 0 else { return String(n) }
    let sign = n < 0 ? "-" : ""
    let digits = String(abs(n))
    let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
    return sign + padded.dropLast(decimals) + "." + padded.suffix(decimals)
}
func grouped(_ v: Double) -> String {
    let digits = String(Int(v.rounded()))
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}
func left(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
func right(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
func verdict(_ met: Bool) -> String { met ? "met" : "MISSED" }
func mib(_ kib: Int) -> String { fixed(Double(kib) / 1024, 1) + " MiB" }
func memory(_ r: Measure.Resident) -> String { right(mib(r.total), 10) + right(mib(r.anonymous), 10) }

let tokendMedian = Measure.percentile(tokendMs, 0.5)
let secretToolMedian = Measure.percentile(secretToolMs, 0.5)
let speedup = secretToolMedian / tokendMedian
let at64 = agentCells[64]!
var table = """
    tokend benchmark: agent pid \(agentPid), \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores, load average \(loadAtStart) at start, \(Measure.loadAverage) at end

    1. whole process, \(runs) runs each, alternating      median      p10      p90
       tokend get \(benchName)                    \(right(fixed(tokendMedian, 2), 9)) ms \(right(fixed(Measure.percentile(tokendMs, 0.1), 2), 6)) \(right(fixed(Measure.percentile(tokendMs, 0.9), 2), 8))
       secret-tool lookup name \(benchName)       \(right(fixed(secretToolMedian, 2), 9)) ms \(right(fixed(Measure.percentile(secretToolMs, 0.1), 2), 6)) \(right(fixed(Measure.percentile(secretToolMs, 0.9), 2), 8))
       tokend faster by                      \(right(fixed(speedup, 1), 9)) ×        target ≥ 5×: \(verdict(speedup >= 5))

    2. socket round trip, closed loop (each client sends its next get when the answer is in), \(fixed(seconds, 1)) s per row;
       raw = an echo process answering each \(requestBytes)-byte line with \(answerBytes) bytes, like the agent's answer
       clients   agent p50    p99   raw p50    p99   ×raw p50   p99   agent gets/s   raw/s

    """
func row(_ label: String, _ a: Cell, _ r: Cell) -> String {
    "   " + right(label, 7) + right(fixed(a.p50Us, 0), 9) + " µs" + right(fixed(a.p99Us, 0), 7)
        + right(fixed(r.p50Us, 0), 10) + right(fixed(r.p99Us, 0), 7) + right(fixed(a.p50Us / r.p50Us, 2), 11)
        + right(fixed(a.p99Us / r.p99Us, 2), 6) + right(grouped(a.perSecond), 15) + right(grouped(r.perSecond), 8) + "\n"
}
for clients in levels { table += row(String(clients), agentCells[clients]!, rawCells[clients]!) }
table += row("64 *", agentPaced, rawPaced)
table += """
       * the same 64 clients paced at \(grouped(pacedRate)) gets/s in total (each sends every \(fixed(64_000 / pacedRate, 1)) ms)
       64 clients, closed loop: p50 < 100 µs: \(verdict(at64.p50Us < 100)), p99 < 1 ms: \(verdict(at64.p99Us < 1000)); \
    ratio to raw p50 \(fixed(at64.p50Us / rawCells[64]!.p50Us, 2))× (aim ≤ 1.5×)
       64 clients, paced:       p50 < 100 µs: \(verdict(agentPaced.p50Us < 100)), p99 < 1 ms: \(verdict(agentPaced.p99Us < 1000))

    3. gets per second, \(pipelineConnections) connections × \(pipelineWindow) requests in flight, \(fixed(seconds, 1)) s
       agent \(right(grouped(agentPipelined.perSecond), 9))/s   (agent CPU \(fixed(agentPipelined.cpuUsPerRequest, 1)) µs per get)   target ≥ 20,000: \(verdict(agentPipelined.perSecond >= 20_000))
       raw   \(right(grouped(rawPipelined.perSecond), 9))/s   (echo CPU \(fixed(rawPipelined.cpuUsPerRequest, 1)) µs per line)

    4. agent memory                                                VmRSS  of which anonymous
       Secret Service agent   idle, just started               \(memory(rssIdle))
                              after the benchmarks above       \(memory(rssAfterGets))
                              \(left("+ " + grouped(Double(keyringSecretCount)) + " secrets stored", 33))\(memory(keyringFill.rssStored))   \(grouped(keyringFill.puts.perSecond)) puts/s
                              \(left("and read (\(cachedCount) cached)", 33))\(memory(keyringFill.rssRead))   \(grouped(keyringFill.gets.perSecond)) gets/s (cache misses)

    """
var peak = [rssIdle, rssAfterGets, keyringFill.rssStored, keyringFill.rssRead].map(\.total).max()!
if let fileAgent {
    peak = max(peak, fileAgent.rssIdle.total, fileAgent.fill.rssStored.total, fileAgent.fill.rssRead.total)
    table += """
           file store agent       idle, initialised                \(memory(fileAgent.rssIdle))
                                  \(left("+ " + grouped(Double(secretCount)) + " secrets stored", 33))\(memory(fileAgent.fill.rssStored))   \(grouped(fileAgent.fill.puts.perSecond)) puts/s (each rewrites the vault)
                                  and read once                    \(memory(fileAgent.fill.rssRead))   \(grouped(fileAgent.fill.gets.perSecond)) gets/s

        """
}
table += "   target VmRSS < 20 MiB: \(verdict(peak < 20 * 1024)) (highest \(mib(peak)))\n"
var text = table
text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
