import CLinux
import Glibc

/// Running a small program to read its output (tokend doctor asks git for its configuration).
public enum ChildProcess {
    /// Standard output and exit status of `path arguments`, with stdin and stderr on /dev/null.
    public static func run(_ path: String, _ arguments: [String], outputLimit: Int = 1 << 20)
        throws(Errno) -> (output: [UInt8], status: Int32)
    {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: Int32 = 0
        var readEnd: Int32 = -1
        let rc = argv.withUnsafeBufferPointer { tk_spawn_reading_stdout(path, $0.baseAddress, environ, &pid, &readEnd) }
        if rc != 0 { throw Errno(rc) }
        let output = FileDescriptor(readEnd)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < outputLimit {
            let n = try? chunk.withUnsafeMutableBytes { (b) throws(Errno) -> Int in try output.read(into: b) }
            guard let n, n > 0 else { break }
            bytes += chunk[..<n]
        }
        output.close()
        return (bytes, ProcessControl.waitForExit(of: pid))
    }
}

extension ProcessControl {
    /// Waits for a child to end and returns its exit status (128 + N when signal N ended it).
    public static func waitForExit(of pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return decodeStatus(status)
    }

    // WIFEXITED/WEXITSTATUS are macros: a normal exit has the low 7 bits clear.
    static func decodeStatus(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
