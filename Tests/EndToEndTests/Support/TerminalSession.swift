import Foundation
import Testing

/// An interactive shell on a real pseudo-terminal: a private tmux server (its socket in the harness's temp
/// dir) runs it in a 200×50 window with the harness environment; keys are typed into it and the screen is
/// read back. The shell's prompt must start with `PROMPT[STATUS]`, which is how a command's end and its
/// exit status are seen.
final class TerminalSession {
    static let tmux = "/usr/bin/tmux"
    static let promptMark = "PROMPT["

    let h: Harness
    let socket: String
    /// Where strace writes the clone/fork calls of the shell and its children, when it runs under strace.
    let straceLog: String?

    init(_ h: Harness, _ command: [String], env: [String: String] = [:], strace: Bool = false) throws {
        self.h = h
        socket = h.root.appendingPathComponent("tmux.sock").path
        var command = command
        if strace {
            let log = h.root.appendingPathComponent("strace.log").path
            command = ["/usr/bin/strace", "-f", "-qq", "-o", log, "-e", "trace=clone,clone3,fork,vfork", "-e", "signal=none"] + command
            straceLog = log
        } else {
            straceLog = nil
        }
        // The tmux server outlives this client: CleanProcess starts it as a login shell would, with signals
        // that arrive and no inherited descriptor or pipe.
        let started = try CleanProcess.run(
            [TerminalSession.tmux, "-S", socket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50", "-s", "t"] + command,
            env: h.environment.merging(env) { $1 }, in: h.root)
        try #require(started.status == 0, "tmux: \(started.err)")
        try #require(waitForPrompts(1), "no prompt; the screen shows:\n\(screen().joined(separator: "\n"))")
    }

    func close() {
        _ = try? h.run(TerminalSession.tmux, ["-S", socket, "kill-server"])
    }

    /// The whole screen and its scrollback, wrapped lines joined.
    func screen() -> [String] {
        guard let result = try? h.run(TerminalSession.tmux, ["-S", socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "t"]) else {
            return []
        }
        return result.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func promptLines(_ lines: [String]) -> [Int] {
        lines.indices.filter { lines[$0].hasPrefix(TerminalSession.promptMark) }
    }

    @discardableResult
    func waitForPrompts(_ count: Int, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if promptLines(screen()).count >= count { return true }
            usleep(20_000)
        }
        return false
    }

    /// Types keys (tmux key names, such as `Tab` or `C-c`, or literal text).
    func keys(_ keys: String, literal: Bool = true) {
        _ = try? h.run(TerminalSession.tmux, ["-S", socket, "send-keys", "-t", "t"] + (literal ? ["-l", "--", keys] : [keys]))
    }

    /// Types a command line and Enter, and waits for the next prompt. Returns what the command printed (the
    /// lines between its prompt and the next) and the status the next prompt shows.
    func run(_ line: String, timeout: Double = 30) throws -> (output: String, status: Int) {
        let before = promptLines(screen()).count
        if !line.isEmpty { keys(line) }
        keys("Enter", literal: false)
        try #require(waitForPrompts(before + 1, timeout: timeout), "no prompt after \(line); the screen shows:\n\(screen().joined(separator: "\n"))")
        let lines = screen()
        let prompts = promptLines(lines)
        let output = lines[(prompts[before - 1] + 1)..<prompts[before]].joined(separator: "\n")
        return (output, status(lines[prompts[before]]))
    }

    /// The status the last prompt on the screen shows.
    func lastStatus() -> Int {
        let lines = screen()
        return promptLines(lines).last.map { status(lines[$0]) } ?? -1
    }

    func status(_ promptLine: String) -> Int {
        Int(promptLine.dropFirst(TerminalSession.promptMark.count).prefix { $0 != "]" }) ?? -1
    }

    /// The clone/fork calls strace has logged so far that made processes (threads are not counted).
    func processesForked() -> Int {
        guard let straceLog, let log = try? String(contentsOfFile: straceLog, encoding: .utf8) else { return -1 }
        return log.split(separator: "\n").filter { line in
            !line.contains("CLONE_THREAD") && !line.contains("resumed>")
                && ["clone(", "clone3(", "fork(", "vfork("].contains { line.contains($0) }
        }.count
    }
}

/// The three shells, each started interactively with an rc file that sets a `PROMPT[STATUS]> ` prompt, a
/// history file, the given extra lines, and then loads `tokend shell-init`.
enum TestShell: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case bash, zsh, fish

    var testDescription: String { rawValue }

    func start(_ h: Harness, before: String = "", strace: Bool = false) throws -> TerminalSession {
        let root = h.root.path
        switch self {
        case .bash:
            let rc = """
                PS1='PROMPT[$?]> '
                HISTFILE=\(root)/bash_history
                \(before)
                eval "$(tokend shell-init bash)"

                """
            try rc.write(toFile: "\(root)/bashrc", atomically: true, encoding: .utf8)
            return try TerminalSession(h, ["/bin/bash", "--noprofile", "--rcfile", "\(root)/bashrc", "-i"], strace: strace)
        case .zsh:
            let rc = """
                PS1='PROMPT[%?]> '
                HISTFILE=\(root)/zsh_history
                HISTSIZE=100
                SAVEHIST=100
                \(before)
                eval "$(tokend shell-init zsh)"

                """
            try FileManager.default.createDirectory(atPath: "\(root)/zdot", withIntermediateDirectories: true)
            try rc.write(toFile: "\(root)/zdot/.zshrc", atomically: true, encoding: .utf8)
            return try TerminalSession(h, ["/usr/bin/zsh", "-i"], env: ["ZDOTDIR": "\(root)/zdot"], strace: strace)
        case .fish:
            let rc = """
                set -g fish_greeting
                function fish_prompt; printf 'PROMPT[%s]> ' $status; end
                \(before)
                tokend shell-init fish | source

                """
            try FileManager.default.createDirectory(atPath: "\(root)/config/fish", withIntermediateDirectories: true)
            // Without this directory, fish's first prompt starts generating completions from the man pages in
            // the background: a few hundred processes that are fish's, not the hook's.
            try FileManager.default.createDirectory(atPath: "\(root)/data/fish/generated_completions", withIntermediateDirectories: true)
            try rc.write(toFile: "\(root)/config/fish/config.fish", atomically: true, encoding: .utf8)
            return try TerminalSession(h, ["/usr/bin/fish", "-i"], strace: strace)
        }
    }

    /// Writes the history to its file and returns the file's content.
    func history(_ session: TerminalSession) throws -> String {
        let root = session.h.root.path
        switch self {
        case .bash:
            _ = try session.run("history -w")
            return try String(contentsOfFile: "\(root)/bash_history", encoding: .utf8)
        case .zsh:
            _ = try session.run("fc -W")
            return try String(contentsOfFile: "\(root)/zsh_history", encoding: .utf8)
        case .fish:
            _ = try session.run("history save")
            return try String(contentsOfFile: "\(root)/data/fish/fish_history", encoding: .utf8)
        }
    }

    /// A command that prints the deadlines the shell recorded, `VAR=DEADLINE` separated by spaces.
    var printDeadlines: String {
        self == .bash ? #"echo "${__tokend_exports[*]}""# : "echo $__tokend_exports"
    }
}
