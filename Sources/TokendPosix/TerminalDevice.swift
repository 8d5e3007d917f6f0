import Glibc

/// The controlling terminal (/dev/tty), for prompts that must not go through stdin or stdout.
public final class TerminalDevice {
    public let fd: FileDescriptor

    /// The controlling terminal, or nil when the process has none.
    public init?() {
        guard let fd = try? FileDescriptor.open("/dev/tty", O_RDWR | O_NOCTTY) else { return nil }
        self.fd = fd
    }

    /// Runs `body` with echo off (a newline still echoes, so the cursor moves on), then restores the mode.
    /// Typed-ahead input is kept (TCSANOW, not TCSAFLUSH): a passphrase pasted as soon as the prompt shows is
    /// neither echoed nor lost.
    public func withEchoOff<T>(_ body: () -> T) -> T {
        var saved = termios()
        guard tcgetattr(fd.rawValue, &saved) == 0 else { return body() }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        tcsetattr(fd.rawValue, TCSANOW, &quiet)
        defer { tcsetattr(fd.rawValue, TCSANOW, &saved) }
        return body()
    }

    /// The next byte typed, or nil at end of input or on an error.
    public func readByte() -> UInt8? {
        var byte: UInt8 = 0
        let n = try? withUnsafeMutableBytes(of: &byte) { (b) throws(Errno) -> Int in try fd.read(into: b) }
        defer { byte = 0 }
        return n == 1 ? byte : nil
    }
}
