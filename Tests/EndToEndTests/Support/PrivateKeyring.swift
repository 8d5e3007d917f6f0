import Foundation
import Testing

/// A D-Bus session bus with its own gnome-keyring, for tests that touch every item of the keyring (migrate)
/// or kill the keyring daemon. Both processes are stopped by pid in `stop()`; their files live in the
/// harness's temp dir.
final class PrivateKeyring {
    let directory: String
    let address: String
    private var bus: Spawned?
    private(set) var daemon: Spawned?

    init(in harness: Harness) throws {
        directory = harness.root.appendingPathComponent("keyring").path
        try FileManager.default.createDirectory(atPath: directory + "/home", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        address = "unix:path=\(directory)/bus"
        bus = try Spawned(
            "/usr/bin/dbus-daemon", ["--session", "--nofork", "--nopidfile", "--address=\(address)"],
            environment: ["PATH": "/usr/bin:/bin"])
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: directory + "/bus") { usleep(10_000) }
        try startDaemon()
        harness.environment["DBUS_SESSION_BUS_ADDRESS"] = address
    }

    /// Starts gnome-keyring with an unlocked 'login' (default) collection and waits until it owns its name.
    func startDaemon() throws {
        daemon = try Spawned(
            "/usr/bin/gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"],
            environment: [
                "DBUS_SESSION_BUS_ADDRESS": address, "HOME": directory + "/home",
                "XDG_DATA_HOME": directory + "/home/.local/share", "XDG_RUNTIME_DIR": directory, "PATH": "/usr/bin:/bin",
            ], input: Data("private-keyring".utf8))
        for _ in 0..<200 {
            if hasOwner() { return }
            usleep(25_000)
        }
        Issue.record("gnome-keyring did not take org.freedesktop.secrets")
    }

    func hasOwner() -> Bool {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-send")
        check.arguments = ["--bus=\(address)", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"]
        let out = Pipe()
        check.standardOutput = out
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        return text.contains("boolean true")
    }

    func killDaemon() {
        daemon?.stop(SIGKILL)
        daemon = nil
    }

    func stop() {
        killDaemon()
        bus?.stop()
        bus = nil
    }
}
