import Testing
import TokendCore

/// The env-file grammar of `tokend exec --env-file` (tokend(1), ENV FILES).
@Suite struct EnvFileTests {
    /// An entry as plain values, for comparisons: `=text` for plain text, `@name` for a reference.
    struct Flat: Equatable, CustomStringConvertible {
        var key: String
        var value: String
        var line: Int
        var description: String { "\(line):\(key)\(value)" }
    }

    func parse(_ text: String) throws(EnvFile.ParseError) -> [Flat] {
        try EnvFile.parse(SecretBytes(Array(text.utf8))).map { entry in
            switch entry.value {
            case .plain(let bytes):
                Flat(key: entry.key, value: "=" + bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }, line: entry.line)
            case .reference(let name):
                Flat(key: entry.key, value: "@\(name)", line: entry.line)
            }
        }
    }

    func failure(_ text: String) -> EnvFile.ParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func commentsBlankLinesExportAndReferences() throws {
        let text = """
            # Slack app for the build bot

            SLACK_TOKEN=tokend:slack/T024BE7LD/bot
            export GITHUB_TOKEN = tokend:github/pat
            \tAPI_URL=https://slack.com/api   # the default
            EMPTY=
            export=yes

            """
        #expect(try parse(text) == [
            Flat(key: "SLACK_TOKEN", value: "@slack/T024BE7LD/bot", line: 3),
            Flat(key: "GITHUB_TOKEN", value: "@github/pat", line: 4),
            Flat(key: "API_URL", value: "=https://slack.com/api", line: 5),
            Flat(key: "EMPTY", value: "=", line: 6),
            Flat(key: "export", value: "=yes", line: 7),
        ])
    }

    @Test func hashStartsACommentOnlyAfterABlank() throws {
        #expect(try parse("A=x#y\nB=x #y\nC= #y\nD=#y\n") == [
            Flat(key: "A", value: "=x#y", line: 1),
            Flat(key: "B", value: "=x", line: 2),
            Flat(key: "C", value: "=", line: 3),
            Flat(key: "D", value: "=#y", line: 4),
        ])
    }

    @Test func singleQuotesKeepEverythingAndAreNeverReferences() throws {
        #expect(try parse(#"A='a \ $HOME \n "x" `y` # not a comment'"# + "\nB='tokend:github/pat'  # literal\n") == [
            Flat(key: "A", value: #"=a \ $HOME \n "x" `y` # not a comment"#, line: 1),
            Flat(key: "B", value: "=tokend:github/pat", line: 2),
        ])
    }

    @Test func doubleQuotesHaveEscapes() throws {
        #expect(try parse(#"A="a\nb\tc\r \\ \" \$HOME \` \x $HOME""#) == [
            Flat(key: "A", value: "=a\nb\tc\r \\ \" $HOME ` \\x $HOME", line: 1)
        ])
        #expect(try parse(#"R="tokend:slack/T024BE7LD/bot" # a reference"#) == [
            Flat(key: "R", value: "@slack/T024BE7LD/bot", line: 1)
        ])
    }

    @Test func quotedValuesMaySpanLinesAndLineNumbersFollow() throws {
        let text = """
            KEY="-----BEGIN KEY-----
            abc
            -----END KEY-----"
            NEXT='one
            two'
            LAST=3
            """
        #expect(try parse(text) == [
            Flat(key: "KEY", value: "=-----BEGIN KEY-----\nabc\n-----END KEY-----", line: 1),
            Flat(key: "NEXT", value: "=one\ntwo", line: 4),
            Flat(key: "LAST", value: "=3", line: 6),
        ])
    }

    @Test func crlfLineEndsAreAccepted() throws {
        #expect(try parse("# c\r\nA=1\r\nB='2'\r\n\r\nC=tokend:x/y\r\n") == [
            Flat(key: "A", value: "=1", line: 2),
            Flat(key: "B", value: "=2", line: 3),
            Flat(key: "C", value: "@x/y", line: 5),
        ])
    }

    @Test(arguments: [
        ("A=1\nxoxb-not-an-assignment\n", 2, "expected KEY=VALUE (KEY: letters, digits and _)"),
        ("A=1\n\nexport B\n", 3, "expected KEY=VALUE (KEY: letters, digits and _)"),
        ("=1\n", 1, "expected KEY=VALUE (KEY: letters, digits and _)"),
        ("A-B=1\n", 1, "expected KEY=VALUE (KEY: letters, digits and _)"),
        ("1A=1\n", 1, "a variable name must not start with a digit"),
        ("A=1\nB='open\nC=2\n", 2, "the single quote opened on this line is never closed"),
        ("A=\"open\n", 1, "the double quote opened on this line is never closed"),
        ("A=1\nB=\"x\" y\n", 2, "unexpected text after the closing quote"),
        ("A=1\nB=2\nC=tokend:bad//name\n", 3, "C: invalid secret name: segment 2 is empty"),
        ("A=1\nB=x\u{0}y\n", 2, "contains a NUL byte"),
    ])
    func malformedLineReportsItsNumber(text: String, line: Int, reason: String) {
        #expect(failure(text) == EnvFile.ParseError(line: line, reason: reason))
    }

    @Test func variableNames() {
        #expect(EnvFile.isValidKey("SLACK_TOKEN"))
        #expect(EnvFile.isValidKey("_x9"))
        #expect(!EnvFile.isValidKey(""))
        #expect(!EnvFile.isValidKey("9x"))
        #expect(!EnvFile.isValidKey("A-B"))
        #expect(!EnvFile.isValidKey("É"))
    }
}
