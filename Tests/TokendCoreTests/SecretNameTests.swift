import Testing
import TokendCore

/// The documented name rules: path-like segments, a fixed charset, a length cap.
@Suite struct SecretNameTests {
    @Test(arguments: ["a", "slack/T024BE7LD/bot", "git/https/github.com/user@corp", "x.y_z-1+2:3=4~5%6,7", String(repeating: "n", count: 256)])
    func validNamesAreAccepted(text: String) throws {
        #expect(try SecretName(text).value == text)
    }

    @Test(arguments: [
        ("", "invalid secret name: it is empty"),
        ("a//b", "invalid secret name: segment 2 is empty"),
        ("/a", "invalid secret name: segment 1 is empty"),
        ("a/", "invalid secret name: segment 2 is empty"),
        ("a/../b", "invalid secret name: segment 2 is '.' or '..'"),
        ("./b", "invalid secret name: segment 1 is '.' or '..'"),
        ("a b", "invalid secret name: character at byte 2 is not allowed (letters, digits, / and . _ - + @ : = ~ % , only)"),
        ("tab\there", "invalid secret name: character at byte 4 is not allowed (letters, digits, / and . _ - + @ : = ~ % , only)"),
        ("é", "invalid secret name: character at byte 1 is not allowed (letters, digits, / and . _ - + @ : = ~ % , only)"),
        (String(repeating: "n", count: 257), "invalid secret name: longer than 256 bytes"),
    ])
    func invalidNamesAreRefusedWithTheReason(text: String, message: String) {
        #expect(throws: TokendError(.invalidName, message)) { try SecretName(text) }
    }

    @Test func dotsInsideASegmentAreFine() throws {
        #expect(try SecretName("a/..b/c.").value == "a/..b/c.")
    }
}
