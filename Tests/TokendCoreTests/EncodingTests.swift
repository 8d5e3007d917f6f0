import Testing
import TokendCore

/// Base64 (strict, canonical), RFC 3339 times and durations.
@Suite struct EncodingTests {
    @Test func base64RoundTripsEveryLength() {
        for n in 0..<70 {
            let bytes = (0..<n).map { UInt8(($0 * 37 + n) & 0xff) }
            let padded = Base64.encode(bytes, padded: true)
            #expect(Base64.decode(padded, padded: true) == bytes)
            #expect(padded.count == Base64.encodedCount(n, padded: true))
            let bare = Base64.encode(bytes, padded: false)
            #expect(Base64.decode(bare, padded: false) == bytes)
        }
        #expect(Base64.encode(Array("ghp_example".utf8), padded: true) == "Z2hwX2V4YW1wbGU=")
    }

    @Test(arguments: ["Zg", "Zh==", "Zg=", "Z===", "Zm9v\n", "Zm 9", "Zm9v=", "Zm9vYg=a", "A"])
    func nonCanonicalPaddedBase64IsRefused(text: String) {
        #expect(Base64.decode(text, padded: true) == nil)
    }

    @Test func timestampsFormatAndParse() {
        #expect(Timestamp(seconds: 0).description == "1970-01-01T00:00:00Z")
        #expect(Timestamp(rfc3339: "2027-01-31T00:00:00Z")?.seconds == 1_801_353_600)
        #expect(Timestamp(rfc3339: "2027-01-31")?.seconds == 1_801_353_600)
        #expect(Timestamp(rfc3339: "2027-01-31T02:00:00+02:00")?.seconds == 1_801_353_600)
        #expect(Timestamp(rfc3339: "2027-01-31T00:00:00.123Z")?.seconds == 1_801_353_600)
        #expect(Timestamp(seconds: 1_801_353_600).description == "2027-01-31T00:00:00Z")
        #expect(Timestamp(rfc3339: "2027-13-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "yesterday") == nil)
    }

    @Test func onlyRealDatesThatCanBeWrittenBackParse() {
        #expect(Timestamp(rfc3339: "2024-02-29")?.description == "2024-02-29T00:00:00Z")
        #expect(Timestamp(rfc3339: "2023-02-29") == nil)
        #expect(Timestamp(rfc3339: "2999-02-31") == nil)
        #expect(Timestamp(rfc3339: "2027-04-31") == nil)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59Z") == Timestamp.latest)
        // Year 10000 in UTC, which no four-digit year can write back.
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59-23:59") == nil)
        #expect(Timestamp(rfc3339: "2027-01-31T00:00:00+24:00") == nil)
        #expect(Timestamp(rfc3339: "2027-01-31T00:00:00-00:99") == nil)
    }

    @Test func durationsParse() {
        #expect(DurationParser.seconds("90s") == 90)
        #expect(DurationParser.seconds("15m") == 900)
        #expect(DurationParser.seconds("2h") == 7200)
        #expect(DurationParser.seconds("30d") == 2_592_000)
        #expect(DurationParser.seconds("1w") == 604_800)
        #expect(DurationParser.seconds("45") == 45)
        #expect(DurationParser.seconds("") == nil)
        #expect(DurationParser.seconds("m") == nil)
        #expect(DurationParser.seconds("-5m") == nil)
        #expect(DurationParser.seconds("1.5h") == nil)
    }

    @Test func secretBytesWipesWhatItDrops() {
        let secret = SecretBytes(Array("abcdef".utf8))
        secret.removeFirst(2)
        #expect(secret.withUnsafeBytes { Array($0) } == Array("cdef".utf8))
        secret.truncate(to: 1)
        #expect(secret.withUnsafeBytes { Array($0) } == Array("c".utf8))
        secret.append(text: "xyz")
        #expect(secret.constantTimeEquals(SecretBytes(Array("cxyz".utf8))))
        #expect(secret.description == "SecretBytes(4 bytes)")
        #expect(secret.firstIndex(of: UInt8(ascii: "y")) == 2)
    }
}
