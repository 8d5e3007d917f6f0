import Glibc
import TokendCore

/// Prompts on the controlling terminal with echo off, reading into secret memory.
enum Terminal {
    static var isAvailable: Bool {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        if fd < 0 { return false }
        close(fd)
        return true
    }

    /// Reads one line from /dev/tty without echo; nil when there is no terminal.
    static func readSecret(prompt: String) -> SecretBytes? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // Echo goes off before the prompt appears and typed-ahead input is kept (TCSANOW, not TCSAFLUSH): a
        // passphrase pasted as soon as the prompt shows is neither echoed nor lost.
        var saved = termios()
        let haveTermios = tcgetattr(fd, &saved) == 0
        if haveTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            tcsetattr(fd, TCSANOW, &quiet)
        }
        defer { if haveTermios { tcsetattr(fd, TCSANOW, &saved) } }
        Output.write(fd, prompt)
        let line = SecretBytes(capacity: 256)
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == 0x0A { break }
            line.append(byte)
            if line.count > Limits.maxValueBytes { break }
        }
        byte = 0
        if line.count > 0 && line[line.count - 1] == 0x0D { line.truncate(to: line.count - 1) }
        return line
    }

    /// Asks a yes/no question on /dev/tty (default no).
    static func confirm(_ question: String) -> Bool {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        Output.write(fd, question + " [y/N] ")
        var answer: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 && byte != 0x0A { answer.append(byte) }
        return answer.first == UInt8(ascii: "y") || answer.first == UInt8(ascii: "Y")
    }
}
