import Foundation
import Testing

/// The age-encrypted file store, driven through the built binaries, with the real `age` as the reference.
@Suite struct FileStoreTests {
    @Test func withoutAKeyringTheAgentChoosesTheFileStoreAndSaysWhy() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let status = try h.tokend("status", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        #expect(object["store"] as? String == "file")
        #expect(object["store_state"] as? String == "not initialized")
        #expect((object["store_reason"] as? String)?.hasPrefix("auto: Secret Service open failed: ") == true)
        #expect(h.agentLog.contains("store file (auto: Secret Service open failed: "))
        let get = try h.tokend("get", "x")
        #expect(get.status == 4)
        #expect(get.err == "tokend: the encrypted file store is not set up yet: run 'tokend init'\n")
    }

    @Test func withTheKeyringSessionTheAgentChoosesTheSecretService() throws {
        try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test")
        let h = try Harness()
        defer { h.shutdown() }
        let status = try h.tokend("status", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: status.stdout) as? [String: Any])
        #expect(object["store"] as? String == "secret-service")
        #expect(object["store_reason"] as? String == "auto: the Secret Service answered with an unlocked default collection")
    }

    @Test func initPutGetLockUnlockRoundTrip() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        var st = stat()
        #expect(lstat(h.dataDir, &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(lstat(h.vaultPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(lstat(h.identityPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
        let value = Data([0, 1, 2, 0xff]) + Data("tail\n".utf8)
        #expect(try h.tokend("put", "--raw", "svc/one", "--owner", "me", stdin: value).status == 0)
        #expect(try h.tokend("get", "svc/one").stdout == value)
        #expect(try h.tokend("lock").status == 0)
        let locked = try h.tokend("get", "svc/one")
        #expect(locked.status == 4)
        #expect(locked.err == "tokend: the vault is locked: run 'tokend unlock'\n")
        #expect(try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("correct horse")).status == 0)
        #expect(try h.tokend("get", "svc/one").stdout == value)
        let ls = try h.tokend("ls", "--json")
        #expect(ls.out.contains(#""name":"svc/one","owner":"me""#))
    }

    @Test func initOnAnExistingStoreRefusesBeforeAskingForAPassphrase() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        // No passphrase flag: a prompt would need a terminal, and the refusal must come first.
        let again = try h.tokend("init")
        #expect(again.status == 7)
        #expect(again.err == "tokend: the encrypted file store already exists (\(h.vaultPath)); use tokend unlock\n")
    }

    @Test func aPrefixSelectsWholeNameSegments() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault()
        for name in ["git", "git/https/example.com/alice", "github/pat", "gitlab/ci"] {
            #expect(try h.tokend("put", name, stdin: Data("v".utf8)).status == 0)
        }
        func names(_ arguments: String...) throws -> [String] {
            let result = try h.run(Harness.tokend, ["ls"] + arguments + ["--json"])
            let items = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
            return items.compactMap { $0["name"] as? String }
        }
        #expect(try names("git") == ["git", "git/https/example.com/alice"])
        #expect(try names("git/") == ["git/https/example.com/alice"])
        #expect(try names("gi") == [])
        #expect(try names() == ["git", "git/https/example.com/alice", "github/pat", "gitlab/ci"])
    }

    @Test func theStockAgeToolOpensTheVaultWithTheIdentityFile() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("age interop pass")
        #expect(try h.tokend("put", "interop/a", stdin: Data("value-for-age".utf8)).status == 0)
        let out = h.root.appendingPathComponent("tmp/plain").path
        let result = try h.expectSession(
            ["/usr/bin/age", "-d", "-i", h.identityPath, "-o", out, h.vaultPath], prompt: "passphrase", answer: "age interop pass")
        #expect(result.status == 0, "\(result.out)")
        let plain = try String(contentsOfFile: out, encoding: .utf8)
        let lines = plain.split(separator: "\n")
        #expect(lines.first == "tokend-vault 1")
        #expect(lines.count == 2)
        #expect(lines[1].hasPrefix(#"{"name":"interop/a","value_b64":"\#(Data("value-for-age".utf8).base64EncodedString())","created":""#))
        try FileManager.default.removeItem(atPath: out)
    }

    @Test func anIdentityMadeByAgeKeygenAndProtectedByAgePUnlocksTheStore() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try FileManager.default.createDirectory(atPath: h.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyFile = h.root.appendingPathComponent("tmp/key.txt").path
        #expect(try h.run("/usr/bin/age-keygen", ["-o", keyFile]).status == 0)
        let recipient = try h.run("/usr/bin/age-keygen", ["-y", keyFile]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let protect = try h.expectSession(["/usr/bin/age", "-p", "-o", h.identityPath, keyFile], prompt: "passphrase", answer: "keygen pass")
        #expect(protect.status == 0, "\(protect.out)")
        try FileManager.default.removeItem(atPath: keyFile)
        let vaultPlain = h.root.appendingPathComponent("tmp/vault.txt").path
        let line = #"{"name":"from/age","value_b64":"\#(Data("made by age".utf8).base64EncodedString())"}"#
        try Data("tokend-vault 1\n\(line)\n".utf8).write(to: URL(fileURLWithPath: vaultPlain))
        #expect(try h.run("/usr/bin/age", ["-r", recipient, "-o", h.vaultPath, vaultPlain]).status == 0)
        try FileManager.default.removeItem(atPath: vaultPlain)
        try h.startFileAgent()
        let unlock = try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("keygen pass"))
        #expect(unlock.status == 0, "\(unlock.err)")
        #expect(try h.tokend("get", "from/age").out == "made by age")
        #expect(try h.tokend("put", "from/tokend", stdin: Data("added".utf8)).status == 0)
        #expect(try h.tokend("get", "from/tokend").out == "added")
    }

    @Test func damagedFilesEachGiveTheirOwnErrorAndNothingIsLost() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("pw")
        #expect(try h.tokend("put", "keep/me", stdin: Data("kept".utf8)).status == 0)
        // More than one 64 KiB payload chunk, so that the vault can be cut at a chunk boundary.
        #expect(try h.tokend("put", "keep/big", "--raw", stdin: Data(repeating: 0x42, count: 100_000)).status == 0)
        #expect(try h.tokend("lock").status == 0)
        let pass = try h.passphraseFile("pw")
        let original = try Data(contentsOf: URL(fileURLWithPath: h.vaultPath))
        let identity = try Data(contentsOf: URL(fileURLWithPath: h.identityPath))

        let wrong = try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("not it", name: "wrong"))
        #expect(wrong.status == 4)
        #expect(wrong.err == "tokend: wrong passphrase for \(h.identityPath)\n")

        let macLine = try #require(original.range(of: Data("\n--- ".utf8)))
        let headerEnd = try #require(original[macLine.upperBound...].firstIndex(of: 0x0A)) + 1
        try original.prefix(headerEnd + 16 + 65_552).write(to: URL(fileURLWithPath: h.vaultPath))
        let truncated = try h.tokend("unlock", "--passphrase-file", pass)
        #expect(truncated.status == 5)
        #expect(truncated.err == "tokend: vault.age is truncated; restore it from a backup\n")

        var flipped = original
        flipped[flipped.count - 5] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: h.vaultPath))
        let damaged = try h.tokend("unlock", "--passphrase-file", pass)
        #expect(damaged.status == 5)
        #expect(damaged.err == "tokend: vault.age failed authentication: it is damaged or was altered (failed to decrypt and authenticate payload chunk 2)\n")
        #expect(truncated.err != damaged.err)

        try original.write(to: URL(fileURLWithPath: h.vaultPath))
        try Data("this is not an age file\n".utf8).write(to: URL(fileURLWithPath: h.identityPath))
        let garbage = try h.tokend("unlock", "--passphrase-file", pass)
        #expect(garbage.status == 5)
        #expect(garbage.err.hasPrefix("tokend: identity.age cannot be opened with a passphrase: invalid age header"), "\(garbage.err)")

        try identity.write(to: URL(fileURLWithPath: h.identityPath))
        #expect(try h.tokend("unlock", "--passphrase-file", pass).status == 0)
        #expect(try h.tokend("get", "keep/me").out == "kept")
        #expect(h.liveAgents().count == 1, "no error stopped the agent")
    }

    @Test func repeatedWrongPassphrasesAreSlowedWithoutBlockingOthers() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("pw")
        #expect(try h.tokend("lock").status == 0)
        let wrong = try h.passphraseFile("bad", name: "bad")
        #expect(try h.tokend("unlock", "--passphrase-file", wrong).status == 4)
        #expect(try h.tokend("unlock", "--passphrase-file", wrong).status == 4)
        let third = try h.tokend("unlock", "--passphrase-file", wrong)
        #expect(third.status == 6)
        #expect(third.err.hasPrefix("tokend: too many wrong passphrases; try again in "))
        let start = Date()
        #expect(try h.tokend("status").status == 0)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func idleVaultLocksItself() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent(["--idle-lock", "2s"])
        try h.initVault()
        #expect(try h.tokend("put", "idle/a", stdin: Data("x".utf8)).status == 0)
        usleep(3_500_000)
        #expect(try h.tokend("get", "idle/a").status == 4)
        #expect(h.agentLog.contains("vault locked after 2 s without use"))
    }

    @Test func systemdCredentialUnlocksTheVaultAtStart() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("cred pass")
        #expect(try h.tokend("put", "cred/a", stdin: Data("via credential".utf8)).status == 0)
        #expect(try h.tokend("stop").status == 0)
        let credentials = h.root.appendingPathComponent("tmp/creds").path
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        _ = FileManager.default.createFile(atPath: credentials + "/tokend.passphrase", contents: Data("cred pass\n".utf8))
        try h.startFileAgent(env: ["CREDENTIALS_DIRECTORY": credentials])
        for _ in 0..<100 where !h.agentLog.contains("vault unlocked with credential") { usleep(20_000) }
        #expect(try h.tokend("get", "cred/a").out == "via credential")
    }

    @Test func lockedGetAtATerminalOffersToUnlockAndRetries() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        try h.startFileAgent()
        try h.initVault("tty pass")
        #expect(try h.tokend("put", "tty/a", stdin: Data("after unlock".utf8)).status == 0)
        #expect(try h.tokend("lock").status == 0)
        let session = try h.expectSession([Harness.tokend, "get", "tty/a"], prompt: "passphrase to unlock it", answer: "tty pass")
        #expect(session.status == 0)
        #expect(session.out.contains("after unlock"))
        #expect(!session.out.contains("tty pass"), "the passphrase is not echoed")
    }

    @Test func fullDiskDuringPutReturnsAnErrorAndKeepsThePreviousVault() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        // The agent may not write files larger than 2 KiB: a small vault fits, a large put does not.
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        agent.arguments = ["--fsize=2048", Harness.agent, "--foreground", "--store", "file", "--kdf-log-n", "10"]
        agent.environment = h.environment
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { agent.terminate(); agent.waitUntilExit() }
        Harness.waitUntilListening(h.socketPath)
        try h.initVault("fs pass")
        #expect(try h.tokend("put", "small/a", stdin: Data("small".utf8)).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: h.vaultPath))
        let big = try h.tokend("put", "big/a", stdin: Data(repeating: 0x41, count: 8192))
        #expect(big.status == 5)
        #expect(big.err == "tokend: cannot write \(h.vaultPath): File too large; the previous vault is intact\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: h.vaultPath)) == before)
        #expect(try h.tokend("get", "small/a").out == "small")
        #expect(try h.tokend("get", "big/a").status == 3)
        #expect(!FileManager.default.fileExists(atPath: h.vaultPath + ".tmp"))
    }

    @Test func plaintextNeverReachesTheDisk() throws {
        let h = try Harness()
        let keyring = try PrivateKeyring(in: h)
        defer { keyring.stop(); h.shutdown() }
        let canary = "canary-disk-\(UUID().uuidString)"
        try h.startFileAgent()
        try h.initVault("disk pass")
        #expect(try h.tokend("put", "\(h.prefix)/disk", stdin: Data(canary.utf8)).status == 0)
        #expect(try h.tokend("get", "\(h.prefix)/disk").out == canary)
        #expect(try h.tokend("lock").status == 0)
        #expect(try h.tokend("unlock", "--passphrase-file", try h.passphraseFile("disk pass")).status == 0)
        #expect(try h.tokend("migrate", "--to", "secret-service").status == 0)
        #expect(try h.tokend("get", "\(h.prefix)/disk").out == canary)
        #expect(try h.tokend("migrate", "--to", "file", "--passphrase-file", try h.passphraseFile("disk pass")).status == 0)
        #expect(try h.tokend("get", "\(h.prefix)/disk").out == canary)
        #expect(!h.allFiles().isEmpty)
        #expect(h.filesContaining(canary).isEmpty)
        #expect(h.filesContaining(Data(canary.utf8).base64EncodedString()).isEmpty)
    }
}
