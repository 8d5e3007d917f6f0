import Foundation
import Testing

/// `tokend shell-init` and `tokend export` in real interactive bash, zsh and fish on a pseudo-terminal.
/// Serialized: the deadlines are seconds apart and the machine is small.
@Suite(.serialized) struct ShellIntegrationTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    /// Quotes of both kinds, `$`, a backtick command, a backslash, a newline and non-ASCII: whatever the
    /// shell could misread if the value were not quoted for it.
    static let trickyValue = "it's a \"quoted\" $HOME `echo no` \\ value\nsecond line ✓"

    @Test(arguments: TestShell.allCases)
    func exportSetsTheValueAndThePromptAfterTheDeadlineUnsetsIt(shell: TestShell) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/tricky"
        #expect(try h.tokend("put", "--raw", name, stdin: Data(Self.trickyValue.utf8)).status == 0)
        let session = try shell.start(h)
        defer { session.close() }

        let exported = try session.run("tokend export --ttl 2s T=\(name); printenv T")
        #expect(exported.output == Self.trickyValue)
        #expect(exported.status == 0)
        sleep(3)
        // The first prompt after the deadline is the one this empty line brings.
        #expect(try session.run("") == ("", 0))
        let after = try session.run("printenv T")
        #expect(after.output == "")
        #expect(after.status == 1)
        #expect(try session.run("tokend export --list") == ("", 0))

        let history = try shell.history(session)
        #expect(history.contains("tokend export --ttl 2s T=\(name); printenv T"))
        #expect(!history.contains("quoted"))
        #expect(!history.contains("second line"))
    }

    @Test(arguments: TestShell.allCases)
    func listShowsDeadlinesAndClearUnsetsAtOnce(shell: TestShell) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let a = "\(h.prefix)/a", b = "\(h.prefix)/b"
        #expect(try h.tokend("put", a, stdin: Data("value-a\n".utf8)).status == 0)
        #expect(try h.tokend("put", b, stdin: Data("value-b\n".utf8)).status == 0)
        let session = try shell.start(h)
        defer { session.close() }

        let start = Int64(Date().timeIntervalSince1970)
        #expect(try session.run("tokend export --ttl 1h A=\(a) B=\(b)") == ("", 0))
        #expect(try session.run("tokend export --ttl 2h C=\(a)") == ("", 0))
        let recorded = try session.run(shell.printDeadlines).output.split(separator: " ").map { entry in
            let parts = entry.split(separator: "=")
            return (String(parts[0]), Int64(parts[1]) ?? 0)
        }
        #expect(recorded.map(\.0) == ["A", "B", "C"])
        let deadlineA = recorded[0].1, deadlineC = recorded[2].1
        #expect(recorded[1].1 == deadlineA)
        #expect((start + 3600...start + 3602).contains(deadlineA))
        #expect((deadlineA + 3600...deadlineA + 3602).contains(deadlineC))

        let list = try session.run("tokend export --list")
        let end = Int64(Date().timeIntervalSince1970) + 1
        let rows = list.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(list.status == 0)
        #expect(rows.count == 4)
        #expect(rows.first == ["VARIABLE", "EXPIRES", "REMAINING"])
        for (i, (key, deadline)) in [("A", deadlineA), ("B", deadlineA), ("C", deadlineC)].enumerated() where rows.count == 4 {
            let possible = (start...end).map { remaining(deadline - $0) }
            #expect(rows[i + 1].count == 3)
            #expect(rows[i + 1][0] == key)
            #expect(rows[i + 1][1] == rfc3339(deadline))
            #expect(possible.contains(rows[i + 1][2]), "\(rows[i + 1][2]) not in \(possible)")
        }

        #expect(try session.run("tokend export --clear A") == ("", 0))
        #expect(try session.run("printenv A").status == 1)
        #expect(try session.run("printenv B") == ("value-b", 0))
        #expect(try session.run("tokend export --clear X") == ("tokend: X was not set by tokend export; nothing was cleared", 3))
        #expect(try session.run("printenv B") == ("value-b", 0))
        #expect(try session.run("tokend export --clear") == ("", 0))
        #expect(try session.run("printenv B").status == 1)
        #expect(try session.run("printenv C").status == 1)
        #expect(try session.run("tokend export --list") == ("", 0))
    }

    struct UserHooks: Sendable, CustomTestStringConvertible {
        var shell: TestShell
        var label: String
        /// rc lines before `tokend shell-init`: the user's own prompt hooks, and nounset.
        var rc: String
        /// Prints what the user's hooks saw as `$?`.
        var show: String
        var shown: String
        /// Prints the hook list, to show both are there and which runs first.
        var listHooks: String
        var hooks: String
        var testDescription: String { "\(shell) \(label)" }
    }

    static let userHooks = [
        UserHooks(
            shell: .bash, label: "PROMPT_COMMAND string", rc: "set -u\nPROMPT_COMMAND='u1=$?'",
            show: #"echo "u1=$u1""#, shown: "u1=3",
            listHooks: "declare -p PROMPT_COMMAND", hooks: #"declare -- PROMPT_COMMAND=$'__tokend_hook\nu1=$?'"#),
        UserHooks(
            shell: .bash, label: "PROMPT_COMMAND array", rc: "set -u\nPROMPT_COMMAND=('u1=$?' 'u2=$?')",
            show: #"echo "u1=$u1 u2=$u2""#, shown: "u1=3 u2=3",
            listHooks: "declare -p PROMPT_COMMAND",
            hooks: #"declare -a PROMPT_COMMAND=([0]="__tokend_hook" [1]="u1=\$?" [2]="u2=\$?")"#),
        UserHooks(
            shell: .zsh, label: "precmd and precmd_functions",
            rc: "setopt nounset\nprecmd() { u1=$? }\nu2hook() { u2=$? }\nprecmd_functions=(u2hook)",
            show: #"echo "u1=$u1 u2=$u2""#, shown: "u1=3 u2=3",
            listHooks: "print -r -- $precmd_functions", hooks: "__tokend_hook u2hook"),
        UserHooks(
            shell: .fish, label: "fish_prompt handler",
            rc: "function u1hook --on-event fish_prompt; set -g u1 $status; end",
            show: "echo u1=$u1", shown: "u1=3",
            listHooks: "functions --handlers-type generic | string match -r 'fish_prompt (?:__tokend_hook|u1hook)' | string join ,",
            hooks: "fish_prompt u1hook,fish_prompt __tokend_hook"),
    ]

    @Test(arguments: userHooks)
    func hookKeepsTheStatusAndTheUsersHooks(hooks: UserHooks) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/s"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        let session = try hooks.shell.start(h, before: hooks.rc)
        defer { session.close() }

        #expect(try session.run(hooks.listHooks) == (hooks.hooks, 0))
        // A pending variable makes the hook compare deadlines at every prompt; one that expires makes it unset.
        #expect(try session.run("tokend export --ttl 1h P=\(name)") == ("", 0))
        #expect(try session.run("tokend export --ttl 1s E=\(name)") == ("", 0))
        sleep(2)
        #expect(try session.run("sh -c 'exit 3'") == ("", 3))
        #expect(try session.run(hooks.show) == (hooks.shown, 0))
        #expect(try session.run("printenv E").status == 1)
        #expect(try session.run("printenv P") == ("v", 0))
        #expect(try session.run("false").status == 1)
    }

    /// Counts the processes an interactive shell forks at idle prompts (strace -f on the shell): none in
    /// bash and zsh, whether nothing is exported, a variable is pending, or one expires at that prompt.
    @Test(arguments: [TestShell.bash, .zsh])
    func promptForksNothing(shell: TestShell) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/f"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        let session = try shell.start(h, strace: true)
        defer { session.close() }

        let idle = try forksAtIdlePrompts(session, 3)
        #expect(idle == 0)
        #expect(try session.run("tokend export --ttl 1h P=\(name)") == ("", 0))
        let pending = try forksAtIdlePrompts(session, 3)
        #expect(pending == 0)
        #expect(try session.run("tokend export --ttl 1s E=\(name)") == ("", 0))
        sleep(2)
        let expiring = try forksAtIdlePrompts(session, 3)
        #expect(expiring == 0)
        #expect(try session.run("printenv E").status == 1)
        #expect(try session.run("printenv P") == ("v", 0))
    }

    /// fish has no clock of its own: one `date` per prompt while a variable is pending, none otherwise.
    @Test func fishForksOncePerPromptOnlyWhileAVariableIsPending() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/f"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        let session = try TestShell.fish.start(h, strace: true)
        defer { session.close() }

        let idle = try forksAtIdlePrompts(session, 3)
        #expect(idle == 0)
        #expect(try session.run("tokend export --ttl 1h P=\(name)") == ("", 0))
        let pending = try forksAtIdlePrompts(session, 3)
        #expect(pending == 3)
        #expect(try session.run("tokend export --clear") == ("", 0))
        let cleared = try forksAtIdlePrompts(session, 3)
        #expect(cleared == 0)
    }

    func forksAtIdlePrompts(_ session: TerminalSession, _ prompts: Int) throws -> Int {
        let before = session.processesForked()
        for _ in 0..<prompts { _ = try session.run("") }
        return session.processesForked() - before
    }

    @Test func execKeepsTheTerminalAndItsSignals() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/t"
        #expect(try h.tokend("put", name, stdin: Data("term-value\n".utf8)).status == 0)
        let session = try TestShell.bash.start(h)
        defer { session.close() }

        let check = #"test -t 0 && test -t 1 && test -t 2 && test "$(tty)" = "$1" && echo "terminal $T""#
        #expect(try session.run("tokend exec -e T=\(name) -- sh -c '\(check)' sh \"$(tty)\"") == ("terminal term-value", 0))
        // Ctrl-C reaches the command: it is the terminal's foreground process, not a child of tokend.
        session.keys("tokend exec -e T=\(name) -- sleep 31")
        session.keys("Enter", literal: false)
        let prompts = session.promptLines(session.screen()).count
        let deadline = Date().addingTimeInterval(20)
        while !Harness.pids(of: "sleep").contains(where: { Harness.commandLine(of: $0) == "sleep 31 " }), Date() < deadline {
            usleep(20_000)
        }
        session.keys("C-c", literal: false)
        #expect(session.waitForPrompts(prompts + 1))
        #expect(session.lastStatus() == 130)
    }

    @Test func exportNeedsTheShellFunctionAndNeverPrintsToATerminal() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/t"
        #expect(try h.tokend("put", name, stdin: Data("do-not-show\n".utf8)).status == 0)
        let session = try TestShell.bash.start(h)
        defer { session.close() }

        let direct = try session.run("command tokend export --shell=bash T=\(name)")
        #expect(direct == ("tokend: tokend export --shell prints shell code holding the values, for the shell function of tokend shell-init to read: not for a terminal", 2))
        let reserved = try session.run("tokend export PATH=\(name)")
        #expect(reserved == ("tokend: PATH is a variable the shell needs; tokend export will not set it", 2))
        let missing = try session.run("tokend export A=\(name) B=\(h.prefix)/missing; echo \"A=${A-unset}\"")
        #expect(missing == ("tokend: B (secret \(h.prefix)/missing): no secret named '\(h.prefix)/missing'\nA=unset", 0))
        #expect(!session.screen().joined().contains("do-not-show"))
    }

    func rfc3339(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    func remaining(_ seconds: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m\(two(seconds % 60))s" }
        return "\(seconds / 3600)h\(two(seconds % 3600 / 60))m"
    }
}
