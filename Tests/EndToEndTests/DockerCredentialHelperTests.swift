import Foundation
import Testing

/// docker-credential-tokend driven through the docker-credential-helpers protocol, as docker runs it.
@Suite(.serialized) struct DockerCredentialHelperTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    func world() throws -> Harness {
        let h = try Harness()
        try h.installHelperLinks()
        return h
    }

    func docker(_ h: Harness, _ action: String, _ input: String = "") throws -> Harness.Result {
        try h.helper("docker-credential-tokend", [action], stdin: input)
    }

    /// `list`, restricted to this test's registries (the keyring is shared by the whole run).
    func listed(_ h: Harness) throws -> [String: String] {
        let list = try docker(h, "list")
        #expect(list.status == 0)
        let all = try JSONSerialization.jsonObject(with: list.stdout) as? [String: String] ?? [:]
        return all.filter { $0.key.contains(h.prefix) }
    }

    @Test func storeGetListEraseRoundTrip() throws {
        let h = try world()
        defer { h.shutdown() }
        let registry = "registry.\(h.prefix).test:5000"
        let store = try docker(h, "store", #"{"ServerURL":"https://\#(registry)/v2/","Username":"alice","Secret":"s3cret"}"#)
        #expect(store.status == 0)
        #expect(store.out == "")
        #expect(try h.listed("docker/").filter { $0["name"]!.contains(h.prefix) }.map { [$0["name"]!, $0["owner"]!] } == [
            ["docker/\(registry)", "docker:\(registry)/alice"]
        ])

        let get = try docker(h, "get", registry + "\n")
        #expect(get.status == 0)
        #expect(get.out == #"{"ServerURL":"\#(registry)","Username":"alice","Secret":"s3cret"}"# + "\n")
        #expect(try listed(h) == [registry: "alice"])

        let erase = try docker(h, "erase", "https://\(registry)")
        #expect(erase.status == 0)
        #expect(erase.out == "")
        let miss = try docker(h, "get", registry)
        #expect(miss.status == 1)
        #expect(miss.out == "credentials not found in native keychain\n")
        #expect(try listed(h) == [:])
    }

    @Test func missesAndBadRequestsAnswerOnStdoutWithExitOne() throws {
        let h = try world()
        defer { h.shutdown() }
        let cases: [(String, String, String)] = [
            ("get", "nothing.\(h.prefix).test", "credentials not found in native keychain\n"),
            ("erase", "nothing.\(h.prefix).test", "credentials not found in native keychain\n"),
            ("get", "\n", "no credentials server URL\n"),
            ("store", #"{"ServerURL":"x.\#(h.prefix).test","Username":"","Secret":"s"}"#, "no credentials username\n"),
            ("store", #"{"Username":"u","Secret":"s"}"#, "no credentials server URL\n"),
            ("store", #"{"ServerURL":"https:///v2/","Username":"u","Secret":"s"}"#, "no hostname in URL\n"),
            ("store", #"{"ServerURL":"n.\#(h.prefix).test","Username":"u","Secret":5}"#, "the credentials secret must be a string\n"),
            ("frobnicate", "", "docker-credential-tokend: unknown action: frobnicate\n"),
        ]
        for (action, input, expected) in cases {
            let result = try docker(h, action, input)
            #expect(result.status == 1, "\(action) \(input)")
            #expect(result.out == expected, "\(action) \(input)")
            #expect(result.err == "", "\(action) \(input)")
        }
        let version = try docker(h, "version")
        #expect(version.status == 0)
        #expect(version.out == "docker-credential-tokend (tokend) 0.1.0\n")
    }

    @Test func aSixtyFourKiBSecretRoundTripsExactly() throws {
        let h = try world()
        defer { h.shutdown() }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=\"\\\n\t é🔑")
        let secret = String((0..<65536).map { _ in alphabet.randomElement()! })
        let registry = "big.\(h.prefix).test"
        let body = try JSONSerialization.data(withJSONObject: ["ServerURL": registry, "Username": "bob", "Secret": secret])
        #expect(try h.run(h.binPath + "/docker-credential-tokend", ["store"], stdin: body).status == 0)
        let get = try docker(h, "get", registry)
        #expect(get.status == 0)
        let answer = try #require(try JSONSerialization.jsonObject(with: get.stdout) as? [String: String])
        #expect(answer == ["ServerURL": registry, "Username": "bob", "Secret": secret])
        #expect(try docker(h, "erase", registry).status == 0)
    }

    @Test func serverURLsAreKeyedTheWayDockerKeysThem() throws {
        let h = try world()
        defer { h.shutdown() }
        let registry = "norm.\(h.prefix).test"
        #expect(try docker(h, "store", #"{"ServerURL":"https://robot@\#(registry)/v2/","Username":"<token>","Secret":"idtoken-1"}"#).status == 0)
        for form in [registry, "https://\(registry)", "http://\(registry)/", "https://\(registry)/v1/", "  \(registry)\n"] {
            let get = try docker(h, "get", form)
            #expect(get.out == #"{"ServerURL":"\#(form.trimmingCharacters(in: .whitespacesAndNewlines))","Username":"<token>","Secret":"idtoken-1"}"# + "\n", "\(form)")
        }
        #expect(try listed(h) == [registry: "<token>"])
        #expect(try docker(h, "get", "\(registry):443").out == "credentials not found in native keychain\n")
        #expect(try docker(h, "erase", registry).status == 0)
    }

    @Test func dockerHubNamesAreOneRegistry() throws {
        let h = try world()
        defer { h.shutdown() }
        #expect(try docker(h, "store", #"{"ServerURL":"docker.io","Username":"hubuser-\#(h.prefix)","Secret":"hub-secret"}"#).status == 0)
        #expect(try h.listed("docker/index.docker.io").map { $0["name"]! } == ["docker/index.docker.io"])
        for form in ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"] {
            let get = try docker(h, "get", form)
            #expect(get.out == #"{"ServerURL":"\#(form)","Username":"hubuser-\#(h.prefix)","Secret":"hub-secret"}"# + "\n")
        }
        let list = try JSONSerialization.jsonObject(with: try docker(h, "list").stdout) as? [String: String] ?? [:]
        #expect(list["https://index.docker.io/v1/"] == "hubuser-\(h.prefix)")
        #expect(try docker(h, "erase", "https://index.docker.io/v1/").status == 0)
        #expect(try docker(h, "get", "docker.io").out == "credentials not found in native keychain\n")
    }

    @Test func storingAgainKeepsTheNoteAndAllowListSetByHand() throws {
        let h = try world()
        defer { h.shutdown() }
        let registry = "keep.\(h.prefix).test"
        let tokendPath = URL(fileURLWithPath: Harness.tokend).resolvingSymlinksInPath().path
        #expect(try h.tokend(
            "put", "docker/\(registry)", "--owner", "docker:\(registry)/alice", "--note", "robot account", "--allow", tokendPath,
            stdin: Data("one".utf8)).status == 0)
        #expect(try docker(h, "store", #"{"ServerURL":"\#(registry)","Username":"alice","Secret":"one"}"#).status == 0)
        #expect(try docker(h, "store", #"{"ServerURL":"\#(registry)","Username":"bob","Secret":"two"}"#).status == 0)
        let ls = try h.tokend("ls", "docker/\(registry)", "--json")
        let items = try #require(try JSONSerialization.jsonObject(with: ls.stdout) as? [[String: Any]])
        #expect(items.count == 1)
        #expect(items.first?["owner"] as? String == "docker:\(registry)/bob")
        #expect(items.first?["note"] as? String == "robot account")
        #expect(items.first?["allow"] as? [String] == [tokendPath])
        #expect(try docker(h, "get", registry).out == #"{"ServerURL":"\#(registry)","Username":"bob","Secret":"two"}"# + "\n")
    }

    @Test func aValueThatIsNotUTF8IsRefused() throws {
        let h = try world()
        defer { h.shutdown() }
        let registry = "binary.\(h.prefix).test"
        #expect(try h.tokend("put", "--raw", "docker/\(registry)", "--owner", "docker:\(registry)/u", stdin: Data([0x61, 0xff, 0x62])).status == 0)
        let get = try docker(h, "get", registry)
        #expect(get.status == 1)
        #expect(get.out == "the value of docker/\(registry) is not UTF-8 text, which docker's JSON cannot carry; not sent\n")
    }
}
