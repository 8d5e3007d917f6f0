import Foundation
import Testing

/// The agent keeps serving everyone while some clients are idle, slow, malformed or oversized.
@Suite struct ProtocolServiceTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    func started() throws -> Harness {
        let h = try Harness()
        #expect(try h.tokend("put", "\(h.prefix)/p", stdin: Data("pv".utf8)).status == 0)
        return h
    }

    @Test func severalRequestsOnOneConnectionEchoTheirIds() throws {
        let h = try started()
        defer { h.shutdown() }
        let c = try SocketClient(path: h.socketPath)
        let hello = try #require(c.request(#"{"id":"a","op":"hello","versions":[1]}"#))
        #expect(hello["id"] as? String == "a")
        #expect(hello["version"] as? Int == 1)
        let get = try #require(c.request(#"{"id":2,"op":"get","name":"\#(h.prefix)/p"}"#))
        #expect(get["id"] as? Int == 2)
        #expect(get["value_b64"] as? String == Data("pv".utf8).base64EncodedString())
        let missing = try #require(c.request(#"{"id":3,"op":"get","name":"\#(h.prefix)/none"}"#))
        #expect(missing.errorCode == "not_found")
        #expect((missing["error"] as? [String: Any])?["message"] as? String == "no secret named '\(h.prefix)/none'")
    }

    @Test(arguments: [
        (#"{"id":1,"op":"get""#, "malformed JSON at byte 18: unexpected end of line"),
        (#"{"id":1,"op":"fly"}"#, "unknown op (known: hello, get, put, update, rm, list, info, status, stop, init, lock, unlock, migrate)"),
        (#"{"id":1,"op":"get","name":"x","CANARY-LOOKS-LIKE-A-KEY":1}"#, "op 'get' does not take a field of another name (it takes id, op, name)"),
        (#"{"id":1,"op":"get","name":"x","owner":"o"}"#, "op 'get' does not take 'owner' (it takes id, op, name)"),
        (#"[1,2]"#, "malformed JSON at byte 0: not a JSON object"),
        (#"{"id":1,"op":"get","name":"\u00ff\ud800"}"#, "malformed JSON at byte 33: unpaired surrogate"),
        (#"{"id":1e400000000000000000000000000000000,"op":"hello"}"#, "malformed JSON at byte 6: number too long"),
        (String(repeating: "[", count: 50), "malformed JSON at byte 8: nesting deeper than 8"),
        (#"{"id":1,"op":"put","name":"x","value_b64":"abc"}"#, "value_b64 is not canonical padded base64"),
    ])
    func badRequestsGetInvalidRequestAndTheConnectionStaysUsable(line: String, message: String) throws {
        let h = try started()
        defer { h.shutdown() }
        let c = try SocketClient(path: h.socketPath)
        let response = try #require(c.request(line))
        #expect(response.errorCode == "invalid_request")
        #expect((response["error"] as? [String: Any])?["message"] as? String == message)
        #expect(c.request(#"{"id":9,"op":"hello"}"#)?.ok == true)
    }

    @Test func invalidUtf8IsInvalidRequest() throws {
        let h = try started()
        defer { h.shutdown() }
        let c = try SocketClient(path: h.socketPath)
        c.send(Data(#"{"id":1,"op":"get","name":""#.utf8) + Data([0xC3, 0x28]) + Data("\"}\n".utf8))
        let line = try #require(c.readLine())
        #expect(line == #"{"id":null,"ok":false,"error":{"code":"invalid_request","message":"malformed JSON at byte 27: invalid UTF-8"}}"#)
    }

    @Test func overlongLineGetsTooLargeAndIsClosed() throws {
        let h = try started()
        defer { h.shutdown() }
        let c = try SocketClient(path: h.socketPath)
        c.send(Data(repeating: UInt8(ascii: "a"), count: 1_600_000))
        let response = try #require(c.readLine())
        #expect(response.contains(#""code":"too_large""#))
        #expect(c.isClosed())
        let other = try SocketClient(path: h.socketPath)
        #expect(other.request(#"{"id":1,"op":"hello"}"#)?.ok == true)
    }

    @Test func idleAndHalfSentClientsDoNotDelayOthers() throws {
        let h = try started()
        defer { h.shutdown() }
        let idle = try SocketClient(path: h.socketPath)
        let half = try SocketClient(path: h.socketPath)
        half.send(#"{"id":1,"op":"get","na"#)
        let start = Date()
        let get = try h.tokend("get", "\(h.prefix)/p")
        #expect(get.out == "pv")
        #expect(Date().timeIntervalSince(start) < 1.0)
        withExtendedLifetime((idle, half)) {}
    }

    @Test func halfSentLineIsCutOffAfterTheRequestDeadline() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: Harness.agent)
        agent.arguments = ["--foreground", "--request-timeout", "1"]
        agent.environment = h.environment
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { agent.terminate(); agent.waitUntilExit() }
        Harness.waitUntilListening(h.socketPath)
        let half = try SocketClient(path: h.socketPath, timeout: 5)
        half.send(#"{"id":1,"op":"hel"#)
        let line = try #require(half.readLine())
        #expect(line == #"{"id":null,"ok":false,"error":{"code":"timeout","message":"request not completed within 1 s; closing"}}"#)
        #expect(half.isClosed())
    }
}
