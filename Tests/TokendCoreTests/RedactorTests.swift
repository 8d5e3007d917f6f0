import Testing
import TokendCore

/// Known token shapes are cut from log lines and messages; ordinary text is left alone.
@Suite struct RedactorTests {
    @Test(arguments: [
        ("slack bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx done", "slack bot xoxb-[REDACTED] done"),
        ("user xoxp-1234-5678-abcdefgh", "user xoxp-[REDACTED]"),
        ("app xapp-1-A0123-456-abcdef0123", "app xapp-[REDACTED]"),
        ("rotating xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTA", "rotating xoxe.[REDACTED]"),
        ("refresh xoxe-1-My0xLTEyMzQ1Njc4OTAx", "refresh xoxe-[REDACTED]"),
        ("gh ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gh ghp_[REDACTED]"),
        ("oauth gho_16C7e42F292c6912E7710c838347Ae178B4a", "oauth gho_[REDACTED]"),
        ("u2s ghu_16C7e42F292c6912E7710c838347Ae178B4a", "u2s ghu_[REDACTED]"),
        ("s2s ghs_16C7e42F292c6912E7710c838347Ae178B4a", "s2s ghs_[REDACTED]"),
        ("refresh ghr_16C7e42F292c6912E7710c838347Ae178B4a", "refresh ghr_[REDACTED]"),
        ("fine github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "fine github_pat_[REDACTED]"),
        ("lab glpat-xxxxxxxxxxxxxxxxxxxx", "lab glpat-[REDACTED]"),
        ("aws AKIAIOSFODNN7EXAMPLE key", "aws AKIA[REDACTED] key"),
        ("sts ASIAIOSFODNN7EXAMPLE", "sts ASIA[REDACTED]"),
        ("openai sk-proj-abcdefghijklmnopqrstuvwxyz012345", "openai sk-[REDACTED]"),
        ("anthropic sk-ant-api03-abcdefghijklmnopqrstuv", "anthropic sk-[REDACTED]"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe sk_live_[REDACTED]"),
        ("age AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3HF7C6", "age AGE-SECRET-KEY-1[REDACTED]"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk end", "jwt [REDACTED] end"),
        ("key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "key -----BEGIN PRIVATE KEY-----[REDACTED] after"),
        ("key -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA", "key -----BEGIN PRIVATE KEY-----[REDACTED]"),
    ])
    func tokenShapesAreRedacted(input: String, expected: String) {
        #expect(Redactor.redact(input) == expected)
    }

    @Test(arguments: [
        "op=get name=slack/T024BE7LD/bot peer_pid=12 outcome=ok",
        "no secret named 'github/pat'",
        "task-runner asks for sk-short",
        "a desk-lamp and xoxb-short",
        "-----BEGIN PUBLIC KEY----- is public",
        "AKIA alone",
    ])
    func ordinaryTextIsUnchanged(text: String) {
        #expect(Redactor.redact(text) == text)
    }
}
