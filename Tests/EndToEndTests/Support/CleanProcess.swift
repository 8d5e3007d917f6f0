import Foundation
import Testing

/// Runs a program the way a login shell would have started it, for tests about signals and daemons:
/// - no blocked signals and default dispositions: the test runner's threads block most signals, and
///   Foundation's Process passes that mask on, so a SIGTERM or a Ctrl-C would never arrive;
/// - only descriptors 0, 1 and 2 open: a daemon it starts (tmux) keeps what it inherits, and Foundation's
///   Process waits for its child's socket to close;
/// - output in files, not pipes that a daemon would hold open.
enum CleanProcess {
    struct Result {
        var status: Int32
        var out: String
        var err: String
    }

    static func run(_ arguments: [String], env: [String: String], in directory: URL, timeout: Double = 60) throws -> Result {
        let outPath = directory.appendingPathComponent("clean-\(UUID().uuidString.prefix(8)).out").path
        let errPath = outPath.dropLast(4) + ".err"
        defer {
            unlink(outPath)
            unlink(String(errPath))
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, String(errPath), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // posix_spawn cannot close the rest (closefrom is not visible from Swift): bash does, then execs.
        let closeAndRun = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; if ((n > 2)); then eval "exec $n>&-"; fi; done 2>/dev/null; exec "$@""#
        let argv = ["/bin/bash", "-c", closeAndRun, "bash"] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }
        var cArgv = argv.map { strdup($0) } + [nil]
        var cEnvp = envp.map { strdup($0) } + [nil]
        defer {
            for p in cArgv { free(p) }
            for p in cEnvp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", &actions, &attributes, &cArgv, &cEnvp)
        try #require(rc == 0, "posix_spawn: \(String(cString: strerror(rc)))")
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                Issue.record("\(arguments) timed out after \(timeout) s")
                break
            }
            usleep(5000)
        }
        let exited = status & 0x7f == 0
        return Result(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            out: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            err: (try? String(contentsOfFile: String(errPath), encoding: .utf8)) ?? "")
    }
}
