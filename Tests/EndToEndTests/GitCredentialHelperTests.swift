import Foundation
import Testing

/// The real git (Debian's) with `credential.helper tokend` in a temp HOME, and git's helper protocol driven
/// directly where git itself would hide the detail.
@Suite struct GitCredentialHelperTests {
    init() throws { try #require(Harness.hasKeyring, "needs the private keyring session: run ./dev.sh test") }

    func world() throws -> Harness {
        let h = try Harness()
        try h.installHelperLinks()
        #expect(try h.git("config", "--global", "credential.helper", "tokend").status == 0)
        return h
    }

    @Test func approveThenFillReturnsTheCredentialAndRejectRemovesIt() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "git.\(h.prefix).test"
        let approve = try h.git(
            "credential", "approve", stdin: "protocol=https\nhost=\(host)\nusername=alice\npassword=s3cret-\(h.prefix)\n\n")
        #expect(approve.status == 0)
        #expect(approve.out == "")
        #expect(try h.listed("git/https/\(host)/").map { [$0["name"]!, $0["owner"]!, $0["note"]!] } == [
            ["git/https/\(host)/alice", "git:\(host)/alice", "stored by git-credential-tokend"]
        ])

        let fill = try h.git("credential", "fill", stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(fill.status == 0)
        #expect(fill.out == "protocol=https\nhost=\(host)\nusername=alice\npassword=s3cret-\(h.prefix)\n")

        let reject = try h.git(
            "credential", "reject", stdin: "protocol=https\nhost=\(host)\nusername=alice\npassword=s3cret-\(h.prefix)\n\n")
        #expect(reject.status == 0)
        #expect(try h.listed("git/https/\(host)/").isEmpty)
        let again = try h.git("credential", "fill", stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(again.status == 128)
        #expect(again.out == "")
        #expect(again.err == "fatal: could not read Username for 'https://\(host)': terminal prompts disabled\n")
    }

    @Test func getWithNoMatchPrintsNothingAndExitsZero() throws {
        let h = try world()
        defer { h.shutdown() }
        let get = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=none.\(h.prefix).test\n\n")
        #expect(get.status == 0)
        #expect(get.out == "")
        #expect(get.err == "")
        let named = try h.helper(
            "git-credential-tokend", ["get"], stdin: "protocol=https\nhost=none.\(h.prefix).test\nusername=zoe\n\n")
        #expect(named.status == 0)
        #expect(named.out == "")
    }

    @Test func aUserNameWithALineBreakInItsSecretNameIsNeverOffered() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "inj.\(h.prefix).test"
        #expect(try h.tokend("put", "git/https/\(host)/alice%0Apassword=evil", stdin: Data("pat-x".utf8)).status == 0)
        #expect(try h.tokend("put", "git/https/\(host)/bob", stdin: Data("pat-b".utf8)).status == 0)
        let get = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(get.status == 0)
        #expect(get.out == "username=bob\npassword=pat-b\n")
    }

    @Test func anExpiryPastTheYear9999IsNoExpiry() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "never.\(h.prefix).test"
        let store = try h.helper(
            "git-credential-tokend", ["store"],
            stdin: "protocol=https\nhost=\(host)\nusername=ann\npassword=pat-n\npassword_expiry_utc=9223372036854775807\n\n")
        #expect(store.status == 0, "\(store.err)")
        let ls = try h.tokend("ls", "git/https/\(host)", "--json")
        #expect(ls.out.contains(#""name":"git/https/\#(host)/ann""#))
        #expect(!ls.out.contains("expires"))
    }

    @Test func unknownKeysCapabilitiesAndOperationsAreIgnored() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "caps.\(h.prefix).test"
        #expect(try h.tokend("put", "git/https/\(host)/alice", stdin: Data("pat-1".utf8)).status == 0)
        let get = try h.helper(
            "git-credential-tokend", ["get"],
            stdin: "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=\(host)\nwwwauth[]=Basic realm=\"x\"\nfuture_key=1\nnot a key value line\n\n")
        #expect(get.status == 0)
        // No capability is echoed: this helper keeps neither authtype/credential pairs nor state[].
        #expect(get.out == "username=alice\npassword=pat-1\n")
        let unknown = try h.helper("git-credential-tokend", ["frobnicate"], stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(unknown.status == 0)
        #expect(unknown.out == "")
        #expect(unknown.err == "")
        let viaSubcommand = try h.tokend("git-credential", "get", stdin: Data("protocol=https\nhost=\(host)\n\n".utf8))
        #expect(viaSubcommand.out == "username=alice\npassword=pat-1\n")
    }

    @Test func expiryAndRefreshTokenAreKeptAndTheTokenOutlivesTheExpiredPassword() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "oauth.\(h.prefix).test"
        let expiry = Int(Date().timeIntervalSince1970) + 3600
        let store = try h.helper(
            "git-credential-tokend", ["store"],
            stdin: "protocol=https\nhost=\(host)\nusername=alice\npassword=access-1\npassword_expiry_utc=\(expiry)\noauth_refresh_token=refresh-1\n\n")
        #expect(store.status == 0)
        let names = try h.listed("git/https/\(host)/")
        #expect(names.map { $0["name"]! } == ["git/https/\(host)/alice", "git/https/\(host)/alice/~oauth_refresh_token"])
        #expect(names[0]["expires"] == ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(expiry))))
        #expect(names[1]["expires"] == nil)
        let get = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(get.out == "username=alice\npassword=access-1\npassword_expiry_utc=\(expiry)\noauth_refresh_token=refresh-1\n")

        // Past its expiry the agent purges a password; the refresh token is still offered, so that an OAuth
        // helper after this one can get a new access token.
        #expect(try h.tokend("put", "git/https/\(host)/bob", "--expires", "5s", stdin: Data("access-2".utf8)).status == 0)
        let expires = Date().addingTimeInterval(5)
        #expect(try h.tokend("put", "git/https/\(host)/bob/~oauth_refresh_token", stdin: Data("refresh-2".utf8)).status == 0)
        Thread.sleep(until: expires.addingTimeInterval(1.5))
        let later = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\nusername=bob\n\n")
        #expect(later.status == 0)
        #expect(later.out == "username=bob\noauth_refresh_token=refresh-2\n")
        #expect(try h.listed("git/https/\(host)/bob").map { $0["name"]! } == ["git/https/\(host)/bob/~oauth_refresh_token"])
    }

    @Test func pathPortAndOddCharactersMakeDistinctNames() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "path.\(h.prefix).test:8443"
        #expect(try h.helper(
            "git-credential-tokend", ["store"],
            stdin: "protocol=https\nhost=\(host)\npath=org/repo.git\nusername=bob smith\npassword=p-path\n\n").status == 0)
        #expect(try h.helper(
            "git-credential-tokend", ["store"], stdin: "protocol=https\nhost=\(host)\nusername=carol\npassword=p-host\n\n").status == 0)
        #expect(try h.listed("git/https/\(host)/").map { $0["name"]! } == [
            "git/https/\(host)/carol", "git/https/\(host)/org%2Frepo.git/bob%20smith",
        ])
        let withPath = try h.helper(
            "git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\npath=org/repo.git\n\n")
        #expect(withPath.out == "username=bob smith\npassword=p-path\n")
        let withoutPath = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(withoutPath.out == "username=carol\npassword=p-host\n")
    }

    @Test(arguments: [("lf", "line1\nline2"), ("cr", "token\r"), ("nul", "to\u{0}ken")])
    func storedValueWithLineBreakOrNulIsRefused(label: String, value: String) throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "bad-\(label).\(h.prefix).test"
        #expect(try h.tokend("put", "--raw", "git/https/\(host)/eve", stdin: Data(value.utf8)).status == 0)
        let get = try h.helper("git-credential-tokend", ["get"], stdin: "protocol=https\nhost=\(host)\n\n")
        #expect(get.status == 7)
        #expect(get.out == "")
        #expect(get.err == "git-credential-tokend: the value of git/https/\(host)/eve contains a line break or a NUL byte, which git's credential protocol cannot carry; not sent\n")
    }

    @Test func approvingTheSameValueKeepsWhatWasPutByHand() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "keep.\(h.prefix).test"
        let name = "git/https/\(host)/alice"
        #expect(try h.tokend("put", name, "--owner", "github:alice", "--note", "PAT, repo scope", stdin: Data("pat-keep".utf8)).status == 0)
        let store = "protocol=https\nhost=\(host)\nusername=alice\npassword=pat-keep\n\n"
        #expect(try h.helper("git-credential-tokend", ["store"], stdin: store).status == 0)
        #expect(try h.listed(name).map { [$0["owner"]!, $0["note"]!] } == [["github:alice", "PAT, repo scope"]])
        let changed = "protocol=https\nhost=\(host)\nusername=alice\npassword=pat-new\n\n"
        #expect(try h.helper("git-credential-tokend", ["store"], stdin: changed).status == 0)
        #expect(try h.tokend("get", name).out == "pat-new")
        #expect(try h.listed(name).map { [$0["owner"]!, $0["note"]!] } == [["github:alice", "PAT, repo scope"]])
    }

    @Test func eraseWithAnotherPasswordKeepsTheNewerOne() throws {
        let h = try world()
        defer { h.shutdown() }
        let host = "race.\(h.prefix).test"
        #expect(try h.tokend("put", "git/https/\(host)/alice", stdin: Data("newer".utf8)).status == 0)
        let erase = try h.helper(
            "git-credential-tokend", ["erase"], stdin: "protocol=https\nhost=\(host)\nusername=alice\npassword=older\n\n")
        #expect(erase.status == 0)
        #expect(try h.tokend("get", "git/https/\(host)/alice").out == "newer")
    }

    @Test func httpCloneUsesTheStoredCredentialWithoutAPrompt() throws {
        let h = try world()
        defer { h.shutdown() }
        let server = try GitHTTPServer(h, user: "alice", password: "pat-\(h.prefix)")
        defer { server.stop() }
        let name = "git/http/127.0.0.1:\(server.port)/alice"
        #expect(try h.tokend("put", name, stdin: Data("pat-\(h.prefix)\n".utf8)).status == 0)

        let target = h.root.appendingPathComponent("clone").path
        let clone = try h.git("clone", "-q", "http://127.0.0.1:\(server.port)/repo.git", target)
        #expect(clone.status == 0, "\(clone.err)")
        #expect(try String(contentsOfFile: target + "/README", encoding: .utf8) == "hello from the test repo\n")
        // The first request has no credentials; git then asks tokend and every later request carries them
        // (protocol v2: the refs advertisement, ls-refs, fetch).
        #expect(server.log() == ["anonymous GET", "ok GET", "ok POST", "ok POST"])
        #expect(try h.tokend("get", name).out == "pat-\(h.prefix)")
    }

    @Test func aPasswordTheServerRefusesIsErasedByGit() throws {
        let h = try world()
        defer { h.shutdown() }
        let server = try GitHTTPServer(h, user: "alice", password: "right-\(h.prefix)")
        defer { server.stop() }
        let name = "git/http/127.0.0.1:\(server.port)/alice"
        #expect(try h.tokend("put", name, stdin: Data("wrong".utf8)).status == 0)
        let clone = try h.git("clone", "-q", "http://127.0.0.1:\(server.port)/repo.git", h.root.appendingPathComponent("c").path)
        #expect(clone.status == 128)
        #expect(clone.err == "fatal: Authentication failed for 'http://127.0.0.1:\(server.port)/repo.git/'\n")
        #expect(server.log() == ["anonymous GET", "denied GET"])
        #expect(try h.tokend("get", name).status == 3)
    }
}

/// A bare repository served by git-http-backend behind a small Python HTTP server on 127.0.0.1 that asks
/// for HTTP basic auth, with one line per request in a log: `anonymous|denied|ok METHOD`.
final class GitHTTPServer {
    static let script = #"""
        import base64, http.server, os, subprocess, sys
        root, user, password, log = sys.argv[1:5]
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.serve()

            def do_POST(self):
                self.serve()

            def serve(self):
                auth = self.headers.get("Authorization")
                verdict = "ok" if auth == expected else ("denied" if auth else "anonymous")
                with open(log, "a") as f:
                    f.write(f"{verdict} {self.command}\n")
                if verdict != "ok":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="tokend-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                           QUERY_STRING=query, REQUEST_METHOD=self.command, REMOTE_USER=user, REMOTE_ADDR="127.0.0.1",
                           CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                           GATEWAY_INTERFACE="CGI/1.1")
                for header in ("Content-Encoding", "Git-Protocol"):
                    if self.headers.get(header):
                        env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
                out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
                separator = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
                head, _, payload = out.partition(separator)
                status, headers = 200, []
                for line in head.decode().splitlines():
                    key, _, value = line.partition(":")
                    if key.lower() == "status":
                        status = int(value.split()[0])
                    else:
                        headers.append((key, value.strip()))
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    let process: BackgroundProcess
    let port: Int
    let logPath: String

    init(_ h: Harness, user: String, password: String) throws {
        let srv = h.root.appendingPathComponent("srv")
        let work = h.root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try Data("hello from the test repo\n".utf8).write(to: work.appendingPathComponent("README"))
        for step in [
            ["init", "-q", "--bare", "-b", "main", srv.appendingPathComponent("repo.git").path],
            ["-C", work.path, "init", "-q", "-b", "main"],
            ["-C", work.path, "add", "README"],
            ["-C", work.path, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "first"],
            ["-C", work.path, "push", "-q", srv.appendingPathComponent("repo.git").path, "main"],
        ] {
            let result = try h.run("/usr/bin/git", step)
            try #require(result.status == 0, "git \(step): \(result.err)")
        }
        let scriptPath = h.root.appendingPathComponent("git-http-server.py").path
        try Data(GitHTTPServer.script.utf8).write(to: URL(fileURLWithPath: scriptPath))
        logPath = h.root.appendingPathComponent("http.log").path
        process = try BackgroundProcess(
            "/usr/bin/python3", [scriptPath, srv.path, user, password, logPath], environment: h.environment)
        guard let line = process.firstLine(), let port = Int(line) else {
            process.stop()
            throw HTTPServerDidNotStart(stderr: process.stderr)
        }
        self.port = port
    }

    func log() -> [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() { process.stop() }
}

struct HTTPServerDidNotStart: Error { var stderr: String }
