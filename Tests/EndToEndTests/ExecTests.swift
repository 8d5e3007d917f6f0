import Foundation
import Testing

/// `tokend exec`: secrets into one command's environment, the command taking tokend's place.
@Suite struct ExecTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    @Test func commandSeesTheExactValue() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let value = "xoxb-1 'q' \"d\" $HOME `x` \\\nline two\n"
        let name = "\(h.prefix)/v"
        #expect(try h.tokend("put", "--raw", name, stdin: Data(value.utf8)).status == 0)
        let result = try h.tokend("exec", "-e", "T=\(name)", "--", "sh", "-c", #"printf %s "$T""#)
        #expect(result.status == 0)
        #expect(result.out == value)
        #expect(result.err == "")
    }

    @Test func optionsEndAtTheCommandAndLaterAssignmentsWin() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let a = "\(h.prefix)/a", b = "\(h.prefix)/b"
        #expect(try h.tokend("put", a, stdin: Data("first\n".utf8)).status == 0)
        #expect(try h.tokend("put", b, stdin: Data("second\n".utf8)).status == 0)
        let result = try h.tokend("exec", "-eT=\(a)", "--env", "T=\(b)", "--env=U=\(a)", "sh", "-c", #"printf '%s|%s|%s' "$T" "$U" "$0""#, "-e")
        #expect(result.status == 0)
        #expect(result.out == "second|first|-e")
    }

    @Test func missingSecretRunsNothing() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/here"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        let marker = h.root.appendingPathComponent("ran").path
        let result = try h.tokend("exec", "-e", "A=\(name)", "-e", "T=\(h.prefix)/missing", "--", "touch", marker)
        #expect(result.status == 3)
        #expect(result.err == "tokend: T (secret \(h.prefix)/missing): no secret named '\(h.prefix)/missing'\n")
        #expect(result.out == "")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func exitStatusAndPidAreTheCommands() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/s"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        #expect(try h.tokend("exec", "-e", "T=\(name)", "--", "sh", "-c", "exit 7").status == 7)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.tokend)
        process.arguments = ["exec", "-e", "T=\(name)", "--", "sh", "-c", "echo $$"]
        process.environment = h.environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(printed == "\(process.processIdentifier)\n")
    }

    @Test func sigtermToThePidReachesTheCommand() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/s"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        // The signal goes to the pid that was started as tokend, once that pid runs sleep.
        let script = """
            tokend exec -e T=\(name) -- sleep 32 &
            pid=$!
            while [ "$(cat /proc/$pid/comm)" != sleep ]; do sleep 0.02; done
            kill -TERM $pid
            wait $pid
            echo $?
            """
        let result = try CleanProcess.run(["/bin/bash", "-c", script], env: h.environment, in: h.root)
        #expect(result.out == "143\n")
        #expect(result.status == 0)
    }

    @Test func commandNotFoundIs127() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/s"
        #expect(try h.tokend("put", name, stdin: Data("v\n".utf8)).status == 0)
        let result = try h.tokend("exec", "-e", "T=\(name)", "--", "no-such-command-tokend")
        #expect(result.status == 127)
        #expect(result.err == "tokend: cannot run no-such-command-tokend: No such file or directory\n")
    }

    @Test func onlyKeepsAMinimalEnvironment() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/s"
        #expect(try h.tokend("put", name, stdin: Data("only-value\n".utf8)).status == 0)
        let extra = ["LANG": "C.UTF-8", "LC_TIME": "C", "TERM": "xterm", "UNRELATED": "x", "TOKEND_SOCKET": h.socketPath]
        let result = try h.run(Harness.tokend, ["exec", "--only", "-e", "T=\(name)", "--", "/usr/bin/env"], env: extra)
        let keep: Set = ["HOME", "LANG", "LANGUAGE", "LOGNAME", "PATH", "SHELL", "TERM", "TMPDIR", "TZ", "USER"]
        var expected = h.environment.merging(extra) { $1 }.filter { keep.contains($0.key) || $0.key.hasPrefix("LC_") }
        expected["T"] = "only-value"
        #expect(result.status == 0)
        #expect(result.out.split(separator: "\n").map(String.init).sorted() == expected.map { "\($0.key)=\($0.value)" }.sorted())
    }

    @Test func envFileMixesReferencesQuotesCommentsAndExports() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("put", "\(h.prefix)/slack/bot", stdin: Data("xoxb-42\n".utf8)).status == 0)
        #expect(try h.tokend("put", "\(h.prefix)/gh", stdin: Data("ghp_token\n".utf8)).status == 0)
        let file = h.root.appendingPathComponent("app.env").path
        try """
            # the bot's settings
            export SLACK_TOKEN=tokend:\(h.prefix)/slack/bot
            GITHUB_TOKEN="tokend:\(h.prefix)/gh"   # a reference in double quotes
            LITERAL='tokend:not/a/reference'
            GREETING="hello\\n\\"world\\""
            PLAIN = spaced value  # trailing comment

            MULTI='a
            b'
            OVERRIDDEN=from-file

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try h.tokend(
            "exec", "--env-file", file, "-e", "OVERRIDDEN=\(h.prefix)/gh", "--", "sh", "-c",
            #"printf '%s|' "$SLACK_TOKEN" "$GITHUB_TOKEN" "$LITERAL" "$GREETING" "$PLAIN" "$MULTI" "$OVERRIDDEN""#)
        #expect(result.err == "")
        #expect(result.status == 0)
        #expect(result.out == "xoxb-42|ghp_token|tokend:not/a/reference|hello\n\"world\"|spaced value|a\nb|ghp_token|")
    }

    @Test func envFileErrorsNameTheFileAndLine() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let marker = h.root.appendingPathComponent("ran").path
        let bad = h.root.appendingPathComponent("bad.env").path
        try "A=1\n# fine\n\nnot an assignment\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let malformed = try h.tokend("exec", "--env-file", bad, "--", "touch", marker)
        #expect(malformed.status == 7)
        #expect(malformed.err == "tokend: \(bad):4: expected KEY=VALUE (KEY: letters, digits and _)\n")

        let missing = h.root.appendingPathComponent("missing.env").path
        try "A=1\nTOKEN=tokend:\(h.prefix)/nope\n".write(toFile: missing, atomically: true, encoding: .utf8)
        let notFound = try h.tokend("exec", "--env-file", missing, "--", "touch", marker)
        #expect(notFound.status == 3)
        #expect(notFound.err == "tokend: \(missing):2: TOKEN (secret \(h.prefix)/nope): no secret named '\(h.prefix)/nope'\n")

        let absent = h.root.appendingPathComponent("absent.env").path
        let unreadable = try h.tokend("exec", "--env-file", absent, "--", "touch", marker)
        #expect(unreadable.status == 1)
        #expect(unreadable.err == "tokend: cannot read \(absent): No such file or directory\n")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func valuesAnEnvironmentCannotHoldAreRefused() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let nul = "\(h.prefix)/nul", big = "\(h.prefix)/big"
        #expect(try h.tokend("put", "--raw", nul, stdin: Data([0x61, 0x00, 0x62])).status == 0)
        #expect(try h.tokend("put", "--raw", big, stdin: Data(repeating: 0x61, count: 131_071)).status == 0)
        let withNul = try h.tokend("exec", "-e", "T=\(nul)", "--", "true")
        #expect(withNul.status == 7)
        #expect(withNul.err == "tokend: T (secret \(nul)): the value contains a NUL byte, which an environment variable cannot hold\n")
        let tooBig = try h.tokend("exec", "-e", "T=\(big)", "--", "true")
        #expect(tooBig.status == 7)
        #expect(tooBig.err == "tokend: T (secret \(big)): the value is 131071 bytes; an environment variable holds at most 131072 bytes with its name\n")
    }

    @Test func usageErrorsNeverEchoTheArgument() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let noName = try h.tokend("exec", "-e", "xoxb-pasted-token-value", "--", "true")
        #expect(noName.status == 2)
        #expect(noName.err == "tokend: -e takes VAR=NAME\n")
        let badVar = try h.tokend("exec", "-e", "9x=ghp_pasted", "--", "true")
        #expect(badVar.status == 2)
        #expect(badVar.err == "tokend: -e: the variable name must be letters, digits and _, not starting with a digit\n")
        let noCommand = try h.tokend("exec", "-e", "T=a/b")
        #expect(noCommand.status == 2)
        #expect(noCommand.err == "tokend: usage: tokend exec [-e VAR=NAME]... [--env-file FILE]... [--only] [--] COMMAND [ARGS]...\n")
    }
}
