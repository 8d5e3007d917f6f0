import Foundation
import Testing

/// Without a reachable Secret Service the agent answers at once with `store_unavailable`.
@Suite struct NoKeyringTests {
    @Test func forcedSecretServiceWithoutABusIsUnavailableWithinOneSecond() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let env = ["TOKEND_STORE": "secret-service"]
        #expect(try h.tokend("status", env: env).status == 0)
        let start = Date()
        let get = try h.tokend("get", "some/name", env: env)
        let elapsed = Date().timeIntervalSince(start)
        #expect(get.status == 5)
        #expect(get.err.hasPrefix("tokend: Secret Service search failed: "))
        #expect(elapsed < 1.0)
    }

    @Test func noBusAddressAtAllNeverAutolaunches() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        var env = h.environment
        env.removeValue(forKey: "DBUS_SESSION_BUS_ADDRESS")
        env["DISPLAY"] = ":99"
        h.environment = env
        let start = Date()
        let get = try h.tokend("get", "some/name", env: ["TOKEND_STORE": "secret-service"])
        #expect(get.status == 5)
        #expect(get.err == "tokend: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)\n")
        #expect(Date().timeIntervalSince(start) < 1.0)
    }
}
