import CLinux
import Glibc
import TokendCore

/// Process-wide settings and facts about processes.
public enum ProcessControl {
    /// Makes this process non-dumpable (no core file, no ptrace attach by ordinary same-uid processes, /proc
    /// files owned by root), sets the core size limit to 0, and makes fatal signals end it without the Swift
    /// runtime's crash report (which prints memory contents).
    public static func forbidCoreDumps() {
        tk_exit_quietly_on_fatal_signals()
        _ = tk_set_dumpable(0)
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
    }

    public static var isDumpable: Bool { tk_get_dumpable() != 0 }

    /// For a long-running process: large freed blocks go back to the kernel instead of staying resident.
    public static func returnLargeBlocksToTheKernel() { tk_return_large_blocks_to_the_kernel() }

    /// RLIMIT_MEMLOCK's soft limit in bytes (nil: unlimited).
    public static var memlockLimit: UInt64? {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
        return limit.rlim_cur == rlim_t.max ? nil : UInt64(limit.rlim_cur)
    }

    /// The executable of a process (/proc/PID/exe), or nil when it cannot be read.
    public static func executable(of pid: Int32) -> String? {
        readLink("/proc/\(pid)/exe")
    }

    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts `path` detached: a new session, stdin/stdout on /dev/null, stderr appended to `stderrPath`.
    public static func spawnDetached(_ path: String, arguments: [String], stderrPath: String?) throws(Errno) -> Int32 {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: Int32 = 0
        let rc = argv.withUnsafeBufferPointer { args in
            tk_spawn_detached(path, args.baseAddress, environ, stderrPath, &pid)
        }
        if rc != 0 { throw Errno(rc) }
        return pid
    }

    /// The exit status of a child that has ended (reaping it), or nil while it runs.
    public static func exitStatus(of pid: Int32) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return decodeStatus(status)
    }

    public static func environment(_ key: String) -> String? {
        getenv(key).map { String(cString: $0) }
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func sleep(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// Seconds since the Unix epoch, rounded up to a whole second.
    public static func wallClockCeilingSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) + (ts.tv_nsec > 0 ? 1 : 0)
    }
}

/// SIGTERM, SIGINT and SIGHUP delivered through a descriptor (see tk_signalfd_for_termination).
public final class SignalDescriptor: @unchecked Sendable {
    public let fd: FileDescriptor

    /// Must be created before any other thread starts, so that every thread has the signals blocked.
    public init() throws(Errno) { fd = FileDescriptor(try retrying { tk_signalfd_for_termination() }) }

    public struct Signal: Sendable, Equatable, CustomStringConvertible {
        public let number: Int32
        public static let hangup = Signal(number: SIGHUP)
        public var description: String { String(number) }
    }

    /// The next pending signal, or nil.
    public func next() -> Signal? {
        let signal = tk_signalfd_read(fd.rawValue)
        return signal > 0 ? Signal(number: signal) : nil
    }
}

extension ProcessControl {
    /// Raises RLIMIT_NOFILE's soft limit towards `wanted`; returns the limit now in force.
    public static func raiseOpenFileLimit(to wanted: Int) -> Int { Int(tk_raise_nofile_limit(Int32(wanted))) }
}

extension ProcessControl {
    public static var pid: Int32 { getpid() }
    public static var userID: UInt32 { geteuid() }

    public static func exit(_ status: Int32) -> Never { Glibc.exit(status) }

    /// Sends `signal` to `pid` (0 only checks that it exists and may be signalled).
    public static func send(_ signal: Int32, to pid: Int32) throws(Errno) {
        _ = try retrying { kill(pid, signal) }
    }

    /// Whether `pid` names no process of ours any more: none at all, not ours to signal (the pid was
    /// reused), or a zombie waiting for its parent.
    public static func isGone(_ pid: Int32) -> Bool {
        guard pid > 0, (try? send(0, to: pid)) != nil else { return true }
        // /proc/PID/stat: "PID (COMM) STATE …"; COMM may itself hold parentheses, so look for the last one.
        guard let stat = try? AtomicFile.read("/proc/\(pid)/stat", limit: 4096),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count
        else { return true }
        return stat[close + 2] == UInt8(ascii: "Z")
    }

    public static func unsetEnvironment(_ name: String) { unsetenv(name) }

    /// Calls `body` with each `KEY=VALUE` string of the environment, without its NUL and without copying it
    /// into a String (a value may be a secret).
    public static func forEachEnvironmentEntry(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
        // environ is NULL when the environment is empty (`env -i tokend exec …`).
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let pointer = entry?.pointee {
            body(UnsafeMutableRawBufferPointer(start: pointer, count: strlen(pointer)))
            entry! += 1
        }
    }

    /// Replaces this process with `command`, searched in PATH as execvp(3) does, with exactly the environment
    /// in `environment`: `KEY=VALUE` strings, each ending in NUL. The strings are used in place (putenv keeps
    /// them, no copy), so a secret among them stays in memory its owner wipes. Returns only on failure.
    public static func replace(with command: [String], environment: SecretBytes) -> Errno {
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        return environment.withUnsafeMutableBytes { raw -> Errno in
            clearenv()
            var start = 0
            for (i, byte) in raw.enumerated() where byte == 0 {
                putenv((raw.baseAddress! + start).assumingMemoryBound(to: CChar.self))
                start = i + 1
            }
            execvp(argv[0]!, &argv)
            return Errno.current
        }
    }
}
