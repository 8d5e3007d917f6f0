import Foundation
import Testing

/// tokend and the real `secret-tool` see the same items in the real gnome-keyring, byte for byte.
@Suite struct SecretServiceInteropTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    @Test func putWithTokendReadsBackWithSecretTool() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/interop/a"
        #expect(try h.tokend("put", name, stdin: Data("xoxb-interop-1234\n".utf8)).status == 0)
        let lookup = try h.run("/usr/bin/secret-tool", ["lookup", "name", name])
        #expect(lookup.status == 0)
        #expect(lookup.out == "xoxb-interop-1234")
    }

    @Test func storeWithSecretToolReadsBackWithTokend() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/interop/b"
        let store = try h.run(
            "/usr/bin/secret-tool", ["store", "--label", "x", "xdg:schema", "org.tokend.Secret", "name", name],
            stdin: Data("from secret-tool".utf8))
        #expect(store.status == 0)
        let get = try h.tokend("get", name)
        #expect(get.status == 0)
        #expect(get.out == "from secret-tool")
    }

    @Test func binaryValueIsStoredExactlyAsSecretToolSeesIt() throws {
        let h = try Harness()
        defer { h.shutdown() }
        var value = Data([0x00, 0x7f, 0x80, 0xff])
        value.append(Data.random(count: 252))
        let name = "\(h.prefix)/binary"
        #expect(try h.tokend("put", "--raw", name, stdin: value).status == 0)
        #expect(try h.tokend("get", name).stdout == value)
        #expect(try h.run("/usr/bin/secret-tool", ["lookup", "name", name]).stdout == value)
    }

    @Test(arguments: [
        ("utf8", Data("héllo wörld 🔑 秘密の鍵 ключ".utf8)),
        ("dash", Data("-n --help -".utf8)),
        ("backslashes", Data(#"a\nb\tc\\d\u0000e\"f"#.utf8)),
        ("crlf", Data("token\r\n".utf8)),
        ("empty", Data()),
    ])
    func valueRoundTripsExactly(label: String, value: Data) throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/values/\(label)"
        #expect(try h.tokend("put", "--raw", name, stdin: value).status == 0)
        #expect(try h.tokend("get", name).stdout == value)
    }

    @Test func pipedValueLosesExactlyOneTrailingNewline() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/newline"
        #expect(try h.tokend("put", name, stdin: Data("abc\n\n".utf8)).status == 0)
        #expect(try h.tokend("get", name).stdout == Data("abc\n".utf8))
        #expect(try h.tokend("put", name, stdin: Data("abc\r\n".utf8)).status == 0)
        #expect(try h.tokend("get", name).stdout == Data("abc\r".utf8))
    }

    @Test func exactlyOneMebibyteIsStoredAndOneMoreByteIsRefused() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/big"
        let max = Data.random(count: 1_048_576)
        #expect(try h.tokend("put", "--raw", name, stdin: max).status == 0)
        #expect(try h.tokend("get", name).stdout == max)

        let other = "\(h.prefix)/toobig"
        let tooBig = try h.tokend("put", "--raw", other, stdin: Data.random(count: 1_048_577))
        #expect(tooBig.status == 7)
        #expect(tooBig.err == "tokend: value exceeds the limit of 1048576 bytes; nothing was stored\n")
        #expect(try h.tokend("get", other).status == 3)
    }

    @Test func tooLargeOverTheSocketIsRefusedAndNothingStored() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("status").status == 0)
        let client = try SocketClient(path: h.socketPath)
        let value = Data.random(count: 1_048_577).base64EncodedString()
        let name = "\(h.prefix)/socket-too-big"
        let response = client.request(#"{"id":7,"op":"put","name":"\#(name)","value_b64":"\#(value)"}"#)
        #expect(response?["id"] as? Int == 7)
        #expect(response?.errorCode == "too_large")
        #expect(try h.tokend("get", name).status == 3)
    }

    @Test func listShowsNamesAndMetadataButNoValues() throws {
        let h = try Harness()
        defer { h.shutdown() }
        #expect(try h.tokend("put", "\(h.prefix)/ls/one", "--owner", "slack:T1/U1", stdin: Data("canary-ls-1".utf8)).status == 0)
        #expect(try h.tokend("put", "\(h.prefix)/ls/two", stdin: Data("canary-ls-2".utf8)).status == 0)
        let json = try h.tokend("ls", "\(h.prefix)/", "--json")
        #expect(json.status == 0)
        let items = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        #expect(items.map { $0["name"] as? String } == ["\(h.prefix)/ls/one", "\(h.prefix)/ls/two"])
        #expect(items[0]["owner"] as? String == "slack:T1/U1")
        #expect(!json.out.contains("canary"))
        let table = try h.tokend("ls", "\(h.prefix)/")
        #expect(table.out.hasPrefix("NAME"))
        #expect(table.out.split(separator: "\n").count == 3)
        #expect(!table.out.contains("canary"))
    }

    @Test func removeDeletesFromTheKeyring() throws {
        let h = try Harness()
        defer { h.shutdown() }
        let name = "\(h.prefix)/rm"
        #expect(try h.tokend("put", name, stdin: Data("v".utf8)).status == 0)
        #expect(try h.tokend("rm", name).status == 0)
        #expect(try h.run("/usr/bin/secret-tool", ["lookup", "name", name]).stdout.isEmpty)
        let again = try h.tokend("rm", name)
        #expect(again.status == 3)
        #expect(again.err == "tokend: no secret named '\(name)'\n")
    }

    @Test func invalidNamesAreUsageErrors() throws {
        let h = try Harness()
        defer { h.shutdown() }
        for bad in ["a//b", "../x", "a/./b", "/lead", "trail/", "sp ace", String(repeating: "x", count: 257)] {
            let result = try h.tokend("get", bad)
            #expect(result.status == 2, "\(bad)")
            #expect(result.err.hasPrefix("tokend: invalid secret name: "), "\(bad)")
            #expect(!result.err.contains(bad), "the rejected text is not echoed")
        }
    }
}
