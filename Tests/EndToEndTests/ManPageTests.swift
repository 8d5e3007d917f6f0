import Foundation
import Testing

/// Every page in man/ renders without a warning, through man-db and through groff with every warning on.
@Suite struct ManPageTests {
    static let manDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("man")

    static var pages: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: manDirectory.path)) ?? []
        return names.filter { name in
            guard let dot = name.lastIndex(of: "."), let section = name[name.index(after: dot)...].first else { return false }
            return name.distance(from: dot, to: name.endIndex) == 2 && ("1"..."8").contains(section)
        }.sorted()
    }

    @Test func theDaemonAndTheCommandHavePages() {
        #expect(Set(Self.pages).isSuperset(of: ["tokend.1", "tokend-agent.8"]))
    }

    @Test(arguments: ManPageTests.pages)
    func rendersWithoutWarnings(page: String) throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let path = Self.manDirectory.appendingPathComponent(page).path
        let env = ["MANWIDTH": "80", "LC_ALL": "C.UTF-8", "MANPAGER": "cat", "PAGER": "cat"]
        let man = try h.run("/usr/bin/man", ["--warnings", "-E", "UTF-8", "-l", path], env: env)
        #expect(man.status == 0)
        #expect(man.err == "")
        #expect(man.out.contains("NAME"))
        let groff = try h.run("/usr/bin/groff", ["-ww", "-z", "-man", "-Tutf8", path], env: env)
        #expect(groff.status == 0)
        #expect(groff.err == "")
        let source = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!source.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "no control characters in the source")
    }

    @Test func everyCommandOfTheUsageHasAnEntryInTokend1() throws {
        let h = try Harness(keyring: false)
        defer { h.shutdown() }
        let usage = try h.tokend("--help").out
        let commands = usage.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), line.dropFirst(2).first?.isLetter == true else { return nil }
            return String(line.dropFirst(2).prefix { $0 != " " })
        }
        #expect(Array(commands.prefix(2)) == ["get", "put"])
        let page = try String(contentsOfFile: Self.manDirectory.appendingPathComponent("tokend.1").path, encoding: .utf8)
        let entries = Set(page.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix(".B") else { return nil }
            let words = line.replacingOccurrences(of: "\\-", with: "-").split(separator: " ", maxSplits: 1)
            guard words.count == 2 else { return nil }
            return String(words[1].drop { $0 == "\"" }.prefix { $0 != " " && $0 != "\"" })
        })
        let missing = commands.filter { !entries.contains($0) }
        #expect(missing == [], "commands of `tokend --help` without an entry in man/tokend.1")
    }
}
