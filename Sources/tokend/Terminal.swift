import TokendCore
import TokendPosix

/// Prompts on the controlling terminal with echo off, reading into secret memory.
enum Terminal {
    static var isAvailable: Bool { TerminalDevice() != nil }

    /// Reads one line from /dev/tty without echo; nil when there is no terminal.
    static func readSecret(prompt: String) -> SecretBytes? {
        guard let tty = TerminalDevice() else { return nil }
        // Echo goes off before the prompt appears.
        return tty.withEchoOff {
            try? tty.fd.writeAll(prompt)
            let line = SecretBytes(capacity: 256)
            while let byte = tty.readByte(), byte != 0x0A {
                line.append(byte)
                if line.count > Limits.maxValueBytes { break }
            }
            if line.count > 0 && line[line.count - 1] == 0x0D { line.truncate(to: line.count - 1) }
            return line
        }
    }

    /// Asks a yes/no question on /dev/tty (default no).
    static func confirm(_ question: String) -> Bool {
        guard let tty = TerminalDevice() else { return false }
        try? tty.fd.writeAll(question + " [y/N] ")
        var answer: [UInt8] = []
        while let byte = tty.readByte(), byte != 0x0A { answer.append(byte) }
        return answer.first == UInt8(ascii: "y") || answer.first == UInt8(ascii: "Y")
    }
}
