import Age
import Foundation
import Testing
import TokendCore

/// One CCTV age vector (see shared/testdata/age-cctv/FORMAT.md).
private struct Vector {
    var name: String
    var expect = ""
    var payloadHash: String?
    var identities: [String] = []
    var passphrases: [String] = []
    var armored = false
    var compressed = false
    var unknownKeys: [String] = []
    var file: [UInt8] = []

    init(name: String, contents: [UInt8]) throws {
        self.name = name
        let blankLine = contents.indices.dropLast().first { contents[$0] == 0x0A && contents[$0 + 1] == 0x0A }
        guard let split = blankLine else { throw CocoaError(.fileReadCorruptFile) }
        file = Array(contents[(split + 2)...])
        for line in String(decoding: contents[..<split], as: UTF8.self).split(separator: "\n") {
            guard let colon = line.range(of: ": ") else { throw CocoaError(.fileReadCorruptFile) }
            let key = String(line[..<colon.lowerBound])
            let value = String(line[colon.upperBound...])
            switch key {
            case "expect": expect = value
            case "payload": payloadHash = value
            case "identity": identities.append(value)
            case "passphrase": passphrases.append(value)
            case "armored": armored = value == "yes"
            case "compressed":
                if value == "zlib" { compressed = true } else { unknownKeys.append("compressed: \(value)") }
            case "file key", "comment": break
            default: unknownKeys.append(key)
            }
        }
    }

    var x25519Identities: [String] { identities.filter { $0.hasPrefix("AGE-SECRET-KEY-1") } }
}

/// The CCTV outcome name for an error, as precisely as the vectors distinguish.
private func outcome(of error: AgeError) -> String {
    switch error {
    case .headerInvalid, .unsupported, .workFactorTooHigh: "header failure"
    case .macMismatch: "HMAC failure"
    case .noIdentityMatched, .badPassphrase: "no match"
    case .payloadTruncated, .payloadAuthenticationFailed, .payloadInvalid: "payload failure"
    case .armorInvalid: "armor failure"
    case .keyInvalid, .invalidArgument, .cryptoFailure: "unexpected error (\(error))"
    }
}

private func inflate(_ compressed: [UInt8], in directory: TemporaryDirectory) throws -> [UInt8] {
    try directory.write("vector.zlib", compressed)
    let script = "import zlib,sys;open(sys.argv[2],'wb').write(zlib.decompress(open(sys.argv[1],'rb').read()))"
    let result = try TestSupport.run(
        "/usr/bin/env", ["python3", "-c", script, directory.path("vector.zlib"), directory.path("vector.age")],
        in: directory)
    guard result.status == 0 else { throw CocoaError(.fileReadCorruptFile, userInfo: ["output": result.output]) }
    return try directory.read("vector.age")
}

/// Decrypts as the reference test harness does: the identities first, then each passphrase in turn. Our
/// API never releases plaintext on failure, so for payload failures only the failure kind is checked.
private func run(_ vector: Vector, file: [UInt8]) -> String {
    do throws(AgeError) {
        let binary = vector.armored ? try Armor.decode(file) : file
        var identities: [X25519Identity] = []
        for encoded in vector.x25519Identities {
            identities.append(try X25519Identity(parsing: SecretBytes(Array(encoded.utf8))))
        }
        var result: Result<SecretBytes, AgeError> = .failure(.noIdentityMatched)
        // With no key at all (`empty`, `armor_empty`) the file must still be parsed to fail where it should.
        if !identities.isEmpty || vector.passphrases.isEmpty {
            result = Result { () throws(AgeError) in try AgeFile.decrypt(binary, identities: identities) }
        }
        for passphrase in vector.passphrases {
            guard case .failure(let error) = result, error == .noIdentityMatched || error == .badPassphrase else {
                break
            }
            result = Result { () throws(AgeError) in
                try AgeFile.decrypt(binary, passphrase: SecretBytes(Array(passphrase.utf8)))
            }
        }
        switch result {
        case .success(let plaintext): return "success \(TestSupport.sha256Hex(plaintext))"
        case .failure(let error): return outcome(of: error)
        }
    } catch {
        return outcome(of: error)
    }
}

@Test("every runnable CCTV age vector gives exactly the outcome it names")
func cctvVectorsGiveTheirExpectedOutcome() throws {
    let directory = TestSupport.sharedDirectory.appendingPathComponent("testdata/age-cctv/testdata")
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    let scratch = try TemporaryDirectory()
    var ran = 0
    var passed = 0
    var skipped: [String: Int] = [:]
    var failures: [String] = []
    var inflated = 0
    var ranByExpectation: [String: Int] = [:]

    for name in names {
        let contents = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
        let vector = try Vector(name: name, contents: contents)
        if !vector.unknownKeys.isEmpty {
            skipped["unknown header key", default: 0] += 1
            continue
        }
        if !vector.identities.isEmpty && vector.x25519Identities.isEmpty && vector.passphrases.isEmpty {
            skipped["ML-KEM identities only, no ML-KEM in OpenSSL 3.0", default: 0] += 1
            continue
        }
        var file = vector.file
        if vector.compressed {
            file = try inflate(file, in: scratch)
            inflated += 1
        }
        ran += 1
        ranByExpectation[vector.expect, default: 0] += 1
        let expected = vector.expect == "success" ? "success \(vector.payloadHash ?? "?")" : vector.expect
        let actual = run(vector, file: file)
        if actual == expected {
            passed += 1
        } else {
            failures.append("\(name): expected \(expected), got \(actual)")
        }
    }

    let skippedCount = skipped.values.reduce(0, +)
    let reasons = skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: "; ")
    let kinds = ranByExpectation.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    print(
        "age CCTV: \(ran) ran, \(passed) passed, \(skippedCount) skipped (\(reasons)); ran: \(kinds);"
            + " \(inflated) inflated from zlib")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    #expect(ran > 0)
    #expect(passed == ran)
    #expect(skippedCount > 0)
    #expect(inflated > 0)
}
