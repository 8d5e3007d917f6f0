import Foundation
import Testing

/// The completions in contrib/completions, in the real shells, with secret names from a real agent.
@Suite struct CompletionTests {
    static let contrib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib").path

    /// Two secrets under the harness prefix, one with a `:` (a COMP_WORDBREAKS character in bash).
    /// The file store keeps the agent independent of the keyring that the rest of the suite loads heavily,
    /// which made the zsh Tab test time out when everything ran at once.
    func world() throws -> Harness {
        let h = try Harness(keyring: false)
        try h.startFileAgent()
        try h.initVault()
        #expect(try h.tokend("put", "\(h.prefix)/slack/bot", stdin: Data("v\n".utf8)).status == 0)
        #expect(try h.tokend("put", "\(h.prefix)/gh:pat", stdin: Data("v\n".utf8)).status == 0)
        return h
    }

    @Test func bashCompletesCommandsFlagsAndNames() throws {
        let h = try world()
        defer { h.shutdown() }
        let p = h.prefix
        // Each line: what bash would put in COMPREPLY for the command line typed so far.
        let script = """
            source \(Self.contrib)/completions/tokend.bash
            c() { COMP_LINE=$1; COMP_POINT=${#1}; COMPREPLY=(); _tokend; echo "${COMPREPLY[*]}"; }
            c 'tokend ex'
            c 'tokend get \(p)/'
            c 'tokend exec -e T=\(p)/s'
            c 'tokend exec -e T=\(p)/gh:'
            c 'tokend exec --o'
            c 'tokend export --'
            c 'tokend export A=\(p)/g'
            c 'tokend shell-init '
            """
        let result = try h.run("/bin/bash", ["--norc", "-c", script])
        #expect(result.err == "")
        #expect(result.out == """
            exec export
            \(p)/gh:pat \(p)/slack/bot
            \(p)/slack/bot
            pat
            --only
            --ttl --clear --list
            \(p)/gh:pat
            bash zsh fish

            """)
    }

    @Test func fishCompletesCommandsFlagsAndNames() throws {
        let h = try world()
        defer { h.shutdown() }
        let p = h.prefix
        let script = """
            source \(Self.contrib)/completions/tokend.fish
            for line in 'tokend ex' 'tokend get \(p)/' 'tokend exec -e T=\(p)/s' 'tokend export --c' 'tokend shell-init '
                complete -C"$line" | string replace -r '\\t.*' ''
            end
            """
        let result = try h.run("/usr/bin/fish", ["--no-config", "-c", script])
        #expect(result.err == "")
        #expect(result.out == """
            exec
            export
            \(p)/gh:pat
            \(p)/slack/bot
            T=\(p)/slack/bot
            --clear
            bash
            fish
            zsh

            """)
    }

    @Test func zshCompletesCommandsAndNamesOnTab() throws {
        let h = try world()
        defer { h.shutdown() }
        let p = h.prefix
        let rc = "fpath=(\(Self.contrib)/completions $fpath)\nautoload -Uz compinit\ncompinit -u -D"
        let session = try TestShell.zsh.start(h, before: rc)
        defer { session.close() }
        for (typed, completed) in [
            ("tokend shell-i", "tokend shell-init "),
            ("tokend get \(p)/s", "tokend get \(p)/slack/bot "),
            ("tokend exec -e T=\(p)/g", "tokend exec -e T=\(p)/gh:pat "),
            ("tokend export --l", "tokend export --list "),
        ] {
            session.keys(typed)
            session.keys("Tab", literal: false)
            let deadline = Date().addingTimeInterval(20)
            var line = ""
            while Date() < deadline {
                let lines = session.screen()
                line = session.promptLines(lines).last.map { String(lines[$0].drop { $0 != " " }.dropFirst()) } ?? ""
                if line == completed { break }
                usleep(50_000)
            }
            #expect(line == completed)
            let prompts = session.promptLines(session.screen()).count
            session.keys("C-c", literal: false)
            #expect(session.waitForPrompts(prompts + 1))
        }
    }
}
