import TokendAgent
import TokendCore
import TokendPosix
import TokendStores

let usage = """
    usage: tokend-agent [--foreground] [--socket PATH] [--store auto|secret-service|file]
                        [--store-timeout SECONDS] [--cache-ttl SECONDS] [--max-connections N]
                        [--buffer-budget MIB]
                        [--idle-lock DURATION] [--rate PER_SECOND] [--burst N]
                        [--request-timeout SECONDS] [--idle-timeout SECONDS]
                        [--data-dir DIR] [--kdf-log-n 10..22]
           tokend-agent --version | --help
    Without --foreground the agent detaches (new session, output to the log next to the socket) and exits
    once it answers. Started by systemd socket activation (LISTEN_FDS) it serves the passed socket in the
    foreground. See tokend-agent(8).

    """

func fail(_ message: String, _ code: ExitCode) -> Never {
    AgentCommandLine.printError(message)
    ProcessControl.exit(code.rawValue)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var foreground = false
var socketFlag: String?
var storeFlag: String? = ProcessControl.environment("TOKEND_STORE")
var numbers: [String: Double] = [:]
var dataDirFlag: String?
var kdfLogN: Int?

while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    func value() -> String {
        guard !arguments.isEmpty else { fail("\(flag) needs a value\n\(usage)", .usage) }
        return arguments.removeFirst()
    }
    switch flag {
    case "--foreground", "-f": foreground = true
    case "--socket": socketFlag = value()
    case "--store": storeFlag = value()
    case "--data-dir": dataDirFlag = value()
    case "--kdf-log-n":
        guard let n = Int(value()), (10...22).contains(n) else { fail("--kdf-log-n must be between 10 and 22", .usage) }
        kdfLogN = n
    case "--store-timeout", "--cache-ttl", "--max-connections", "--buffer-budget", "--rate", "--burst", "--request-timeout", "--idle-timeout":
        let text = value()
        guard let n = Double(text), n >= 0, n.isFinite else { fail("\(flag) needs a non-negative number", .usage) }
        numbers[flag] = n
    case "--idle-lock":
        guard let seconds = DurationParser.seconds(value()) else { fail("--idle-lock needs a duration such as 15m", .usage) }
        numbers[flag] = Double(seconds)
    case "--version": AgentCommandLine.printOut("tokend-agent \(agentVersion) (protocol 1)\n"); ProcessControl.exit(0)
    case "--help", "-h": AgentCommandLine.printOut(usage); ProcessControl.exit(0)
    default: fail("unknown argument \(flag)\n\(usage)", .usage)
    }
}

var configuration: AgentConfiguration
do {
    configuration = AgentConfiguration(paths: try AgentPaths.resolve(explicit: socketFlag))
} catch {
    fail(error.message, error.code.exitCode)
}
switch storeFlag {
case nil, "", "auto": configuration.store = nil
case let kind?:
    guard let chosen = StoreKind(rawValue: kind) else { fail("--store must be auto, secret-service or file", .usage) }
    configuration.store = chosen
}
if let v = numbers["--store-timeout"] { configuration.storeTimeout = v }
if let v = numbers["--cache-ttl"] { configuration.cacheTTL = v }
if let v = numbers["--max-connections"] { configuration.maxConnections = max(1, Int(v)) }
if let v = numbers["--buffer-budget"] { configuration.bufferBudget = max(1, Int(v)) * 1024 * 1024 }
if let v = numbers["--rate"] { configuration.ratePerSecond = v }
if let v = numbers["--burst"] { configuration.rateBurst = v }
if let v = numbers["--idle-lock"] { configuration.idleLock = v }
if let dataDirFlag { configuration.dataDirectory = dataDirFlag }
if let kdfLogN { configuration.kdfLogN = kdfLogN }
if let v = numbers["--request-timeout"] { configuration.requestTimeout = max(0.1, v) }
if let v = numbers["--idle-timeout"] { configuration.idleTimeout = max(0.1, v) }
AgentCommandLine.scrubEnvironment()

let activation: (listener: FileDescriptor, path: String)?
do { activation = try SocketActivation.takeListener() } catch { fail(error.message, error.code.exitCode) }
if let activation {
    if let socketFlag, socketFlag != activation.path {
        fail("--socket \(socketFlag) differs from the socket systemd passed (\(activation.path))", .usage)
    }
    configuration.paths = AgentPaths(socket: activation.path)
} else if !foreground {
    ProcessControl.exit(AgentCommandLine.detach(configuration).rawValue)
}
do {
    switch try Agent.run(configuration, passedListener: activation?.listener) {
    case .stopped: ProcessControl.exit(0)
    case .alreadyRunning:
        AgentCommandLine.printError("another tokend-agent is already running on \(configuration.paths.socket)")
        ProcessControl.exit(0)
    }
} catch {
    fail(error.message, error.code.exitCode)
}
