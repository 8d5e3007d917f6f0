import Foundation
import Testing
import TokendCore
import TokendProtocol

func line(_ text: String) -> SecretBytes { SecretBytes(Array(text.utf8)) }

/// Requests decode exactly, secrets land in SecretBytes, and every malformed input is `invalid_request`.
@Suite struct RequestDecodingTests {
    @Test func putDecodesEveryField() throws {
        let request = try Request.decode(line(
            #"{"id":"x-1","op":"put","name":"a/b","value_b64":"AP9h","owner":"slack:T1/U2","expires":"2027-01-31T00:00:00Z","note":"n\u00e9","allow":["/usr/bin/git"]}"#))
        #expect(request.id == #""x-1""#)
        #expect(request.op == .put)
        #expect(request.name?.value == "a/b")
        #expect(request.value?.withUnsafeBytes { Array($0) } == [0x00, 0xff, 0x61])
        #expect(request.owner == "slack:T1/U2")
        #expect(request.expires?.seconds == 1_801_353_600)
        #expect(request.note == "né")
        #expect(request.allow == ["/usr/bin/git"])
    }

    @Test func encodeThenDecodeIsIdentity() throws {
        var request = Request(op: .unlock)
        request.id = "42"
        request.passphrase = SecretBytes(Array("pa\"ss\\wörd\n".utf8))
        let out = SecretBytes()
        request.encode(into: out)
        #expect(out[out.count - 1] == 0x0A)
        out.truncate(to: out.count - 1)
        let decoded = try Request.decode(out)
        #expect(decoded.id == "42")
        #expect(decoded.passphrase?.withUnsafeBytes { Array($0) } == Array("pa\"ss\\wörd\n".utf8))
    }

    @Test(arguments: [
        (#"{"op":"get"}"#, "op 'get' needs a name"),
        (#"{"op":"put","name":"a"}"#, "op 'put' needs value_b64"),
        (#"{"op":"rm"}"#, "op 'rm' needs either a name or an owner"),
        (#"{"op":"get","name":5}"#, "name must be a string"),
        (#"{"op":"get","name":"a","name":"b"}"#, "malformed JSON at byte 23: duplicate key"),
        (#"{"id":[1],"op":"hello"}"#, "id must be a number, a string of at most 126 bytes, or null"),
        (#"{"op":"hello","versions":["1"]}"#, "versions must be an array of integers"),
        (#"{"op":"put","name":"a","value_b64":"AA","expires":"soon"}"#, "value_b64 is not canonical padded base64"),
        (#"{"op":"put","name":"a","value_b64":"AA==","expires":"soon"}"#, "expires must be an RFC 3339 time"),
        (#"{"op":"put","name":"a","value_b64":"AA==","allow":["relative"]}"#, "allowed executables must be absolute paths"),
        (#"{"op":"migrate","to":"cloud"}"#, "op 'migrate' needs to: \"file\" or \"secret-service\""),
        (#"{"op":"get","name":"a"} x"#, "malformed JSON at byte 24: trailing data after the JSON value"),
        (#"{"op":"get","name":"a\u0000"}"#, "invalid secret name: character at byte 2 is not allowed (letters, digits, / and . _ - + @ : = ~ % , only)"),
    ])
    func malformedRequestsAreRefusedWithTheirReason(text: String, message: String) {
        do {
            _ = try Request.decode(line(text))
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.error.message == message)
            #expect(error.error.code == (message.hasPrefix("invalid secret name") ? .invalidName : .invalidRequest))
        }
    }

    @Test func anObjectWithMoreThanSixtyFourKeysIsRefusedAtTheSixtyFifth() {
        // "{" then 65 members `"kNN":0` (7 bytes) joined by commas: the 65th key starts at byte 1 + 64 * 8.
        let members = (0..<65).map { String(format: "\"k%02d\":0", $0) }
        do {
            _ = try Request.decode(line("{" + members.joined(separator: ",") + "}"))
            Issue.record("accepted an object with 65 keys")
        } catch {
            #expect(error.error.code == .invalidRequest)
            #expect(error.error.message == "malformed JSON at byte \(1 + 64 * 8): more than 64 keys in an object")
        }
    }

    @Test func valueOverOneMebibyteIsTooLarge() {
        let big = Base64.encode([UInt8](repeating: 7, count: 1_048_577), padded: true)
        do {
            _ = try Request.decode(line(#"{"id":3,"op":"put","name":"a","value_b64":"\#(big)"}"#))
            Issue.record("accepted a value over the limit")
        } catch {
            #expect(error.id == "3")
            #expect(error.error == .tooLargeValue)
        }
        let max = Base64.encode([UInt8](repeating: 7, count: 1_048_576), padded: true)
        #expect((try? Request.decode(line(#"{"op":"put","name":"a","value_b64":"\#(max)"}"#)))?.value?.count == 1_048_576)
    }

    /// A seeded mutation loop over valid requests: every input either decodes or is refused with a typed
    /// error, never a crash or a hang.
    @Test func fuzzedRequestsNeverCrashTheDecoder() {
        let seeds = [
            #"{"id":1,"op":"get","name":"slack/T1/bot"}"#,
            #"{"id":"a","op":"put","name":"x","value_b64":"AAEC/w==","owner":"o","allow":["/bin/sh"]}"#,
            #"{"id":null,"op":"hello","versions":[1,2],"client":"fuzz"}"#,
            #"{"op":"list","prefix":"a/","owner":"\u00e9\ud83d\udd11"}"#,
            #"{"op":"unlock","passphrase":"p\"\\\n"}"#,
            #"[[[[{"a":[1.5e10,-0,true,false,null]}]]]]"#,
        ].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 0x7041_6b65_6e64)
        let interesting: [UInt8] = Array(#"{}[]",:\u0123456789eE+-.tfn"#.utf8) + [0x00, 0x0A, 0x7f, 0x80, 0xc3, 0xed, 0xf4, 0xff]
        let cases = 100_000
        var decoded = 0, refused = 0
        for i in 0..<cases {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<Int(rng.next() % 6 + 1) {
                let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 5 {
                case 0 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: position)
                case 2 where !bytes.isEmpty: bytes.remove(at: position)
                case 3 where !bytes.isEmpty:
                    let end = min(bytes.count, position + Int(rng.next() % 16))
                    bytes.insert(contentsOf: bytes[position..<end], at: position)
                default: bytes = Array(bytes.prefix(position))
                }
            }
            do {
                _ = try Request.decode(SecretBytes(bytes))
                decoded += 1
            } catch {
                #expect(error.error.code == .invalidRequest || error.error.code == .invalidName || error.error.code == .tooLarge)
                refused += 1
            }
        }
        print("request decoder fuzz: \(cases) inputs, \(decoded) decoded, \(refused) refused, 0 crashes")
        #expect(decoded + refused == cases)
        #expect(decoded > 0 && refused > 0)
    }
}

/// A small deterministic generator, so that the fuzz run is the same every time.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
