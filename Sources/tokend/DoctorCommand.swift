import TokendCore
import TokendPosix
import TokendProtocol

/// `tokend doctor`: checks the set-up and explains it, one line per topic, each problem with its fix.
/// Exit status 1 when a check failed, else 0 (warnings included).
enum DoctorCommand {
    enum Status: String {
        case ok = "ok  "
        case warn = "warn"
        case fail = "fail"
        case skip = "skip"
    }

    struct Finding {
        var status: Status
        var topic: String
        var text: String
        var fix: String?

        var line: String { "\(status.rawValue) \(topic): \(text)" + (fix.map { "; fix: \($0)" } ?? "") + "\n" }
    }

    static func run(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse()
        guard parsed.positionals.isEmpty else { throw .usage("usage: tokend doctor") }
        let paths = try context.paths()
        var findings = [runtimeDirectory(context), socketDirectory(paths)]
        let agentFinding = agent(context, paths, directorySafe: findings[1].status != .fail)
        findings.append(agentFinding)
        findings.append(socket(paths))
        let status = agentFinding.status == .ok ? try? context.call(Request(op: .status)).object : nil
        findings.append(store(status))
        findings.append(sessionBus())
        findings.append(keyring(status))
        findings.append(memoryLock(status))
        findings.append(ptraceScope())
        findings.append(shellHook())
        findings.append(gitHelper())
        for finding in findings { Output.out(finding.line) }
        if findings.contains(where: { $0.status == .fail }) { throw CommandFailure(.failure, "some checks failed") }
    }

    static func runtimeDirectory(_ context: Context) -> Finding {
        let topic = "runtime dir"
        if context.socketFlag != nil || !(ProcessControl.environment("TOKEND_SOCKET") ?? "").isEmpty {
            return Finding(status: .ok, topic: topic, text: "not used: the socket is set by --socket or TOKEND_SOCKET")
        }
        guard let dir = ProcessControl.environment("XDG_RUNTIME_DIR"), dir.hasPrefix("/") else {
            return Finding(
                status: .warn, topic: topic, text: "XDG_RUNTIME_DIR is not set, so the socket is under /tmp/tokend-\(ProcessControl.userID)",
                fix: "log in through a session that sets it (pam_systemd), or export XDG_RUNTIME_DIR=/run/user/\(ProcessControl.userID) when that directory exists")
        }
        return privateDirectory(dir, topic: topic, what: "the runtime directory")
    }

    static func socketDirectory(_ paths: AgentPaths) -> Finding {
        guard (try? FileStatus.of(paths.directory)) != nil else {
            return Finding(status: .ok, topic: "socket dir", text: "\(paths.directory) does not exist yet; it is created (mode 700) with the agent")
        }
        return privateDirectory(paths.directory, topic: "socket dir", what: "the socket")
    }

    /// A directory that must be ours, mode 700 and not a symlink.
    static func privateDirectory(_ dir: String, topic: String, what: String) -> Finding {
        switch PrivateDirectoryProblem.check(dir) {
        case .success(let status):
            return Finding(status: .ok, topic: topic, text: "\(dir) (mode \(status.permissionsText), yours)")
        case .failure(.unreadable(let error)):
            return Finding(status: .fail, topic: topic, text: "\(dir): \(error)", fix: "mkdir -m 700 \(dir)")
        case .failure(.symlink):
            return Finding(status: .fail, topic: topic, text: "\(dir) is a symlink, which tokend refuses to follow", fix: "rm \(dir)")
        case .failure(.notDirectory):
            return Finding(status: .fail, topic: topic, text: "\(dir) is not a directory", fix: "rm \(dir)")
        case .failure(.foreignOwner(let uid)):
            return Finding(
                status: .fail, topic: topic, text: "\(dir) belongs to uid \(uid), not to you (uid \(ProcessControl.userID))",
                fix: "have its owner or root remove it")
        case .failure(.openToOthers(let permissions)):
            return Finding(
                status: .fail, topic: topic, text: "\(dir) has mode \(permissions), so other users could reach \(what)",
                fix: "chmod 700 \(dir)")
        }
    }

    static func socket(_ paths: AgentPaths) -> Finding {
        guard let status = try? FileStatus.of(paths.socket) else {
            return Finding(status: .skip, topic: "socket", text: "\(paths.socket) does not exist")
        }
        guard status.kind == .socket else {
            return Finding(status: .fail, topic: "socket", text: "\(paths.socket) is not a socket", fix: "rm \(paths.socket)")
        }
        guard !status.isOpenToOthers else {
            return Finding(
                status: .warn, topic: "socket", text: "\(paths.socket) has mode \(status.permissionsText); only its directory keeps others out",
                fix: "chmod 600 \(paths.socket) (SocketMode=0600 in tokend.socket)")
        }
        return Finding(status: .ok, topic: "socket", text: "\(paths.socket) (mode \(status.permissionsText))")
    }

    /// Connects without starting anything first, so that the line can say whether an agent was running.
    static func agent(_ context: Context, _ paths: AgentPaths, directorySafe: Bool) -> Finding {
        let topic = "agent"
        guard directorySafe else {
            return Finding(status: .skip, topic: topic, text: "not contacted while the socket directory is unsafe")
        }
        var started = ""
        do throws(CommandFailure) {
            do { _ = try context.agent(autoStart: false) } catch {
                guard error.code == .unavailable else { throw error }
                _ = try context.agent(autoStart: true)
                started = "; started by this check"
            }
        } catch {
            return Finding(status: .fail, topic: topic, text: error.message, fix: "read \(paths.log)")
        }
        guard let identity = context.identity else {
            return Finding(status: .fail, topic: topic, text: "no answer to hello", fix: "read \(paths.log)")
        }
        if let mismatch = context.mismatch {
            return Finding(status: .fail, topic: topic, text: mismatch.message, fix: "tokend stop")
        }
        return Finding(status: .ok, topic: topic, text: "\(identity.label), the protocol of this tokend\(started)")
    }

    static func store(_ status: JSONObject?) -> Finding {
        let topic = "store"
        guard let status, let kind = status.string("store") else {
            return Finding(status: .skip, topic: topic, text: "no agent to ask")
        }
        let state = status.string("store_state") ?? "?"
        let text = "\(kind), \(state) (\(status.string("store_reason") ?? "?"))"
        switch (kind, state) {
        case (_, "ready"): return Finding(status: .ok, topic: topic, text: text)
        case ("file", "locked"): return Finding(status: .warn, topic: topic, text: text, fix: "tokend unlock")
        case ("file", "not initialized"): return Finding(status: .fail, topic: topic, text: text, fix: "tokend init")
        case (_, "locked"):
            return Finding(status: .warn, topic: topic, text: text, fix: "unlock the keyring's default collection (log in to the desktop, or gnome-keyring-daemon --unlock)")
        default:
            return Finding(status: .fail, topic: topic, text: text, fix: "start a Secret Service, or use the file store: tokend migrate --to file")
        }
    }

    /// This shell's bus; the agent may have been started with another one (the keyring line says what it found).
    static func sessionBus() -> Finding {
        let topic = "session bus"
        guard let address = ProcessControl.environment("DBUS_SESSION_BUS_ADDRESS"), !address.isEmpty else {
            return Finding(
                status: .warn, topic: topic, text: "DBUS_SESSION_BUS_ADDRESS is not set, so no keyring can be reached from here",
                fix: "run in a session with a bus (dbus-run-session -- $SHELL, or a login with pam_systemd) if you want the keyring")
        }
        let first = address.split(separator: ";").first.map(String.init) ?? address
        guard first.hasPrefix("unix:"),
            let pathOption = first.dropFirst(5).split(separator: ",").first(where: { $0.hasPrefix("path=") })
        else { return Finding(status: .ok, topic: topic, text: "\(address) (not probed)") }
        let path = String(pathOption.dropFirst(5))
        do {
            _ = try UnixSocket.connect(to: path)
            return Finding(status: .ok, topic: topic, text: "\(path) answers")
        } catch {
            return Finding(
                status: .warn, topic: topic, text: "\(path) does not answer (\(error))",
                fix: "start the session bus (systemctl --user start dbus, or dbus-run-session -- $SHELL), or unset DBUS_SESSION_BUS_ADDRESS")
        }
    }

    /// What the agent found when it looked for the Secret Service's default collection.
    static func keyring(_ status: JSONObject?) -> Finding {
        let topic = "keyring"
        guard let status, let kind = status.string("store") else {
            return Finding(status: .skip, topic: topic, text: "no agent to ask")
        }
        let reason = status.string("store_reason") ?? ""
        let state = status.string("store_state") ?? ""
        if kind == "secret-service" {
            switch state {
            case "ready": return Finding(status: .ok, topic: topic, text: "the default collection is unlocked")
            case "locked":
                return Finding(status: .warn, topic: topic, text: "the default collection is locked", fix: "unlock it (log in to the desktop, or gnome-keyring-daemon --unlock)")
            default:
                return Finding(status: .fail, topic: topic, text: state, fix: "start gnome-keyring (gnome-keyring-daemon --start --components=secrets), then tokend stop")
            }
        }
        guard reason.hasPrefix("auto: ") else {
            return Finding(status: .ok, topic: topic, text: "not used: the agent uses the file store (\(reason))")
        }
        let why = String(reason.dropFirst("auto: ".count))
        if why == "the Secret Service default collection is locked" {
            return Finding(
                status: .warn, topic: topic, text: "the default collection is locked, so the agent uses the file store",
                fix: "unlock it, then tokend stop (the next command starts an agent that uses it)")
        }
        if why == "the Secret Service has no default collection" {
            return Finding(
                status: .warn, topic: topic, text: "the Secret Service has no default collection, so the agent uses the file store",
                fix: "create the login keyring once: printf %s PASSWORD | gnome-keyring-daemon --unlock; then tokend stop")
        }
        return Finding(
            status: .warn, topic: topic, text: "no Secret Service answered the agent (\(why)), so it uses the file store",
            fix: "keep the file store, or start gnome-keyring (gnome-keyring-daemon --start --components=secrets) in a session with a bus, then tokend stop")
    }

    static func memoryLock(_ status: JSONObject?) -> Finding {
        let topic = "memlock"
        guard let status, let locked = status.bool("memory_locked") else {
            return Finding(status: .skip, topic: topic, text: "no agent to ask")
        }
        let limit = status.int("memlock_limit") ?? -1
        let limitText = limit < 0 ? "unlimited" : "\(limit) bytes"
        if locked {
            return Finding(status: .ok, topic: topic, text: "the agent's secret memory is locked in RAM (RLIMIT_MEMLOCK \(limitText))")
        }
        return Finding(
            status: .warn, topic: topic,
            text: "some of the agent's secret memory could not be locked in RAM (RLIMIT_MEMLOCK \(limitText)) and may reach swap",
            fix: "raise the limit for the agent: LimitMEMLOCK=64M in tokend.service, or a memlock line in /etc/security/limits.conf")
    }

    static func ptraceScope() -> Finding {
        let topic = "ptrace"
        let scope = readSmallFile("/proc/sys/kernel/yama/ptrace_scope").flatMap { Int($0.filter { !$0.isWhitespace }) }
        switch scope {
        case nil:
            return Finding(
                status: .warn, topic: topic, text: "Yama is not enabled: any process of yours can ptrace the tools tokend serves (the agent itself is non-dumpable)",
                fix: "boot a kernel with Yama and set kernel.yama.ptrace_scope=1")
        case 0?:
            return Finding(
                status: .warn, topic: topic, text: "ptrace_scope is 0: any process of yours can ptrace the tools tokend serves (the agent itself is non-dumpable)",
                fix: "sudo sysctl kernel.yama.ptrace_scope=1 (and keep it in /etc/sysctl.d)")
        case 1?: return Finding(status: .ok, topic: topic, text: "ptrace_scope is 1: only a parent process may attach")
        case 2?: return Finding(status: .ok, topic: topic, text: "ptrace_scope is 2: only CAP_SYS_PTRACE may attach")
        case let n?: return Finding(status: .ok, topic: topic, text: "ptrace_scope is \(n): no process may attach")
        }
    }

    static func shellHook() -> Finding {
        let topic = "shell hook"
        let home = ProcessControl.environment("HOME") ?? ""
        let shell = (ProcessControl.environment("SHELL") ?? "").split(separator: "/").last.map(String.init) ?? ""
        let rc: String
        let line: String
        switch shell {
        case "bash":
            rc = home + "/.bashrc"
            line = "eval \"$(tokend shell-init bash)\""
        case "zsh":
            rc = (ProcessControl.environment("ZDOTDIR") ?? home) + "/.zshrc"
            line = "eval \"$(tokend shell-init zsh)\""
        case "fish":
            rc = (ProcessControl.environment("XDG_CONFIG_HOME") ?? home + "/.config") + "/fish/config.fish"
            line = "tokend shell-init fish | source"
        default:
            return Finding(status: .skip, topic: topic, text: "SHELL is \(shell.isEmpty ? "not set" : shell), not bash, zsh or fish")
        }
        if let text = readSmallFile(rc), text.contains("tokend shell-init") {
            return Finding(status: .ok, topic: topic, text: "\(rc) loads tokend shell-init")
        }
        return Finding(
            status: .warn, topic: topic, text: "\(rc) does not load tokend shell-init, which tokend export needs",
            fix: "echo '\(line)' >> \(rc)")
    }

    /// git's effective credential.helper list (an empty value resets it), and whether it reaches tokend.
    static func gitHelper() -> Finding {
        let topic = "git helper"
        guard let git = FileSystem.findExecutable("git", fallback: "/usr/bin:/bin") else {
            return Finding(status: .skip, topic: topic, text: "git is not installed")
        }
        let output = Git.output(git, ["config", "--get-all", "credential.helper"]) ?? ""
        var helpers: [String] = []
        for value in output.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if value.isEmpty { helpers.removeAll() } else { helpers.append(String(value)) }
        }
        let shown = helpers.isEmpty ? "none" : helpers.joined(separator: ", ")
        guard helpers.contains(where: { $0 == "tokend" || $0.hasPrefix("tokend ") || $0.hasSuffix("git-credential-tokend") }) else {
            return Finding(
                status: .warn, topic: topic, text: "git does not ask tokend (credential.helper: \(shown))",
                fix: "git config --global credential.helper tokend")
        }
        guard let helper = FileSystem.findExecutable("git-credential-tokend", fallback: "/usr/bin:/bin") else {
            let dir = ProcessControl.readLink("/proc/self/exe").map { String($0[..<($0.lastIndex(of: "/") ?? $0.endIndex)]) } ?? "~/.local/bin"
            return Finding(
                status: .fail, topic: topic, text: "credential.helper is \(shown) but git-credential-tokend is not on PATH",
                fix: "ln -s tokend \(dir)/git-credential-tokend")
        }
        return Finding(status: .ok, topic: topic, text: "credential.helper: \(shown) (\(helper))")
    }

    static func readSmallFile(_ path: String) -> String? {
        (try? AtomicFile.read(path, limit: 1 << 20, followingSymlinks: true))?.map { String(decoding: $0, as: UTF8.self) }
    }
}

/// git's answers, for the git helper check.
enum Git {
    /// Standard output of `git arguments`, or nil when it could not run or exited with a status above 1
    /// (git config says 1 for "no such key").
    static func output(_ git: String, _ arguments: [String]) -> String? {
        guard let result = try? ChildProcess.run(git, arguments), result.status <= 1 else { return nil }
        return String(decoding: result.output, as: UTF8.self)
    }
}
