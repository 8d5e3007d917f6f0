import Foundation
import Testing

/// `tokend shell-init` prints what contrib/shell holds, and `tokend export` explains itself when the shell
/// function is missing.
@Suite struct ShellInitTests {
    static let contrib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib").path

    @Test(arguments: ["bash", "zsh", "fish"])
    func contribCopyIsWhatShellInitPrints(shell: String) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let printed = try h.tokend("shell-init", shell)
        #expect(printed.status == 0)
        #expect(printed.stdout == (try Data(contentsOf: URL(fileURLWithPath: "\(Self.contrib)/shell/tokend.\(shell)"))))
    }

    @Test func unknownShellIsAUsageError() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let result = try h.tokend("shell-init", "tcsh")
        #expect(result.status == 2)
        #expect(result.out == "")
        #expect(result.err == "tokend: usage: tokend shell-init bash|zsh|fish\n")
    }

    @Test func exportWithoutTheShellFunctionSaysHowToLoadIt() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let result = try h.tokend("export", "T=a/b")
        #expect(result.status == 2)
        #expect(result.out == "")
        #expect(result.err == """
            tokend: tokend export sets variables in the calling shell, so it works through the shell function \
            that tokend shell-init defines: add
              eval "$(tokend shell-init bash)"     to ~/.bashrc  (zsh: the same with zsh, in ~/.zshrc)
              tokend shell-init fish | source      to ~/.config/fish/config.fish
            To give tokens to one command only, use tokend exec.

            """)
        #expect(h.liveAgents().isEmpty)
    }
}
