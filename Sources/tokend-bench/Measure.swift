import Glibc

/// Clocks, percentiles and /proc readings.
enum Measure {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func sleep(_ seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Sleeps until a time of `now()`'s clock.
    static func sleep(until deadline: Double) {
        var ts = timespec(tv_sec: Int(deadline), tv_nsec: Int((deadline - Double(Int(deadline))) * 1e9))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile<T>(_ sorted: [T], _ q: Double) -> T {
        let rank = Int((Double(sorted.count) * q).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Resident memory of a process in KiB: VmRSS and its anonymous part (RssAnon: heap, stacks, secret
    /// slabs), the rest being mostly shared-library pages.
    struct Resident {
        var total = -1
        var anonymous = -1
    }

    static func resident(_ pid: Int32) -> Resident {
        var resident = Resident()
        for line in (readFile("/proc/\(pid)/status") ?? "").split(separator: "\n") {
            let value = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? -1
            if line.hasPrefix("VmRSS:") { resident.total = value }
            if line.hasPrefix("RssAnon:") { resident.anonymous = value }
        }
        return resident
    }

    /// User plus system CPU time a process has used, in seconds (clock-tick resolution).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        // The command name in field 2 may hold spaces: the fields after it start past the last ')'.
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static var loadAverage: String {
        (readFile("/proc/loadavg") ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// Runs a command to completion and reports its wall time, spawn to reap.
enum Spawn {
    struct Result {
        var seconds: Double
        var status: Int32
        var output: [UInt8]
    }

    /// Runs `argv` (looked up in PATH) with this process's environment; stdout is captured when `capture` is
    /// set and goes to /dev/null otherwise, stderr is inherited so that failures show.
    static func run(_ argv: [String], capture: Bool = false) -> Result {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeFds: [Int32] = [-1, -1]
        if capture {
            guard pipe(&pipeFds) == 0 else { fatal("pipe: \(String(cString: strerror(errno)))") }
            posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeFds[0])
            posix_spawn_file_actions_addclose(&actions, pipeFds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let start = Measure.now()
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { fatal("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        var output: [UInt8] = []
        if capture {
            close(pipeFds[1])
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(pipeFds[0], &chunk, chunk.count)
                if n > 0 { output += chunk[..<n] } else if n == 0 || errno != EINTR { break }
            }
            close(pipeFds[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Result(seconds: Measure.now() - start, status: status, output: output)
    }
}

extension Spawn {
    /// Starts `argv` in the background with this process's environment and returns its pid.
    static func start(_ argv: [String]) -> pid_t {
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], nil, nil, cArgs, environ)
        guard rc == 0 else { fatal("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}

/// Standard base64 with padding, for the values the benchmark stores.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        let n = min(3, bytes.count - i)
        let chunk = (UInt32(bytes[i]) << 16) | (n > 1 ? UInt32(bytes[i + 1]) << 8 : 0) | (n > 2 ? UInt32(bytes[i + 2]) : 0)
        for k in 0..<4 {
            out.append(k <= n ? alphabet[Int((chunk >> (18 - 6 * UInt32(k))) & 63)] : UInt8(ascii: "="))
        }
        i += 3
    }
    return String(decoding: out, as: UTF8.self)
}

func fatal(_ message: String) -> Never {
    var text = "tokend-bench: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func progress(_ message: String) {
    var text = "tokend-bench: \(message)\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
