import TokendCore
import TokendPosix

/// The parts of `tokend-agent`'s command line that are more than parsing: detaching and environment hygiene.
public enum AgentCommandLine {
    public static func printOut(_ text: String) { try? FileDescriptor.standardOutput.writeAll(text) }
    public static func printError(_ text: String) {
        try? FileDescriptor.standardError.writeAll("tokend-agent: " + Redactor.redact(text) + "\n")
    }

    /// Drops `TOKEND_*` variables (read by now) so that nothing that could carry a secret stays in the agent's
    /// environment. /proc/PID/environ shows the environment block the process started with, not `environ`,
    /// so the strings themselves are wiped as well as unset.
    public static func scrubEnvironment() {
        var found: [(name: String, text: UnsafeMutableRawBufferPointer)] = []
        ProcessControl.forEachEnvironmentEntry { entry in
            guard entry.starts(with: "TOKEND_".utf8), let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return }
            found.append((String(decoding: entry[..<eq], as: UTF8.self), entry))
        }
        for variable in found {
            ProcessControl.unsetEnvironment(variable.name)
            SecureMemory.wipe(variable.text)
        }
    }

    /// Starts `tokend-agent --foreground` detached, with stderr going to the log next to the socket, and waits
    /// until it answers.
    public static func detach(_ configuration: AgentConfiguration) -> ExitCode {
        do { try configuration.paths.prepareDirectory(create: true) } catch {
            printError(error.message)
            return error.code.exitCode
        }
        guard let executable = ProcessControl.readLink("/proc/self/exe") else {
            printError("cannot find my own executable")
            return .failure
        }
        var arguments = Array(CommandLine.arguments.dropFirst())
        // Settings that came from TOKEND_* variables travel as flags: the variables are gone by now.
        arguments += ["--foreground", "--socket", configuration.paths.socket, "--store", configuration.store?.rawValue ?? "auto"]
        do {
            _ = try ProcessControl.spawnDetached(executable, arguments: arguments, stderrPath: configuration.paths.log)
        } catch {
            printError("cannot start the agent: \(error)")
            return .unavailable
        }
        let deadline = ProcessControl.monotonicSeconds() + 10
        while ProcessControl.monotonicSeconds() < deadline {
            if UnixSocket.isLive(configuration.paths.socket) { return .ok }
            ProcessControl.sleep(seconds: 0.01)
        }
        printError("the agent did not answer on \(configuration.paths.socket) within 10 s; see \(configuration.paths.log)")
        return .unavailable
    }
}
