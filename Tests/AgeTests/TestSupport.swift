import COpenSSL
import Foundation
import TokendCore

/// Helpers shared by the age test suites: locating the shared test data, temporary directories, running
/// subprocesses (always waited for) and hashing.
enum TestSupport {
    /// `TOKEND_SHARED_DIR`, or `../shared` next to the repository root (three levels above this file, once
    /// symlinks are resolved, so that a scratch package linking the tests in finds it too).
    static var sharedDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["TOKEND_SHARED_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared").standardizedFileURL
    }

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = EVP_Digest(bytes.baseAddress, bytes.count, &digest, &length, EVP_sha256(), nil)
        precondition(ok == 1 && length == 32)
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    static func sha256Hex(_ secret: SecretBytes) -> String { secret.withUnsafeBytes { sha256Hex($0) } }

    static func bytes(_ secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }

    struct ProcessResult {
        var status: Int32
        var output: String
    }

    /// Runs `executable` to completion with stdin from /dev/null; stdout and stderr are collected through a
    /// file, so a chatty child can never block on a full pipe.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        in directory: TemporaryDirectory
    ) throws -> ProcessResult {
        let outputURL = directory.url.appendingPathComponent("process-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        try output.close()
        let text = String(decoding: try Data(contentsOf: outputURL), as: UTF8.self)
        return ProcessResult(status: process.terminationStatus, output: text)
    }
}

/// A private temporary directory, removed with everything in it when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("agetests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    func write(_ name: String, _ secret: SecretBytes) throws {
        try secret.withUnsafeBytes { try Data($0).write(to: url.appendingPathComponent(name)) }
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url.appendingPathComponent(name)))
    }
}
